//! The client side of the control plane's catalog, shared by origins and edges.
//!
//! # Layout
//!
//! - [`CatalogClient`]: a lazily connected gRPC client of any control-plane node: the watch
//!   stream (`CatalogWatch.Watch`) and the edge registry (`EdgeRegistry.Register`,
//!   `Heartbeat`).
//! - [`follow`]: keeps a [`WatchView`] in step with the watch stream: a snapshot first, one
//!   event per log entry after it, reconnecting with backoff and resuming from the last index
//!   handled + 1. The view decides what an event means; the follower only does the I/O.
//! - [`Stop`]: one shutdown signal async tasks wait for and blocking work polls (from
//!   `packyard-net`, re-exported).

mod client;
mod follower;

pub use client::{CatalogClient, is_transient, report_retry};
pub use follower::{FollowTiming, WatchView, follow};
pub use packyard_net::node::Stop;
