//! The Packyard control plane: the source of truth for apps, packs, versions, releases,
//! reviews, rollouts, edges, users and keys.
//!
//! Every state change is a [`packyard_core::catalog`] command; the store proposes it, and
//! once it is committed every replica applies it with the same pure code.
//!
//! # Layout
//!
//! - [`api`]: the admin API (JSON:API over HTTP, SPEC §5): requests parsed once into an
//!   [`api::Endpoint`], one file per resource, errors mapped to status in [`api::ApiError`],
//!   [`api::serve`] with the listener and shutdown signal passed in, and [`api::bootstrap`]
//!   for the first operator.
//! - [`clock`]: the [`Clock`] a node stamps commands with and judges due times and leases
//!   by: the system's, or Tokio's for tests on paused time.
//! - [`config`]: the node's configuration, with every default and its validation.
//! - [`edge_registry`]: the gRPC service edges register and heartbeat through.
//! - [`metrics`]: what a node measures, on a recorder handed in by the binary.
//! - [`watch`]: the watch stream edges follow, fed as entries are applied.
//! - [`store`]: the [`CatalogStore`] interface the admin API writes and reads through, and
//!   the in-memory reference implementation.
//! - [`limits_keeper`]: the leader's task that makes the catalog's limits those of its
//!   `[quota]` configuration.
//! - [`node`]: one control-plane process, wired from its configuration.
//! - [`origin_reports`]: the gRPC service origins report processing outcomes to.
//! - [`raft`]: the replicated store: openraft's type configuration, the Raft log and
//!   snapshots on RocksDB, the state machine that applies the catalog, and the gRPC network.
//! - [`rollout_advancer`]: the leader's soak timer, which proposes automatic rollout
//!   advances with its time in the envelope.
//! - [`upload_expirer`]: the leader's reservation timer, which fails upload files never
//!   committed so their quota and staged parts are freed.
//! - [`webhook`]: the [`webhook::Deliverer`], which sends the catalog's due webhook
//!   deliveries while this node leads and records each attempt through the store.

pub mod api;
pub mod clock;
#[cfg(feature = "raft")]
pub mod config;
pub mod edge_registry;
pub mod leader_duty;
pub mod limits_keeper;
pub mod metrics;
#[cfg(feature = "raft")]
pub mod node;
pub mod origin_reports;
#[cfg(feature = "raft")]
pub mod raft;
pub mod rollout_advancer;
pub mod store;
pub mod upload_expirer;
pub mod watch;
pub mod webhook;

pub use clock::Clock;
#[cfg(feature = "raft")]
pub use config::ControlConfig;
pub use metrics::ControlMetrics;
pub use store::{CatalogStore, MemoryStore, StoreError};
