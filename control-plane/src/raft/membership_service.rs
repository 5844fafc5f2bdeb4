//! [`MembershipService`]: the server side of `packyard.raft.v1.Membership`, adding and
//! removing control-plane nodes while the cluster runs.
//!
//! `Join` and `Leave` change the membership, which only the leader can do; any node accepts
//! them and a follower hands them to the leader once (a request that arrives forwarded is
//! never forwarded again, so a leadership change cannot bounce it around). `Status` answers
//! from this node's own view.

use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::metrics::WaitError;
use openraft::{ChangeMembers, Membership};
use packyard_net::cluster::{NodeRole, RequireRole, require};
use packyard_proto::raft::v1::membership_client::MembershipClient;
use packyard_proto::raft::v1::membership_server::{Membership as MembershipRpc, MembershipServer};
use packyard_proto::raft::v1::{JoinRequest, LeaveRequest, MembershipReply, StatusRequest};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use super::membership_error::MembershipError;
use super::membership_plan::{JoinPlan, plan_join, plan_leave};
use super::node::Node;
use super::peer_channels::PeerChannels;
use super::raft_service::{node_from_info, node_info};
use super::type_config::{NodeId, Raft};

/// How long, by default, the leader waits for each step of a membership change: a joining
/// node catching up with the log, and each membership entry committing.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// openraft's error for a membership proposal.
type WriteError = RaftError<NodeId, ClientWriteError<NodeId, Node>>;

/// Metadata key marking a request a follower forwarded to the leader.
const FORWARDED: &str = "x-packyard-forwarded";

/// Serves membership changes and status for one node.
#[derive(Clone)]
pub struct MembershipService {
    raft: Raft,
    peers: PeerChannels,
    timeout: Duration,
}

impl std::fmt::Debug for MembershipService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MembershipService")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl MembershipService {
    /// A service for `raft`, forwarding to the leader through `peers`, waiting at most
    /// [`DEFAULT_STEP_TIMEOUT`] for each step.
    pub fn new(raft: Raft, peers: PeerChannels) -> Self {
        Self {
            raft,
            peers,
            timeout: DEFAULT_STEP_TIMEOUT,
        }
    }

    /// The same service, waiting at most `timeout` for each step of a change. A joining
    /// node that does not catch up in time stays a learner, and `Join` fails with
    /// `DEADLINE_EXCEEDED` saying how to finish or undo it.
    pub fn with_step_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The tonic service to add to a server, next to [`super::RaftService`]: for control
    /// nodes (a follower forwarding a change) and operators (`packyard cluster`) only.
    pub fn into_server(self) -> InterceptedService<MembershipServer<Self>, RequireRole> {
        InterceptedService::new(
            MembershipServer::new(self),
            require("Membership", &[NodeRole::Control, NodeRole::Operator]),
        )
    }

    /// The membership this node knows, and an error naming the leader unless it is this node.
    fn membership_if_leader(&self) -> Result<Membership<NodeId, Node>, MembershipError> {
        let metrics = self.raft.metrics().borrow().clone();
        let membership = metrics.membership_config.membership();
        match metrics.current_leader {
            Some(leader) if leader == metrics.id => Ok(membership.clone()),
            Some(leader) => Err(MembershipError::NotLeader(
                membership.get_node(&leader).map(|n| (leader, n.clone())),
            )),
            None => Err(MembershipError::NotLeader(None)),
        }
    }

    /// Joins `id` at `node`, on the leader.
    async fn join_here(&self, id: NodeId, node: Node) -> Result<MembershipReply, MembershipError> {
        let current = self.membership_if_leader()?;
        match plan_join(&current, id, &node)? {
            JoinPlan::AlreadyVoter => Ok(self.reply(&current)),
            JoinPlan::AddAndPromote => {
                let raft_addr = node.raft_addr.clone();
                // Not openraft's blocking mode: it counts a learner that never answered as
                // caught up while the log is short, and promoting an unreachable node would
                // leave a joint configuration no quorum can commit.
                let added = self
                    .committed(self.raft.add_learner(id, node, false))
                    .await?;
                self.wait_caught_up(id, raft_addr, added.log_id.index)
                    .await?;
                let promote = ChangeMembers::AddVoterIds([id].into());
                let promoted = self
                    .committed(self.raft.change_membership(promote, true))
                    .await?;
                Ok(self.reply_after(promoted.membership))
            }
        }
    }

    /// Removes `id`, on the leader.
    async fn leave_here(&self, id: NodeId) -> Result<MembershipReply, MembershipError> {
        let current = self.membership_if_leader()?;
        let change = plan_leave(&current, id)?;
        // Not retained as a learner: a node that leaves gets no more log entries.
        let changed = self
            .committed(self.raft.change_membership(change, false))
            .await?;
        Ok(self.reply_after(changed.membership))
    }

    /// Waits until learner `id` has acknowledged the log up to `index`, the entry that added
    /// it, which proves it is reachable and holds everything before its promotion. Returns
    /// early if this node stops leading or the learner is removed; promoting it then fails
    /// with the reason.
    async fn wait_caught_up(
        &self,
        id: NodeId,
        raft_addr: String,
        index: u64,
    ) -> Result<(), MembershipError> {
        let waited = self
            .raft
            .wait(Some(self.timeout))
            .metrics(
                |m| match &m.replication {
                    None => true,
                    Some(replication) => {
                        m.membership_config.membership().get_node(&id).is_none()
                            || replication
                                .get(&id)
                                .is_some_and(|matched| matched.is_some_and(|l| l.index >= index))
                    }
                },
                "the joining node catches up",
            )
            .await;
        match waited {
            Ok(_) => Ok(()),
            Err(WaitError::Timeout(..)) => Err(MembershipError::CatchUpTimeout {
                id,
                raft_addr,
                secs: self.timeout.as_secs(),
            }),
            Err(WaitError::ShuttingDown) => Err(MembershipError::RaftStopped(
                "it is shutting down".to_owned(),
            )),
        }
    }

    /// Awaits a membership proposal, bounded: one that cannot commit (a majority of voters
    /// down) fails instead of holding the caller forever.
    async fn committed<T>(
        &self,
        proposal: impl Future<Output = Result<T, WriteError>>,
    ) -> Result<T, MembershipError> {
        tokio::time::timeout(self.timeout, proposal)
            .await
            .map_err(|_| MembershipError::NotCommitted {
                secs: self.timeout.as_secs(),
            })?
            .map_err(MembershipError::from)
    }

    /// The reply for a change whose committed membership Raft returned, if it did.
    fn reply_after(&self, changed: Option<Membership<NodeId, Node>>) -> MembershipReply {
        match changed {
            Some(membership) => self.reply(&membership),
            None => self.reply(
                &self
                    .raft
                    .metrics()
                    .borrow()
                    .membership_config
                    .membership()
                    .clone(),
            ),
        }
    }

    /// `membership`, with the leader, term and applied index from this node's metrics.
    fn reply(&self, membership: &Membership<NodeId, Node>) -> MembershipReply {
        let metrics = self.raft.metrics().borrow().clone();
        let info =
            |id: NodeId| node_info(id, membership.get_node(&id).cloned().unwrap_or_default());
        MembershipReply {
            voters: membership.voter_ids().map(info).collect(),
            learners: membership.learner_ids().map(info).collect(),
            leader_id: metrics.current_leader.unwrap_or(0),
            term: metrics.current_term,
            // Every applied entry is committed; openraft 0.9 reports no commit index of its
            // own, so this is the commit index as far as this node has applied it.
            commit_index: metrics.last_applied.map_or(0, |id| id.index),
        }
    }
}

