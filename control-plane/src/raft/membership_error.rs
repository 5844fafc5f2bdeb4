//! [`MembershipError`]: why a `Join` or `Leave` was refused or failed, and its gRPC status.

use openraft::error::{ChangeMembershipError, ClientWriteError, RaftError};
use tonic::Status;

use super::node::Node;
use super::type_config::NodeId;

/// What went wrong with a membership request, in words the operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    /// `Join` without a `node`.
    #[error("the join request names no node: set node.id, node.raft_addr and node.admin_addr")]
    MissingNode,
    /// Id 0 means "no leader" in replies, so no member may have it.
    #[error("node id 0 is reserved (it means \"no leader\" in status replies); pick an id from 1")]
    ReservedId,
    /// An address that is not `host:port`.
    #[error("node {id}: {field} {addr:?} is not host:port")]
    BadAddress {
        /// The node whose address it is.
        id: NodeId,
        /// Which address: `raft_addr` or `admin_addr`.
        field: &'static str,
        /// The address as given.
        addr: String,
    },
    /// The id is already a member at other addresses.
    #[error(
        "node {id} is already a member at {existing}, not at {requested}; \
         ask it to Leave first, or join with a new id"
    )]
    IdTaken {
        /// The id asked for.
        id: NodeId,
        /// The addresses the membership has for it.
        existing: Node,
        /// The addresses in the request.
        requested: Node,
    },
    /// Another member already listens at this Raft address.
    #[error("raft address {addr} already belongs to node {owner}; a node joins once, under one id")]
    AddressTaken {
        /// The contested address.
        addr: String,
        /// The member that has it.
        owner: NodeId,
    },
    /// `Leave` for an id the membership does not hold.
    #[error("node {0} is not a member of the cluster (see Status for the members)")]
    UnknownNode(NodeId),
    /// `Leave` for the only voter: the cluster would have no one left to commit anything.
    #[error("node {0} is the last voter and cannot leave; join another node first")]
    LastVoter(NodeId),
    /// This node does not lead; the request belongs at the leader, if one is known.
    #[error("{}", not_leader(.0))]
    NotLeader(Option<(NodeId, Node)>),
    /// Another membership change has not committed yet.
    #[error("another membership change is still in progress; retry once it has committed")]
    InProgress,
    /// A joining node was added as a learner but did not catch up in time.
    #[error(
        "node {id} was added as a learner but did not catch up within {secs} s; check that it \
         runs and is reachable at {raft_addr}, then Join again (or Leave {id} to give up)"
    )]
    CatchUpTimeout {
        /// The joining node.
        id: NodeId,
        /// Its Raft address, as given.
        raft_addr: String,
        /// How long the leader waited.
        secs: u64,
    },
    /// A membership entry was proposed but did not commit in time.
    #[error(
        "the membership change was proposed but did not commit within {secs} s; a majority of \
         voters may be unreachable: check Status on each node before retrying"
    )]
    NotCommitted {
        /// How long the leader waited.
        secs: u64,
    },
    /// A joining node disappeared from the membership before it could become a voter.
    #[error("node {0} was removed while it was joining; Join again")]
    RemovedWhileJoining(NodeId),
    /// Raft on this node cannot take requests (it is shutting down or has failed).
    #[error("raft on this node is not running: {0}")]
    RaftStopped(String),
}

fn not_leader(leader: &Option<(NodeId, Node)>) -> String {
    match leader {
        Some((id, node)) => format!(
            "this node does not lead; the leader is node {id} at {}: retry there or on any node",
            node.raft_addr
        ),
        None => "no leader is known (an election may be under way); retry shortly".to_owned(),
    }
}

impl From<RaftError<NodeId, ClientWriteError<NodeId, Node>>> for MembershipError {
    fn from(e: RaftError<NodeId, ClientWriteError<NodeId, Node>>) -> Self {
        match e {
            RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
                Self::NotLeader(f.leader_id.zip(f.leader_node))
            }
            RaftError::APIError(ClientWriteError::ChangeMembershipError(c)) => match c {
                ChangeMembershipError::InProgress(_) => Self::InProgress,
                ChangeMembershipError::LearnerNotFound(l) => Self::RemovedWhileJoining(l.node_id),
                // The plan refuses to remove the last voter before asking Raft, so this means
                // the membership changed under the request.
                ChangeMembershipError::EmptyMembership(_) => Self::InProgress,
            },
            RaftError::Fatal(f) => Self::RaftStopped(f.to_string()),
        }
    }
}

impl From<MembershipError> for Status {
    fn from(e: MembershipError) -> Self {
        let message = e.to_string();
        match e {
            MembershipError::MissingNode
            | MembershipError::ReservedId
            | MembershipError::BadAddress { .. } => Status::invalid_argument(message),
            MembershipError::IdTaken { .. } | MembershipError::AddressTaken { .. } => {
                Status::already_exists(message)
            }
            MembershipError::UnknownNode(_) => Status::not_found(message),
            MembershipError::LastVoter(_) => Status::failed_precondition(message),
            MembershipError::InProgress | MembershipError::RemovedWhileJoining(_) => {
                Status::aborted(message)
            }
            MembershipError::CatchUpTimeout { .. } | MembershipError::NotCommitted { .. } => {
                Status::deadline_exceeded(message)
            }
            MembershipError::NotLeader(_) | MembershipError::RaftStopped(_) => {
                Status::unavailable(message)
            }
        }
    }
}
