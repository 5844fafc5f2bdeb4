//! [`RaftService`]: the server side of `packyard.raft.v1.Raft`, handing each request to
//! this node's openraft instance.

use std::pin::Pin;

use openraft::error::{ClientWriteError, RaftError};
use packyard_net::cluster::{NodeRole, RequireRole, require};
use packyard_proto::raft::v1::raft_server::{Raft as RaftRpc, RaftServer};
use packyard_proto::raft::v1::{
    ClientWriteReply, ClientWriteRequest, NodeInfo, RaftPayload, ReadIndexReply, ReadIndexRequest,
    client_write_reply,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_stream::Stream;
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status, Streaming};

use super::grpc_connection::MAX_MESSAGE_BYTES;
use super::kept_stream::answer_in_order;
use super::proposal::Proposal;
use super::type_config::{NodeId, Raft};

/// Serves Raft RPCs from peers, and writes forwarded by followers, for one node.
#[derive(Clone)]
pub struct RaftService {
    raft: Raft,
}

impl std::fmt::Debug for RaftService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftService").finish_non_exhaustive()
    }
}

impl RaftService {
    /// A service for `raft`.
    pub fn new(raft: Raft) -> Self {
        Self { raft }
    }

    /// Proposes a follower's forwarded proposal and answers once it is applied, or names the
    /// leader to try.
    async fn write(&self, request: ClientWriteRequest) -> Result<ClientWriteReply, Status> {
        let proposal: Proposal = decode(&request.command_json)?;
        if proposal.0.is_empty() {
            return Err(Status::invalid_argument("a proposal without a write"));
        }
        let reply = match self.raft.client_write(proposal).await {
            Ok(written) => ClientWriteReply {
                log_index: written.log_id.index,
                result: Some(client_write_reply::Result::AnswersJson(to_json(
                    &written.data,
                )?)),
            },
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward))) => {
                // No leader known: no `result`, and the caller treats it as "no leader".
                let result = match (forward.leader_id, forward.leader_node) {
                    (Some(id), Some(node)) => {
                        Some(client_write_reply::Result::ForwardTo(node_info(id, node)))
                    }
                    _ => None,
                };
                ClientWriteReply {
                    log_index: 0,
                    result,
                }
            }
            Err(e) => return Err(Status::unavailable(e.to_string())),
        };
        Ok(reply)
    }

    /// The tonic service to add to a server, accepting messages as large as peers send,
    /// from control-plane nodes only (mutual TLS, [`require`]).
    pub fn into_server(self) -> InterceptedService<RaftServer<Self>, RequireRole> {
        let server = RaftServer::new(self)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        InterceptedService::new(server, require("Raft", &[NodeRole::Control]))
    }
}

/// Decodes a request payload; a peer that sends something else is a bug worth a clear error.
fn decode<T: DeserializeOwned>(json: &[u8]) -> Result<T, Status> {
    serde_json::from_slice(json)
        .map_err(|e| Status::invalid_argument(format!("undecodable payload: {e}")))
}

/// Encodes openraft's answer, success or error, for the peer to decode.
fn encode<T: Serialize>(answer: &T) -> Result<Response<RaftPayload>, Status> {
    serde_json::to_vec(answer)
        .map(|json| Response::new(RaftPayload { json }))
        .map_err(|e| Status::internal(format!("cannot encode the answer: {e}")))
}

#[tonic::async_trait]
impl RaftRpc for RaftService {
    async fn append_entries(
        &self,
        request: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        let rpc = decode(&request.into_inner().json)?;
        encode(&self.raft.append_entries(rpc).await)
    }

    type AppendEntriesStreamStream =
        Pin<Box<dyn Stream<Item = Result<RaftPayload, Status>> + Send + 'static>>;

    /// Answers each request in order; an undecodable one ends the stream with its error.
    async fn append_entries_stream(
        &self,
        request: Request<Streaming<RaftPayload>>,
    ) -> Result<Response<Self::AppendEntriesStreamStream>, Status> {
        let raft = self.raft.clone();
        Ok(Response::new(answer_in_order(
            request.into_inner(),
            move |payload: RaftPayload| {
                let raft = raft.clone();
                async move {
                    let rpc = decode(&payload.json)?;
                    encode(&raft.append_entries(rpc).await).map(Response::into_inner)
                }
            },
        )))
    }

    async fn vote(&self, request: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        let rpc = decode(&request.into_inner().json)?;
        encode(&self.raft.vote(rpc).await)
    }

    async fn install_snapshot(
        &self,
        request: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        let rpc = decode(&request.into_inner().json)?;
        encode(&self.raft.install_snapshot(rpc).await)
    }

    async fn client_write(
        &self,
        request: Request<ClientWriteRequest>,
    ) -> Result<Response<ClientWriteReply>, Status> {
        self.write(request.into_inner()).await.map(Response::new)
    }

    type ClientWriteStreamStream =
        Pin<Box<dyn Stream<Item = Result<ClientWriteReply, Status>> + Send + 'static>>;

    /// Answers each proposal in order; one that cannot be decoded or proposed ends the stream
    /// with its error.
    async fn client_write_stream(
        &self,
        request: Request<Streaming<ClientWriteRequest>>,
    ) -> Result<Response<Self::ClientWriteStreamStream>, Status> {
        let service = self.clone();
        Ok(Response::new(answer_in_order(
            request.into_inner(),
            move |request: ClientWriteRequest| {
                let service = service.clone();
                async move { service.write(request).await }
            },
        )))
    }

    async fn read_index(
        &self,
        _request: Request<ReadIndexRequest>,
    ) -> Result<Response<ReadIndexReply>, Status> {
        match self.raft.ensure_linearizable().await {
            Ok(read) => Ok(Response::new(ReadIndexReply {
                index: read.map_or(0, |id| id.index),
            })),
            Err(e) => Err(Status::unavailable(format!(
                "cannot serve a read index: {e}"
            ))),
        }
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, Status> {
    serde_json::to_vec(value)
        .map_err(|e| Status::internal(format!("cannot encode the answer: {e}")))
}

/// The wire form of a member.
pub(super) fn node_info(id: NodeId, node: super::node::Node) -> NodeInfo {
    NodeInfo {
        id,
        raft_addr: node.raft_addr,
        admin_addr: node.admin_addr,
    }
}

/// A member from its wire form.
pub(super) fn node_from_info(info: NodeInfo) -> (NodeId, super::node::Node) {
    (
        info.id,
        super::node::Node::new(info.raft_addr, info.admin_addr),
    )
}
