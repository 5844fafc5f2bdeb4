//! [`RaftStore`]: the [`CatalogStore`] the admin API uses on a replicated control plane.

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{CheckIsLeaderError, ClientWriteError, RaftError};
use packyard_core::catalog::{Catalog, Envelope};
use packyard_proto::raft::v1::raft_client::RaftClient;
use packyard_proto::raft::v1::{ClientWriteRequest, ReadIndexRequest, client_write_reply};
use tokio::sync::RwLock;
use tonic::transport::Channel;

use super::node::Node;
use super::peer_channels::PeerChannels;
use super::type_config::Raft;
use crate::store::{Applied, CatalogStore, StoreError};

/// How long a follower waits to catch up with the leader's read index before giving up.
const READ_WAIT: Duration = Duration::from_secs(5);

/// Writes go through Raft (forwarded to the leader when this node is a follower); reads
/// are linearizable reads of this node's state machine.
#[derive(Clone)]
pub struct RaftStore {
    raft: Raft,
    catalog: Arc<RwLock<Catalog>>,
    /// The kept channel per leader address: a forwarded write or a read index would
    /// otherwise pay a TCP and TLS handshake each.
    peers: PeerChannels,
}

impl std::fmt::Debug for RaftStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftStore").finish_non_exhaustive()
    }
}

impl RaftStore {
    /// A store over `raft`, reading `catalog`, the live catalog of the same node's state
    /// machine ([`super::StateMachineStore::catalog`]), forwarding through `peers`.
    pub fn new(raft: Raft, catalog: Arc<RwLock<Catalog>>, peers: PeerChannels) -> Self {
        Self {
            raft,
            catalog,
            peers,
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

    /// Hands `envelope` to the leader at `leader` and returns its answer and the index.
    async fn forward(
        &self,
        leader: &Node,
        envelope: &Envelope,
    ) -> Result<(u64, Applied), StoreError> {
        let unavailable = |e: &dyn std::fmt::Display| {
            StoreError::Unavailable(format!(
                "forwarding to the leader at {}: {e}",
                leader.raft_addr
            ))
        };
        let command_json = serde_json::to_vec(envelope).map_err(|e| unavailable(&e))?;
        let mut client = self.client(leader).map_err(|e| unavailable(&e))?;
        let reply = client
            .client_write(ClientWriteRequest { command_json })
            .await
            .map_err(|e| unavailable(&e))?
            .into_inner();
        let index = reply.log_index;
        match reply.result {
            Some(client_write_reply::Result::EventsJson(json)) => Ok((
                index,
                Ok(serde_json::from_slice(&json).map_err(|e| unavailable(&e))?),
            )),
            Some(client_write_reply::Result::RefusalJson(json)) => Ok((
                index,
                Err(serde_json::from_slice(&json).map_err(|e| unavailable(&e))?),
            )),
            // Leadership moved while the request travelled; the caller may retry.
            Some(client_write_reply::Result::ForwardTo(_)) | None => Err(StoreError::NoLeader),
        }
    }
}

impl CatalogStore for RaftStore {
    async fn write_at(&self, envelope: Envelope) -> Result<(u64, Applied), StoreError> {
        match self.raft.client_write(envelope.clone()).await {
            Ok(written) => Ok((written.log_id.index, written.data)),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward))) => {
                match forward.leader_node {
                    Some(leader) => self.forward(&leader, &envelope).await,
                    None => Err(StoreError::NoLeader),
                }
            }
            Err(e) => Err(StoreError::Unavailable(e.to_string())),
        }
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
