//! The Raft-replicated catalog: openraft over RocksDB.
//!
//! Each node keeps one RocksDB database ([`RaftDb`]) holding its Raft log and vote
//! ([`LogStore`]) and the latest snapshot of its state machine ([`StateMachineStore`]),
//! which applies committed [`packyard_core::catalog::Envelope`]s to an in-memory
//! [`packyard_core::catalog::Catalog`].
//!
//! # Layout
//!
//! - [`type_config`]: [`TypeConfig`], what the log carries and what applying answers.
//! - [`node`]: [`Node`], a member's Raft and admin addresses.
//! - [`raft_settings`]: [`RaftSettings`], timing and the snapshot interval.
//! - [`raft_db`]: [`RaftDb`], the database and its synced writes.
//! - [`log_store`]: [`LogStore`], openraft's log storage.
//! - [`state_machine`]: [`StateMachineStore`], the catalog and its snapshots.
//! - [`snapshot_builder`]: [`CatalogSnapshotBuilder`], writes one snapshot.
//! - [`grpc_network`], [`grpc_connection`]: [`GrpcNetwork`], openraft's messages to peers
//!   over `packyard.raft.v1`, JSON inside `RaftPayload`.
//! - [`peer_channels`]: [`PeerChannels`], one kept mutual-TLS channel per peer.
//! - [`raft_service`]: [`RaftService`], the server side of those RPCs and of forwarded writes.
//! - [`raft_store`]: [`RaftStore`], the [`crate::CatalogStore`] over all of the above.
//! - [`standing`]: [`Standing`], whether this node is in touch with the majority (the watch
//!   stream sends its watchers elsewhere when it is not).
//! - [`membership_service`]: [`MembershipService`], nodes joining and leaving at run time
//!   (forwarded to the leader from any node), and the membership status.
//! - [`membership_plan`]: [`JoinPlan`], the pure decisions behind a join or a leave.
//! - [`membership_error`]: [`MembershipError`], their refusals and gRPC status codes.

// openraft's trait methods return its `StorageError` and `RPCError`, which are large; the
// signatures are openraft's, so boxing them is not ours to choose.
#![allow(
    clippy::result_large_err,
    reason = "openraft's error types, fixed by its traits"
)]

pub mod grpc_connection;
pub mod grpc_network;
pub mod kept_stream;
pub mod log_store;
mod log_syncer;
pub mod membership_error;
pub mod membership_plan;
pub mod membership_service;
pub mod node;
pub mod peer_channels;
pub mod proposal;
pub mod raft_db;
pub mod raft_service;
pub mod raft_settings;
pub mod raft_store;
pub mod snapshot_builder;
pub mod standing;
pub mod state_machine;
pub mod type_config;

use std::path::Path;

use packyard_core::catalog::Catalog;

pub use grpc_network::GrpcNetwork;
pub use log_store::LogStore;
pub use membership_error::MembershipError;
pub use membership_plan::JoinPlan;
pub use membership_service::MembershipService;
pub use node::Node;
pub use peer_channels::PeerChannels;
pub use raft_db::RaftDb;
pub use raft_service::RaftService;
pub use raft_settings::RaftSettings;
pub use raft_store::RaftStore;
pub use snapshot_builder::CatalogSnapshotBuilder;
pub use standing::Standing;
pub use state_machine::StateMachineStore;
pub use type_config::{NodeId, TypeConfig};

/// Opens a node's storage in directory `path`: its log store and its state machine,
/// restored from the latest snapshot there, or holding `empty` on a new node.
pub async fn open_storage(
    path: &Path,
    empty: Catalog,
) -> Result<(LogStore, StateMachineStore), type_config::StorageError> {
    let db = RaftDb::open(path)?;
    let state_machine = StateMachineStore::open(db.clone(), empty).await?;
    let log = LogStore::new(db)
        .map_err(|e| openraft::StorageIOError::<NodeId>::write(openraft::AnyError::new(&e)))?;
    Ok((log, state_machine))
}