/// Whether a follower already forwarded this request.
fn was_forwarded<T>(request: &Request<T>) -> bool {
    request.metadata().contains_key(FORWARDED)
}

/// A client for the leader at `leader`, and `message` marked as forwarded.
fn to_leader<T>(
    peers: &PeerChannels,
    leader: &Node,
    message: T,
) -> Result<(MembershipClient<Channel>, Request<T>), Status> {
    let channel = peers.get(&leader.raft_addr).map_err(|e| {
        Status::unavailable(format!(
            "the leader's raft address {} is unusable: {e}",
            leader.raft_addr
        ))
    })?;
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert(FORWARDED, tonic::metadata::MetadataValue::from_static("1"));
    Ok((MembershipClient::new(channel), request))
}

/// The leader's answer, its message prefixed so a transport failure names the leader.
fn from_leader(
    leader: &Node,
    answer: Result<Response<MembershipReply>, Status>,
) -> Result<Response<MembershipReply>, Status> {
    answer.map_err(|s| {
        Status::new(
            s.code(),
            format!("via the leader at {}: {}", leader.raft_addr, s.message()),
        )
    })
}

#[tonic::async_trait]
impl MembershipRpc for MembershipService {
    async fn join(
        &self,
        request: Request<JoinRequest>,
    ) -> Result<Response<MembershipReply>, Status> {
        let forwarded = was_forwarded(&request);
        let message = request.into_inner();
        let info = message.node.clone().ok_or(MembershipError::MissingNode)?;
        let (id, node) = node_from_info(info);
        match self.join_here(id, node).await {
            Ok(reply) => Ok(Response::new(reply)),
            Err(MembershipError::NotLeader(Some((_, leader)))) if !forwarded => {
                let (mut client, request) = to_leader(&self.peers, &leader, message)?;
                from_leader(&leader, client.join(request).await)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn leave(
        &self,
        request: Request<LeaveRequest>,
    ) -> Result<Response<MembershipReply>, Status> {
        let forwarded = was_forwarded(&request);
        let message = request.into_inner();
        match self.leave_here(message.id).await {
            Ok(reply) => Ok(Response::new(reply)),
            Err(MembershipError::NotLeader(Some((_, leader)))) if !forwarded => {
                let (mut client, request) = to_leader(&self.peers, &leader, message)?;
                from_leader(&leader, client.leave(request).await)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn status(
        &self,
        _request: Request<StatusRequest>,
    ) -> Result<Response<MembershipReply>, Status> {
        let membership = self
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .clone();
        Ok(Response::new(self.reply(&membership)))
    }
}
