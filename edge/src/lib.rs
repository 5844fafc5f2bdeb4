//! The Packyard edge: the node devices download from.
//!
//! Planned (issue 04): an HTTP/1.1 + HTTP/2 + TLS server with RFC 9110 range semantics,
//! assembled from a verified two-tier chunk cache that is synced from the origin. Nothing is
//! implemented here yet, so this crate exports nothing.
