//! [`EdgeRegistryService`]: the `EdgeRegistry` gRPC service edges register and heartbeat
//! through.
//!
//! Only edges reach it (mutual TLS, [`require`]), and each only as itself: the id in the
//! request must be the id in the edge's certificate. That is what lets a registration's reply
//! carry the cluster's tester token secret. Both calls are written to the catalog as
//! Packyard itself (`Actor::System`), through Raft: a heartbeat every third of the lease per
//! edge is a modest stream of small log entries, and it lets every node show the same fleet.

use std::sync::Arc;

use packyard_core::catalog::{Command, Refusal, RefusalKind};
use packyard_net::cluster::{NodeRole, RequireRole, caller, require};
use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::edge_registry_server::{EdgeRegistry, EdgeRegistryServer};
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status};

use crate::clock::Clock;
use crate::store::{CatalogStore, StoreError};
use crate::watch::ChangeFeed;
use packyard_proto::convert::catalog as convert;

/// Registers edges and records their heartbeats in the catalog.
#[derive(Debug, Clone)]
pub struct EdgeRegistryService<S> {
    store: S,
    feed: Arc<ChangeFeed>,
    lease_ms: u32,
    clock: Clock,
}

impl<S: CatalogStore + Clone> EdgeRegistryService<S> {
    /// A service writing through `store`; `feed` is the node's watch feed, whose last index
    /// a registering edge is told; edges are up while they heartbeat within `lease_ms`.
    pub fn new(store: S, feed: Arc<ChangeFeed>, lease_ms: u32) -> Self {
        Self {
            store,
            feed,
            lease_ms,
            clock: Clock::System,
        }
    }

    /// The service stamping registrations and heartbeats by `clock` (the system clock unless
    /// told).
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    /// The tonic server for this service, for edges only.
    pub fn into_server(self) -> InterceptedService<EdgeRegistryServer<Self>, RequireRole> {
        InterceptedService::new(
            EdgeRegistryServer::new(self),
            require("EdgeRegistry", &[NodeRole::Edge]),
        )
    }

    /// The public keys tester tokens are checked with, and the generation of the one that
    /// signs now. The signing key itself never leaves the control plane.
    async fn secret(&self) -> Result<(Vec<u8>, u64), Status> {
        self.store
            .read(|c| {
                c.tester_token_verifier()
                    .map(|v| (v.to_bytes(), c.tester_token_generation()))
            })
            .await
            .map_err(unavailable)?
            // Bootstrap sets it as soon as the cluster has a leader.
            .ok_or_else(|| {
                Status::unavailable("the cluster has no tester token key yet; retry shortly")
            })
    }

    /// Writes `command` as Packyard itself; a refusal becomes the status that fits its kind.
    async fn write(&self, command: Command) -> Result<(), Status> {
        let written = self
            .store
            .write_as_system_within(self.clock.now(), command)
            .await;
        match written.map_err(unavailable)? {
            Ok(_) => Ok(()),
            Err(refusal) => Err(refused(&refusal)),
        }
    }
}

/// Refuses a call for an edge other than the one the caller's certificate names.
fn as_itself<T>(request: &Request<T>, edge_id: &str) -> Result<(), Status> {
    let caller = caller(request)
        .ok_or_else(|| Status::unauthenticated("EdgeRegistry takes calls from edges only"))?;
    if caller.id != edge_id {
        return Err(Status::permission_denied(format!(
            "this certificate is for edge {:?}; it cannot speak for edge {edge_id:?}",
            caller.id
        )));
    }
    Ok(())
}

fn unavailable(e: StoreError) -> Status {
    Status::unavailable(e.to_string())
}

/// The gRPC status of a catalog refusal. An unknown edge is told what to do about it.
fn refused(refusal: &Refusal) -> Status {
    let message = refusal.to_string();
    match refusal.kind() {
        RefusalKind::Invalid => Status::invalid_argument(message),
        RefusalKind::NotFound => Status::not_found(format!(
            "{message}; the edge must call EdgeRegistry.Register before it sends heartbeats"
        )),
        RefusalKind::Forbidden => Status::permission_denied(message),
        RefusalKind::Unauthenticated => Status::unauthenticated(message),
        RefusalKind::Conflict => Status::failed_precondition(message),
    }
}

#[tonic::async_trait]
impl<S: CatalogStore + Clone> EdgeRegistry for EdgeRegistryService<S> {
    async fn register(
        &self,
        request: Request<pb::RegisterEdgeRequest>,
    ) -> Result<Response<pb::RegisterEdgeReply>, Status> {
        as_itself(&request, &request.get_ref().edge_id)?;
        let command = convert::register_edge(request.into_inner())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        self.write(command).await?;
        let (secret, generation) = self.secret().await?;
        Ok(Response::new(pb::RegisterEdgeReply {
            lease_ms: self.lease_ms,
            catalog_index: self.feed.last_index(),
            tester_token_keys: secret,
            tester_token_generation: generation,
        }))
    }

    async fn token_secret(
        &self,
        request: Request<pb::TokenSecretRequest>,
    ) -> Result<Response<pb::TokenSecretReply>, Status> {
        as_itself(&request, &request.get_ref().edge_id)?;
        let (secret, generation) = self.secret().await?;
        Ok(Response::new(pb::TokenSecretReply {
            tester_token_keys: secret,
            tester_token_generation: generation,
        }))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatReply>, Status> {
        as_itself(&request, &request.get_ref().edge_id)?;
        let command = convert::edge_heartbeat(request.into_inner())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        self.write(command).await?;
        Ok(Response::new(pb::HeartbeatReply {
            lease_ms: self.lease_ms,
        }))
    }
}
