//! [`GrpcNetwork`]: makes a [`GrpcConnection`] for each peer openraft replicates to.

use openraft::RaftNetworkFactory;
use tonic::transport::Endpoint;

use super::grpc_connection::GrpcConnection;
use super::node::Node;
use super::peer_channels::PeerChannels;
use super::type_config::{NodeId, TypeConfig};

/// openraft's network for the control plane: mutual-TLS gRPC to each peer's `raft_addr`,
/// over the node's kept channels (openraft asks for a client per peer on every
/// linearizable read, which must not cost a handshake).
#[derive(Debug, Clone)]
pub struct GrpcNetwork {
    peers: PeerChannels,
}

impl GrpcNetwork {
    /// A network over `peers`.
    pub fn new(peers: PeerChannels) -> Self {
        Self { peers }
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
        GrpcConnection::new(target, node.clone(), channel)
    }
}
