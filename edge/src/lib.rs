//! The Packyard edge: the node devices download from.
//!
//! # Layout
//!
//! - [`state`]: what the edge serves (apps, completed versions, channel pointers, active
//!   rollouts and this edge's region), built from the control plane's watch stream. Pure.
//! - [`sync`]: registration and heartbeats, the watch stream into the state, chunks from the
//!   origin as the cache's fill, prefetching eager versions.
//! - [`cache`]: the verified two-tier chunk cache (memory over disk, byte budgets, an
//!   eviction policy chosen by measurement) with single-flight fills.
//! - [`http`]: the device protocol over HTTP/1.1 + HTTP/2 + TLS, with RFC 9110 ranges planned
//!   by `packyard_core::http_range` and bodies streamed chunk by chunk from the cache.
//! - [`metrics`]: what the edge measures, on a recorder handed in.
//! - [`served`]: devices and requests served per version, reported in heartbeats.
//! - [`config`], [`node`]: one edge process, configured and wired ([`node::run`]).

pub mod access_log;
pub mod cache;
pub mod config;
pub mod http;
pub mod metrics;
pub mod node;
pub mod served;
pub mod state;
pub mod sync;

pub use config::EdgeConfig;
