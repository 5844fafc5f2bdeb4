//! [`CatalogClient`]: the gRPC client of the control plane's catalog services.

use packyard_net::cluster::{
    Addresses, ChannelError, ClusterTls, Member, Members, NodeRole, should_move_on,
};
use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::catalog_watch_client::CatalogWatchClient;
use packyard_proto::catalog::v1::edge_registry_client::EdgeRegistryClient;
use std::future::Future;

use tonic::transport::Channel;
use tonic::{Code, Status, Streaming};

/// A connection to the control plane's members. Cheap to clone; reconnects by itself, and
/// moves to another member when the one in use fails.
#[derive(Debug, Clone)]
pub struct CatalogClient {
    members: Members,
}

impl CatalogClient {
    /// A lazily connected client of the control nodes at `addrs` (each `HOST:PORT`, its
    /// `raft_addr`), over mutual TLS with `tls`.
    pub fn connect(tls: &ClusterTls, addrs: &Addresses) -> Result<Self, ChannelError> {
        Ok(Self {
            members: tls.members(addrs, NodeRole::Control)?,
        })
    }

    /// A client over existing members (shared with the caller's other services).
    pub fn from_members(members: Members) -> Self {
        Self { members }
    }

    /// The members, for the caller's other services on the same node.
    pub fn members(&self) -> &Members {
        &self.members
    }

    /// The watch stream from `from_index` (0: a snapshot first), from the member in use,
    /// which is returned so that the caller can report it when the stream breaks. A member
    /// that cannot open it is reported here.
    pub async fn watch(
        &self,
        from_index: u64,
        watcher_id: &str,
    ) -> Result<(Member, Streaming<pb::WatchEvent>), Status> {
        let member = self.members.current();
        let mut client = CatalogWatchClient::new(member.channel.clone());
        let request = pb::WatchRequest {
            from_index,
            watcher_id: watcher_id.to_owned(),
        };
        match client.watch(request).await {
            Ok(stream) => Ok((member, stream.into_inner())),
            Err(status) => {
                if should_move_on(&status) {
                    self.members.failed(&member, &status);
                }
                Err(status)
            }
        }
    }

    /// Announces an edge (again, after every restart).
    pub async fn register(
        &self,
        request: pb::RegisterEdgeRequest,
    ) -> Result<pb::RegisterEdgeReply, Status> {
        self.registry(request, |mut client, request| async move {
            client.register(request).await
        })
        .await
    }

    /// The tester token secret in force (for an edge told of a rotation).
    pub async fn token_secret(
        &self,
        request: pb::TokenSecretRequest,
    ) -> Result<pb::TokenSecretReply, Status> {
        self.registry(request, |mut client, request| async move {
            client.token_secret(request).await
        })
        .await
    }

    /// An edge's heartbeat.
    pub async fn heartbeat(
        &self,
        request: pb::HeartbeatRequest,
    ) -> Result<pb::HeartbeatReply, Status> {
        self.registry(request, |mut client, request| async move {
            client.heartbeat(request).await
        })
        .await
    }

    /// One edge-registry call on the member in use, moving on as [`Members::call`] does.
    async fn registry<Req, Rep, Fut>(
        &self,
        request: Req,
        call: impl Fn(EdgeRegistryClient<Channel>, Req) -> Fut,
    ) -> Result<Rep, Status>
    where
        Req: Clone,
        Fut: Future<Output = Result<tonic::Response<Rep>, Status>>,
    {
        self.members
            .call(|channel| {
                let reply = call(EdgeRegistryClient::new(channel), request.clone());
                async move { Ok(reply.await?.into_inner()) }
            })
            .await
    }
}

/// How many failures in a row of an `Unavailable` kind are expected while a control plane
/// starts or elects a leader, and logged at INFO; later ones, and any other failure, at WARN.
const QUIET_UNAVAILABLE: u32 = 5;

/// Says that a call to the control plane (`what`) failed and will be retried. A node started
/// beside its control plane hears "no leader right now" a few times before the first
/// election: those are INFO; the same after `QUIET_UNAVAILABLE` tries in a row (about ten
/// seconds of backoff), or any other failure, are WARN, as something is wrong.
pub fn report_retry(what: &str, status: &Status, failures_in_a_row: u32) {
    if status.code() == Code::Unavailable && failures_in_a_row <= QUIET_UNAVAILABLE {
        tracing::info!(error = %status.message(), "{what}; waiting for it and retrying");
    } else {
        tracing::warn!(error = %status, failures_in_a_row, "{what}; retrying");
    }
}

/// Whether a failed call may succeed if tried again later (no leader, node down, network).
pub fn is_transient(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::DeadlineExceeded | Code::ResourceExhausted
    )
}
