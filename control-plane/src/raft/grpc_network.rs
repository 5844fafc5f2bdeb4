//! [`GrpcNetwork`]: makes a [`GrpcConnection`] for each peer openraft replicates to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use openraft::RaftNetworkFactory;
use tonic::transport::Endpoint;

use super::grpc_connection::{AppendStreamSlot, GrpcConnection};
use super::node::Node;
use super::peer_channels::PeerChannels;
use super::type_config::{NodeId, TypeConfig};

/// openraft's network for the control plane: mutual-TLS gRPC to each peer's `raft_addr`,
/// over the node's kept channels (openraft asks for a client per peer on every
/// linearizable read, which must not cost a handshake).
#[derive(Debug, Clone)]
pub struct GrpcNetwork {
    peers: PeerChannels,
    /// The `AppendEntriesStream` kept per peer address, shared by every connection openraft
    /// makes to that peer (it makes one per replication stream and per heartbeat round).
    streams: Arc<Mutex<HashMap<String, AppendStreamSlot>>>,
}

impl GrpcNetwork {
    /// A network over `peers`.
    pub fn new(peers: PeerChannels) -> Self {
        Self {
            peers,
            streams: Arc::default(),
        }
    }
}

impl RaftNetworkFactory<TypeConfig> for GrpcNetwork {
    type Network = GrpcConnection;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> Self::Network {
        let channel = self.peers.get(&node.raft_addr).unwrap_or_else(|e| {
            // Membership only holds addresses that nodes announced themselves, so this
            // means a node was added with a malformed address; every call will fail
            // unreachable until it is removed.
            tracing::error!(target, addr = %node.raft_addr, error = %e, "bad raft address");
            Endpoint::from_static("http://invalid.invalid:1").connect_lazy()
        });
        let stream = self
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(node.raft_addr.clone())
            .or_default()
            .clone();
        GrpcConnection::new(target, node.clone(), channel).with_stream(stream)
    }
}
