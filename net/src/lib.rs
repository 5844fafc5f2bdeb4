//! Packyard's network plumbing, shared by the control plane, origins and edges.
//!
//! # Layout
//!
//! - [`cluster`]: the cluster's mutual TLS: node identities in certificates, the CA that
//!   issues them, reloading, the gRPC listener and connector, the per-service role check.
//! - [`http`]: the hardened HTTP listener of the edge, the admin API and the upload endpoint.
//! - [`backoff`]: the delays between attempts of every retry loop.
//! - [`node`]: one way to start a node: its configuration error, listeners, cluster
//!   identity, public TLS, tasks and stop signal, and the error that stops a start.
//! - [`listen`]: binding a listener (port 0 allowed) and saying where it listens.
//! - `eventually` (feature `test-support`): how tests wait for a condition.

mod backoff;
pub mod cluster;
#[cfg(feature = "test-support")]
pub mod eventually;
pub mod http;
pub mod listen;
pub mod node;

pub use backoff::backoff;
