//! The Packyard edge: the node devices download from.
//!
//! # Layout
//!
//! - [`cache`]: the verified two-tier chunk cache (memory over disk, byte budgets, an
//!   eviction policy chosen by measurement) with single-flight fills.
//!
//! Still to come (issue 04): the HTTP/1.1 + HTTP/2 + TLS server with RFC 9110 range
//! semantics (planned by `packyard_core`'s range planner), and syncing chunks from the origin
//! over gRPC, which will be the cache's fetch.

pub mod cache;
