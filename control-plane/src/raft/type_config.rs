//! [`TypeConfig`]: the types openraft replicates for the control plane.

use std::io::Cursor;

use super::node::Node;
use super::proposal::Proposal;
use crate::store::Applied;

/// A control-plane node's id in the Raft cluster.
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// Raft for the catalog: log entries carry [`Proposal`]s (catalog envelopes that arrived
    /// together), and applying one answers, per envelope, with what
    /// [`packyard_core::catalog::Catalog::apply`] returned (the events, or the refusal).
    /// Snapshots are the catalog as JSON bytes.
    pub TypeConfig:
        D = Proposal,
        R = Vec<Applied>,
        NodeId = NodeId,
        Node = Node,
        SnapshotData = Cursor<Vec<u8>>,
);

/// A log entry of the catalog's Raft log.
pub type Entry = openraft::Entry<TypeConfig>;

/// The error every storage operation returns.
pub type StorageError = openraft::StorageError<NodeId>;

/// A Raft log position: the term and leader that wrote it, and its index.
pub type LogId = openraft::LogId<NodeId>;

/// The membership in effect, with the log position that set it.
pub type StoredMembership = openraft::StoredMembership<NodeId, Node>;

/// What a snapshot covers: up to which log entry, with which membership.
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, Node>;

/// The openraft handle of a control-plane node.
pub type Raft = openraft::Raft<TypeConfig>;
