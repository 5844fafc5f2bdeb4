//! [`GrpcNetwork`]: makes a [`GrpcConnection`] for each peer openraft replicates to.

use openraft::RaftNetworkFactory;
use tonic::transport::Endpoint;

use super::grpc_connection::GrpcConnection;
use super::node::Node;
use super::type_config::{NodeId, TypeConfig};

/// openraft's network for the control plane: gRPC to each peer's `raft_addr`.
#[derive(Debug, Clone, Default)]
pub struct GrpcNetwork {}

impl GrpcNetwork {
    /// A network with no open connections yet.
    pub fn new() -> Self {
        Self {}
    }
}

/// The lazily connecting channel for `raft_addr` (`host:port`).
pub(super) fn channel(
    raft_addr: &str,
) -> Result<tonic::transport::Channel, tonic::transport::Error> {
    Ok(Endpoint::from_shared(format!("http://{raft_addr}"))?.connect_lazy())
}

impl RaftNetworkFactory<TypeConfig> for GrpcNetwork {
    type Network = GrpcConnection;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> Self::Network {
        let channel = channel(&node.raft_addr).unwrap_or_else(|e| {
            // Membership only holds addresses that nodes announced themselves, so this
            // means a node was added with a malformed address; every call will fail
            // unreachable until it is removed.
            tracing::error!(target, addr = %node.raft_addr, error = %e, "bad raft address");
            Endpoint::from_static("http://invalid.invalid:1").connect_lazy()
        });
        GrpcConnection::new(target, node.clone(), channel)
    }
}
