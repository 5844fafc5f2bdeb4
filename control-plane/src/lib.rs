//! The Packyard control plane: the source of truth for apps, packs, versions, releases,
//! reviews, rollouts, edges, users and keys.
//!
//! Every state change is a [`packyard_core::catalog`] command; the store proposes it, and
//! once it is committed every replica applies it with the same pure code.
//!
//! # Layout
//!
//! - [`store`]: the [`CatalogStore`] interface the admin API writes and reads through, and
//!   the in-memory reference implementation.
//! - [`raft`]: the replicated implementation's parts: openraft's type configuration, the
//!   Raft log and snapshots on RocksDB, and the state machine that applies the catalog.

pub mod raft;
pub mod store;

pub use store::{CatalogStore, MemoryStore, StoreError};
