//! [`RaftStore`]: the [`CatalogStore`] the admin API uses on a replicated control plane.

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{CheckIsLeaderError, RaftError};
use packyard_core::catalog::{Catalog, Envelope};
use packyard_proto::raft::v1::ReadIndexRequest;
use packyard_proto::raft::v1::raft_client::RaftClient;
use tokio::sync::RwLock;
use tonic::transport::Channel;

use super::node::Node;
use super::peer_channels::PeerChannels;
use super::proposal::Proposer;
use super::type_config::Raft;
use crate::store::{Applied, CatalogStore, StoreError};

/// How long a follower waits to catch up with the leader's read index before giving up.
const READ_WAIT: Duration = Duration::from_secs(5);

/// Writes go through Raft in proposals (forwarded to the leader when this node is a
/// follower); reads are linearizable reads of this node's state machine.
#[derive(Clone)]
pub struct RaftStore {
    raft: Raft,
    catalog: Arc<RwLock<Catalog>>,
    /// The kept channel per leader address: a read index would otherwise pay a TCP and TLS
    /// handshake each.
    peers: PeerChannels,
    /// Groups this node's concurrent writes into proposals, forwarded when it follows.
    proposer: Proposer,
}

impl std::fmt::Debug for RaftStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftStore").finish_non_exhaustive()
    }
}

impl RaftStore {
    /// A store over `raft`, reading `catalog`, the live catalog of the same node's state
    /// machine ([`super::StateMachineStore::catalog`]), forwarding through `peers`. Starts
    /// the store's [`Proposer`] on the current Tokio runtime.
    pub fn new(raft: Raft, catalog: Arc<RwLock<Catalog>>, peers: PeerChannels) -> Self {
        let proposer = Proposer::start(raft.clone(), peers.clone());
        Self {
            raft,
            catalog,
            peers,
            proposer,
        }
    }

    /// The kept channel to `leader`, made on first use.
    fn client(
        &self,
        leader: &Node,
    ) -> Result<RaftClient<Channel>, packyard_net::cluster::ChannelError> {
        Ok(RaftClient::new(self.peers.get(&leader.raft_addr)?))
    }

    /// The log index the leader at `leader` says a linearizable read must see.
    async fn read_index(&self, leader: &Node) -> Result<u64, StoreError> {
        let unavailable = |e: &dyn std::fmt::Display| {
            StoreError::Unavailable(format!(
                "asking the leader at {} for a read index: {e}",
                leader.raft_addr
            ))
        };
        let mut client = self.client(leader).map_err(|e| unavailable(&e))?;
        let reply = client
            .read_index(ReadIndexRequest {})
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(reply.into_inner().index)
    }
}

impl CatalogStore for RaftStore {
    /// Grouped with the node's other waiting writes into one proposal ([`Proposer`]).
    async fn write_at(&self, envelope: Envelope) -> Result<(u64, Applied), StoreError> {
        self.proposer.write(envelope).await
    }

    async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        match self.raft.ensure_linearizable().await {
            Ok(_) => Ok(f(&*self.catalog.read().await)),
            // Only the leader can prove a read is current: ask it how far this node must have
            // applied, wait until it has, then read the local copy.
            Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(forward))) => {
                let leader = forward.leader_node.ok_or(StoreError::NoLeader)?;
                let index = self.read_index(&leader).await?;
                self.raft
                    .wait(Some(READ_WAIT))
                    .applied_index_at_least(Some(index), "linearizable read on a follower")
                    .await
                    .map_err(|e| {
                        StoreError::Unavailable(format!("catching up to the leader: {e}"))
                    })?;
                Ok(f(&*self.catalog.read().await))
            }
            Err(e) => Err(StoreError::Unavailable(e.to_string())),
        }
    }

    async fn read_local<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        Ok(f(&*self.catalog.read().await))
    }

    async fn read_applied<R, F>(&self, index: u64, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        self.raft
            .wait(Some(READ_WAIT))
            .applied_index_at_least(Some(index), "reading a write this node made")
            .await
            .map_err(|e| StoreError::Unavailable(format!("catching up to the write: {e}")))?;
        Ok(f(&*self.catalog.read().await))
    }

    async fn is_leader(&self) -> bool {
        let metrics = self.raft.metrics().borrow().clone();
        metrics.current_leader == Some(metrics.id)
    }
}
