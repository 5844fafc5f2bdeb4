//! [`CatalogClient`]: the gRPC client of the control plane's catalog services.

use packyard_net::cluster::{ChannelError, ClusterTls, NodeRole};
use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::catalog_watch_client::CatalogWatchClient;
use packyard_proto::catalog::v1::edge_registry_client::EdgeRegistryClient;
use tonic::transport::Channel;
use tonic::{Code, Status, Streaming};

/// A connection to any control-plane node. Cheap to clone; reconnects by itself.
#[derive(Debug, Clone)]
pub struct CatalogClient {
    channel: Channel,
}

impl CatalogClient {
    /// A lazily connected client of the control node at `addr` (`HOST:PORT`, its
    /// `raft_addr`), over mutual TLS with `tls`.
    pub fn connect(tls: &ClusterTls, addr: &str) -> Result<Self, ChannelError> {
        Ok(Self {
            channel: tls.channel(addr, NodeRole::Control)?,
        })
    }

    /// A client over an existing channel (shared with the caller's other services).
    pub fn from_channel(channel: Channel) -> Self {
        Self { channel }
    }

    /// The channel, for the caller's other services on the same node.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// The watch stream from `from_index` (0: a snapshot first).
    pub async fn watch(
        &self,
        from_index: u64,
        watcher_id: &str,
    ) -> Result<Streaming<pb::WatchEvent>, Status> {
        let mut client = CatalogWatchClient::new(self.channel.clone());
        let request = pb::WatchRequest {
            from_index,
            watcher_id: watcher_id.to_owned(),
        };
        Ok(client.watch(request).await?.into_inner())
    }

    /// Announces an edge (again, after every restart).
    pub async fn register(
        &self,
        request: pb::RegisterEdgeRequest,
    ) -> Result<pb::RegisterEdgeReply, Status> {
        let mut client = EdgeRegistryClient::new(self.channel.clone());
        Ok(client.register(request).await?.into_inner())
    }

    /// The tester token secret in force (for an edge told of a rotation).
    pub async fn token_secret(
        &self,
        request: pb::TokenSecretRequest,
    ) -> Result<pb::TokenSecretReply, Status> {
        let mut client = EdgeRegistryClient::new(self.channel.clone());
        Ok(client.token_secret(request).await?.into_inner())
    }

    /// An edge's heartbeat.
    pub async fn heartbeat(
        &self,
        request: pb::HeartbeatRequest,
    ) -> Result<pb::HeartbeatReply, Status> {
        let mut client = EdgeRegistryClient::new(self.channel.clone());
        Ok(client.heartbeat(request).await?.into_inner())
    }
}

/// Whether a failed call may succeed if tried again later (no leader, node down, network).
pub fn is_transient(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::DeadlineExceeded | Code::ResourceExhausted
    )
}
