//! [`GrpcConnection`]: openraft's messages to one peer, over the `packyard.raft.v1` gRPC
//! service.

use std::error::Error;
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use packyard_proto::raft::v1::RaftPayload;
use packyard_proto::raft::v1::raft_client::RaftClient;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::transport::Channel;

use super::kept_stream::{StreamSlot, exchange};
use super::node::Node;
use super::type_config::{NodeId, TypeConfig};

/// The largest message either end of a Raft connection accepts. A snapshot piece of
/// openraft's default chunk size grows about fourfold as JSON, so tonic's 4 MiB default
/// is too small.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The error of one RPC to a peer that answers with openraft error `E`.
type RpcError<E> = RPCError<NodeId, Node, RaftError<NodeId, E>>;

/// The kept `AppendEntriesStream` to one peer, shared by every connection to it.
pub type AppendStreamSlot = StreamSlot<RaftPayload, RaftPayload>;

/// A client for one peer. The channel connects lazily and reconnects by itself, so a peer
/// that is down shows up as an unreachable error on each call, not when this is created.
#[derive(Debug, Clone)]
pub struct GrpcConnection {
    target: NodeId,
    node: Node,
    client: RaftClient<Channel>,
    /// Appends go here while it is free; through a call of their own while it is busy.
    stream: AppendStreamSlot,
}

impl GrpcConnection {
    /// A connection to `target`, reached at `node.raft_addr` through `channel`.
    pub fn new(target: NodeId, node: Node, channel: Channel) -> Self {
        let client = RaftClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        Self {
            target,
            node,
            client,
            stream: AppendStreamSlot::default(),
        }
    }

    /// The same connection, sending appends through `stream` (shared with other
    /// connections to the same peer).
    pub fn with_stream(mut self, stream: AppendStreamSlot) -> Self {
        self.stream = stream;
        self
    }

    /// Encodes `message` as the payload of a request that gives up after `ttl`.
    fn request<T: Serialize, E: Error>(
        message: &T,
        ttl: Duration,
    ) -> Result<tonic::Request<RaftPayload>, RpcError<E>> {
        let json =
            serde_json::to_vec(message).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let mut request = tonic::Request::new(RaftPayload { json });
        request.set_timeout(ttl);
        Ok(request)
    }

    /// Decodes the peer's answer: its response, or the error its Raft returned.
    fn answer<T: DeserializeOwned, E: Error + DeserializeOwned>(
        &self,
        reply: Result<tonic::Response<RaftPayload>, tonic::Status>,
    ) -> Result<T, RpcError<E>> {
        let payload = reply
            .map_err(|status| self.transport_error(&status))?
            .into_inner();
        let answer: Result<T, RaftError<NodeId, E>> = serde_json::from_slice(&payload.json)
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        answer.map_err(|e| {
            RPCError::RemoteError(RemoteError::new_with_node(
                self.target,
                self.node.clone(),
                e,
            ))
        })
    }

    /// An error of the transport: unreachable if the peer could not be reached at all, so
    /// openraft backs off; any other failure is a network error worth retrying at once.
    fn transport_error<E: Error>(&self, status: &tonic::Status) -> RpcError<E> {
        tracing::debug!(target = self.target, %status, "raft rpc failed");
        match status.code() {
            tonic::Code::Unavailable => RPCError::Unreachable(Unreachable::new(status)),
            _ => RPCError::Network(NetworkError::new(status)),
        }
    }
}

impl RaftNetwork<TypeConfig> for GrpcConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RpcError<openraft::error::Infallible>> {
        let ttl = option.hard_ttl();
        let request = Self::request(&rpc, ttl)?;
        let reply = match self.stream.try_lock() {
            Ok(mut slot) => {
                let mut client = self.client.clone();
                let open = |requests| async move { client.append_entries_stream(requests).await };
                exchange(&mut slot, open, request.into_inner(), ttl)
                    .await
                    .map(tonic::Response::new)
            }
            // Another connection to this peer is using the stream (a heartbeat round for a
            // linearizable read while the replication stream sends): a call of its own.
            Err(_) => self.client.append_entries(request).await,
        };
        self.answer(reply)
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RpcError<InstallSnapshotError>> {
        let request = Self::request(&rpc, option.hard_ttl())?;
        let reply = self.client.install_snapshot(request).await;
        self.answer(reply)
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RpcError<openraft::error::Infallible>> {
        let request = Self::request(&rpc, option.hard_ttl())?;
        let reply = self.client.vote(request).await;
        self.answer(reply)
    }
}
