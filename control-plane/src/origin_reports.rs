//! [`OriginReports`]: the `OriginCoordinator` gRPC service through which origins report the
//! outcome of processing an uploaded version.
//!
//! Origins and control-plane nodes share a private network; this service is not exposed to
//! devices or users, and it carries no user credentials: reports are applied as Packyard
//! itself (`Actor::System`), which the catalog allows only for these commands. The
//! description of an upload file carries the key its upload URLs are signed with, so only
//! origins (the one role this service admits) ever learn it.

use packyard_core::catalog::{
    AcquireLease, Command, ProcessingFailed, ProcessingSucceeded, Refusal, RefusalKind,
    ReleaseLease, UploadFileId, VersionId,
};
use packyard_net::cluster::caller;
use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::origin_coordinator_server::{
    OriginCoordinator, OriginCoordinatorServer,
};
use packyard_proto::catalog::v1::processed_report::Outcome;
use tonic::{Request, Response, Status};

use crate::clock::Clock;
use crate::store::{CatalogStore, StoreError};
use packyard_proto::convert::catalog as convert;

/// Applies origins' processing reports to the catalog, and describes upload files to them.
#[derive(Debug, Clone)]
pub struct OriginReports<S> {
    store: S,
    part_bytes: u64,
    clock: Clock,
}

impl<S: CatalogStore + Clone> OriginReports<S> {
    /// A service writing through `store`; upload files are cut into parts of `part_bytes`,
    /// as the admin API's upload operations cut them.
    pub fn new(store: S, part_bytes: u64) -> Self {
        Self {
            store,
            part_bytes,
            clock: Clock::System,
        }
    }

    /// The service stamping reports by `clock` (the system clock unless told).
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    /// The tonic server for this service, for origins only.
    pub fn into_server(
        self,
    ) -> tonic::service::interceptor::InterceptedService<
        OriginCoordinatorServer<Self>,
        packyard_net::cluster::RequireRole,
    > {
        use packyard_net::cluster::{NodeRole, require};
        tonic::service::interceptor::InterceptedService::new(
            OriginCoordinatorServer::new(self),
            require("OriginCoordinator", &[NodeRole::Origin]),
        )
    }
}

/// A refusal is the catalog's answer to a report that does not fit the version's state (for
/// example a second success for a COMPLETE version, rule R12).
fn refused(refusal: &Refusal) -> Status {
    Status::failed_precondition(refusal.to_string())
}

/// The lease holder a call speaks for: the origin its certificate names, never one it says.
fn holder<T>(request: &Request<T>) -> Result<String, Status> {
    let caller = caller(request)
        .ok_or_else(|| Status::unauthenticated("leases are taken by origins only"))?;
    Ok(format!("origin:{}", caller.id))
}

fn unavailable(e: StoreError) -> Status {
    Status::unavailable(e.to_string())
}

#[tonic::async_trait]
impl<S: CatalogStore + Clone> OriginCoordinator for OriginReports<S> {
    async fn report_processed(
        &self,
        request: Request<pb::ProcessedReport>,
    ) -> Result<Response<pb::ProcessedAck>, Status> {
        let report = request.into_inner();
        if report.version_id.is_empty() {
            return Err(Status::invalid_argument("version_id: is required"));
        }
        let version = VersionId::new(report.version_id);
        let command = match report.outcome {
            Some(Outcome::Completed(v)) => {
                let packyard_core::catalog::VersionContent {
                    size,
                    chunk_list,
                    metadata,
                } = convert::version_content(&v)
                    .map_err(|e| Status::invalid_argument(e.to_string()))?;
                Command::ProcessingSucceeded(ProcessingSucceeded {
                    version,
                    size,
                    chunk_list,
                    metadata,
                })
            }
            Some(Outcome::Failed(f)) => Command::ProcessingFailed(ProcessingFailed {
                version,
                upload_file: (!f.upload_file_id.is_empty())
                    .then(|| UploadFileId::new(f.upload_file_id.clone())),
                details: convert::failure_details(&f),
            }),
            None => {
                return Err(Status::invalid_argument(
                    "outcome: completed or failed is required",
                ));
            }
        };
        let written = self
            .store
            .write_as_system_within(self.clock.now(), command)
            .await;
        match written.map_err(unavailable)? {
            Ok(_) => Ok(Response::new(pb::ProcessedAck {})),
            Err(refusal) => Err(refused(&refusal)),
        }
    }

    async fn acquire_lease(
        &self,
        request: Request<pb::LeaseRequest>,
    ) -> Result<Response<pb::LeaseReply>, Status> {
        let holder = holder(&request)?;
        let pb::LeaseRequest { name, ttl_ms } = request.into_inner();
        let now = self.clock.now();
        let command = Command::AcquireLease(AcquireLease {
            name: name.clone(),
            holder: holder.clone(),
            ttl_ms,
        });
        let written = self.store.write_as_system_within(now, command).await;
        match written.map_err(unavailable)? {
            Ok(_) => Ok(Response::new(pb::LeaseReply {
                holder,
                until_ms: now.0.saturating_add(ttl_ms),
            })),
            Err(refusal) if refusal.kind() == RefusalKind::Conflict => {
                Err(Status::already_exists(refusal.to_string()))
            }
            Err(refusal) if refusal.kind() == RefusalKind::Invalid => {
                Err(Status::invalid_argument(refusal.to_string()))
            }
            Err(refusal) => Err(refused(&refusal)),
        }
    }

    async fn release_lease(
        &self,
        request: Request<pb::LeaseRequest>,
    ) -> Result<Response<pb::LeaseReply>, Status> {
        let holder = holder(&request)?;
        let name = request.into_inner().name;
        let command = Command::ReleaseLease(ReleaseLease {
            name,
            holder: holder.clone(),
        });
        let written = self
            .store
            .write_as_system_within(self.clock.now(), command)
            .await;
        match written.map_err(unavailable)? {
            Ok(_) => Ok(Response::new(pb::LeaseReply {
                holder,
                until_ms: 0,
            })),
            Err(refusal) => Err(Status::invalid_argument(refusal.to_string())),
        }
    }

    async fn describe_upload(
        &self,
        request: Request<pb::DescribeUploadRequest>,
    ) -> Result<Response<pb::UploadDescription>, Status> {
        let id = UploadFileId::new(request.into_inner().upload_file_id);
        let wanted = id.clone();
        let (file, pack) = self
            .store
            .read(move |c| {
                let file = c.upload_file(&wanted).cloned()?;
                let pack = c.version(&file.version).map(|v| v.pack.to_string());
                Some((file, pack))
            })
            .await
            .map_err(unavailable)?
            .ok_or_else(|| Status::not_found(format!("no upload file {id}")))?;
        Ok(Response::new(pb::UploadDescription {
            version_id: file.version.to_string(),
            file_size: file.file_size,
            part_bytes: self.part_bytes,
            asset_type: pb::AssetType::from(file.asset_type).into(),
            state: pb::UploadState::from(file.state).into(),
            // Empty for a file reserved before uploads were signed: the origin refuses its parts.
            upload_key: file.key.map_or_else(Vec::new, |k| k.0.to_vec()),
            pack_id: pack.unwrap_or_default(),
        }))
    }
}
