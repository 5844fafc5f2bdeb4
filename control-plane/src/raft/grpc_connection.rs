//! [`GrpcConnection`]: openraft's messages to one peer, over the `packyard.raft.v1` gRPC
//! service.

use std::error::Error;
use std::sync::Arc;
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
use tokio::sync::{Mutex, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::Channel;

use super::node::Node;
use super::type_config::{NodeId, TypeConfig};

/// The largest message either end of a Raft connection accepts. A snapshot piece of
/// openraft's default chunk size grows about fourfold as JSON, so tonic's 4 MiB default
/// is too small.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The error of one RPC to a peer that answers with openraft error `E`.
type RpcError<E> = RPCError<NodeId, Node, RaftError<NodeId, E>>;

/// An open `AppendEntriesStream` to one peer: where requests go, and the answers in order.
#[derive(Debug)]
pub struct AppendStream {
    requests: mpsc::Sender<RaftPayload>,
    answers: Streaming<RaftPayload>,
}

/// The kept stream to one peer, shared by every connection to it: `None` until first used,
/// and again after it failed. Whoever holds the lock has the stream to itself for one
/// request and its answer.
pub type AppendStreamSlot = Arc<Mutex<Option<AppendStream>>>;

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

    /// Sends `payload` on the kept stream (opening it if need be) and waits up to `ttl` for
    /// its answer. A stream that fails, or whose caller gives up mid-way (this future
    /// dropped), is closed and not reused: a late answer can never be taken for the next
    /// request's.
    async fn via_stream(
        &self,
        slot: &mut Option<AppendStream>,
        payload: RaftPayload,
        ttl: Duration,
    ) -> Result<RaftPayload, tonic::Status> {
        let mut stream = match slot.take() {
            Some(stream) => stream,
            None => tokio::time::timeout(ttl, self.open_stream())
                .await
                .map_err(|_| tonic::Status::unavailable("opening the append stream timed out"))??,
        };
        stream
            .requests
            .send(payload)
            .await
            .map_err(|_| tonic::Status::unavailable("the append stream closed"))?;
        match tokio::time::timeout(ttl, stream.answers.message()).await {
            Ok(Ok(Some(answer))) => {
                *slot = Some(stream);
                Ok(answer)
            }
            Ok(Ok(None)) => Err(tonic::Status::unavailable(
                "the peer closed the append stream",
            )),
            Ok(Err(status)) => Err(status),
            Err(_) => Err(tonic::Status::deadline_exceeded(
                "no answer on the append stream in time",
            )),
        }
    }

    async fn open_stream(&self) -> Result<AppendStream, tonic::Status> {
        let (requests, queued) = mpsc::channel(1);
        let answers = self
            .client
            .clone()
            .append_entries_stream(ReceiverStream::new(queued))
            .await?
            .into_inner();
        Ok(AppendStream { requests, answers })
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
        let stream = Arc::clone(&self.stream);
        let reply = match stream.try_lock() {
            Ok(mut slot) => self
                .via_stream(&mut slot, request.into_inner(), ttl)
                .await
                .map(tonic::Response::new),
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
