//! [`ControlPlane`]: the origin's gRPC client of the control plane, and its messages as the
//! origin's types (field conversions in `packyard_proto::convert::catalog`).

use packyard_core::Blake3Hash;
use packyard_core::catalog::{
    AssetType, CommittedFile, StateDetail, UploadFileId, UploadFileState, VersionContent, VersionId,
};
use packyard_core::upload_credential::UploadKey;
use packyard_net::cluster::{Addresses, ChannelError, ClusterTls, Members, NodeRole};
use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::origin_coordinator_client::OriginCoordinatorClient;
use packyard_proto::convert::catalog as convert;
use tonic::{Code, Status};

use crate::staging::PartLayout;

/// What the control plane says about an upload file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadInfo {
    /// The version the file belongs to.
    pub version: VersionId,
    /// The pack of that version.
    pub pack: String,
    /// How the file is cut into parts.
    pub layout: PartLayout,
    /// What the file holds.
    pub asset_type: AssetType,
    /// Whether it still takes parts (`AwaitingUpload`) or is committed.
    pub state: UploadFileState,
    /// The key its upload URLs are signed with; `None` for a file reserved before uploads
    /// were signed, which takes no parts.
    pub key: Option<UploadKey>,
}

/// A version whose files are all committed, awaiting processing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessingVersion {
    /// The version.
    pub version: VersionId,
    /// Its committed files.
    pub files: Vec<CommittedFile>,
}

/// What processing a version came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every chunk is stored; the version may be served.
    Completed(VersionContent),
    /// The version cannot be served.
    Failed(Failure),
}

/// Why a version cannot be served, in words the uploader can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The upload file at fault, if one is.
    pub upload_file: Option<UploadFileId>,
    /// Why.
    pub errors: Vec<StateDetail>,
}

/// A connection to the control plane's members. Cheap to clone; reconnects by itself, and
/// moves to another member when the one in use fails.
#[derive(Debug, Clone)]
pub struct ControlPlane {
    members: Members,
}

impl ControlPlane {
    /// A lazily connected client of the control nodes at `addrs` (each `HOST:PORT`, its
    /// `raft_addr`), over mutual TLS with `tls`.
    pub fn connect(tls: &ClusterTls, addrs: &Addresses) -> Result<Self, ChannelError> {
        Ok(Self {
            members: tls.members(addrs, NodeRole::Control)?,
        })
    }

    /// Describes upload file `id`; `None` when the control plane knows no such file.
    pub async fn describe_upload(&self, id: &str) -> Result<Option<UploadInfo>, Status> {
        let request = pb::DescribeUploadRequest {
            upload_file_id: id.to_owned(),
        };
        let described = self
            .members
            .call(|channel| {
                let request = request.clone();
                async move {
                    let mut client = OriginCoordinatorClient::new(channel);
                    Ok(client.describe_upload(request).await?.into_inner())
                }
            })
            .await;
        match described {
            Ok(reply) => upload_info(reply).map(Some),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(status),
        }
    }

    /// Reports the outcome of processing `version`.
    pub async fn report(&self, version: &VersionId, outcome: &Outcome) -> Result<(), Status> {
        let request = report(version, outcome);
        self.members
            .call(|channel| {
                let request = request.clone();
                async move {
                    let mut client = OriginCoordinatorClient::new(channel);
                    client.report_processed(request).await?;
                    Ok(())
                }
            })
            .await
    }

    /// Takes or renews lease `name` for this origin for `ttl`. `Ok(Err(why))` when another
    /// origin holds it: `why` names that origin and until when.
    pub async fn acquire_lease(
        &self,
        name: &str,
        ttl: std::time::Duration,
    ) -> Result<Result<(), String>, Status> {
        let request = pb::LeaseRequest {
            name: name.to_owned(),
            ttl_ms: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
        };
        let taken = self
            .members
            .call(|channel| {
                let request = request.clone();
                async move {
                    let mut client = OriginCoordinatorClient::new(channel);
                    client.acquire_lease(request).await?;
                    Ok(())
                }
            })
            .await;
        match taken {
            Ok(()) => Ok(Ok(())),
            Err(s) if s.code() == Code::AlreadyExists => Ok(Err(s.message().to_owned())),
            Err(s) => Err(s),
        }
    }

    /// Lets this origin's lease `name` go.
    pub async fn release_lease(&self, name: &str) -> Result<(), Status> {
        let request = pb::LeaseRequest {
            name: name.to_owned(),
            ttl_ms: 0,
        };
        self.members
            .call(|channel| {
                let request = request.clone();
                async move {
                    let mut client = OriginCoordinatorClient::new(channel);
                    client.release_lease(request).await?;
                    Ok(())
                }
            })
            .await
    }

    /// The control plane's members, shared with the watch-stream follower.
    pub fn members(&self) -> &Members {
        &self.members
    }
}

fn upload_info(d: pb::UploadDescription) -> Result<UploadInfo, Status> {
    let state = convert::upload_state(d.state())
        .ok_or_else(|| Status::internal("the control plane sent no upload state"))?;
    let asset_type = convert::asset_type(d.asset_type())
        .ok_or_else(|| Status::internal("the control plane sent no asset type"))?;
    let key = convert::upload_key(&d.upload_key).map_err(|e| Status::internal(e.to_string()))?;
    Ok(UploadInfo {
        version: VersionId::new(d.version_id),
        pack: d.pack_id,
        layout: PartLayout::new(d.file_size, d.part_bytes),
        asset_type,
        state,
        key,
    })
}

/// A `VersionProcessing` change (or snapshot entry) as the origin's type. Files with an
/// unknown type or a malformed checksum are kept out; processing then finds the version
/// incomplete and says so.
pub(crate) fn processing_version(p: &pb::VersionProcessing) -> ProcessingVersion {
    let files = p
        .files
        .iter()
        .filter_map(|f| convert::committed_file(f).ok())
        .collect();
    ProcessingVersion {
        version: VersionId::new(p.version_id.clone()),
        files,
    }
}

/// The chunk ids of a completed version; malformed ids are skipped (they name no chunk).
pub(crate) fn chunk_ids(v: &pb::VersionCompleted) -> Vec<Blake3Hash> {
    convert::chunk_ids_of(v)
}

fn report(version: &VersionId, outcome: &Outcome) -> pb::ProcessedReport {
    use pb::processed_report::Outcome as O;
    let outcome = match outcome {
        Outcome::Completed(content) => O::Completed(content.into()),
        Outcome::Failed(Failure {
            upload_file,
            errors,
        }) => O::Failed(convert::failure(upload_file.as_ref(), errors)),
    };
    pb::ProcessedReport {
        version_id: version.to_string(),
        outcome: Some(outcome),
    }
}

pub(crate) use packyard_catalog_client::is_transient;
