//! `packyard.catalog.v1` and `packyard-core`: the watch stream's changes (control plane out;
//! edges and origins in), the origin's reports (origin out; control plane in), and the edge
//! registry (edge out; control plane in).

use std::collections::{BTreeMap, BTreeSet};

use packyard_core::catalog::{
    AppId, AssetType, Channel, Command, CommittedFile, CompletedVersion, EdgeHeartbeat, EdgeId,
    PackId, Refusal, RegisterEdge, RolloutState, ServingChange, Sha256Digest, StateDetail,
    StateDetails, UploadFileId, UploadFileState, VersionContent, VersionMetadata,
    check_registration,
};
use packyard_core::rollout::{ActiveRollout, Regions, Stage};
use packyard_core::upload_credential::UploadKey;
use packyard_core::{
    AssetPackIdentifier, ChunkList, ChunkRef, DownloadPolicy, InstallationEventType, LanguageTag,
    Platform,
};

use super::{Invalid, hash};
use crate::catalog::v1 as pb;

// ---- enums, both ways -------------------------------------------------------------------

impl From<Channel> for pb::Channel {
    fn from(c: Channel) -> Self {
        match c {
            Channel::Internal => Self::Internal,
            Channel::External => Self::External,
            Channel::Store => Self::Store,
        }
    }
}

/// The channel a message names, or `None` when it names none.
pub fn channel(c: pb::Channel) -> Option<Channel> {
    match c {
        pb::Channel::Internal => Some(Channel::Internal),
        pb::Channel::External => Some(Channel::External),
        pb::Channel::Store => Some(Channel::Store),
        pb::Channel::Unspecified => None,
    }
}

impl From<RolloutState> for pb::RolloutState {
    fn from(s: RolloutState) -> Self {
        match s {
            RolloutState::Running => Self::Running,
            RolloutState::Paused => Self::Paused,
            RolloutState::Completed => Self::Completed,
            RolloutState::RolledBack => Self::RolledBack,
        }
    }
}

impl From<AssetType> for pb::AssetType {
    fn from(t: AssetType) -> Self {
        match t {
            AssetType::Asset => Self::Asset,
            AssetType::Manifest => Self::Manifest,
        }
    }
}

/// The upload file type a message names, or `None` when it names none.
pub fn asset_type(t: pb::AssetType) -> Option<AssetType> {
    match t {
        pb::AssetType::Asset => Some(AssetType::Asset),
        pb::AssetType::Manifest => Some(AssetType::Manifest),
        pb::AssetType::Unspecified => None,
    }
}

impl From<UploadFileState> for pb::UploadState {
    fn from(s: UploadFileState) -> Self {
        match s {
            UploadFileState::AwaitingUpload => Self::AwaitingUpload,
            UploadFileState::UploadComplete => Self::UploadComplete,
            UploadFileState::Complete => Self::Complete,
            UploadFileState::Failed => Self::Failed,
        }
    }
}

/// The upload file state a message names, or `None` when it names none.
pub fn upload_state(s: pb::UploadState) -> Option<UploadFileState> {
    match s {
        pb::UploadState::AwaitingUpload => Some(UploadFileState::AwaitingUpload),
        pb::UploadState::UploadComplete => Some(UploadFileState::UploadComplete),
        pb::UploadState::Complete => Some(UploadFileState::Complete),
        pb::UploadState::Failed => Some(UploadFileState::Failed),
        pb::UploadState::Unspecified => None,
    }
}

/// The upload key an `UploadDescription` carries: `None` when it is empty (a file reserved
/// before uploads were signed).
pub fn upload_key(bytes: &[u8]) -> Result<Option<UploadKey>, Invalid> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let key = <[u8; 32]>::try_from(bytes).map_err(|_| {
        Invalid::new(
            "upload_key",
            format!("an upload key has 32 bytes, not {}", bytes.len()),
        )
    })?;
    Ok(Some(UploadKey(key)))
}

// ---- download policy --------------------------------------------------------------------

impl From<&DownloadPolicy> for pb::DownloadPolicy {
    fn from(p: &DownloadPolicy) -> Self {
        use pb::download_policy::Policy;
        let events = |set: &BTreeSet<InstallationEventType>| pb::InstallationEvents {
            events: set
                .iter()
                .map(|e| {
                    let e = match e {
                        InstallationEventType::FirstInstallation => {
                            pb::InstallationEventType::FirstInstallation
                        }
                        InstallationEventType::SubsequentUpdate => {
                            pb::InstallationEventType::SubsequentUpdate
                        }
                    };
                    e.into()
                })
                .collect(),
        };
        let policy = match p {
            DownloadPolicy::Essential {
                installation_event_types,
            } => Policy::Essential(events(installation_event_types)),
            DownloadPolicy::Prefetch {
                installation_event_types,
            } => Policy::Prefetch(events(installation_event_types)),
            DownloadPolicy::OnDemand {} => Policy::OnDemand(pb::OnDemand {}),
        };
        Self {
            policy: Some(policy),
        }
    }
}

/// A download policy sent in `field`: one of the three, essential and prefetch with at least
/// one known installation event (as a packaging manifest must say it).
pub fn download_policy(
    field: &str,
    p: Option<&pb::DownloadPolicy>,
) -> Result<DownloadPolicy, Invalid> {
    use pb::download_policy::Policy;
    let events = |kind: &str, e: &pb::InstallationEvents| {
        let set = e
            .events
            .iter()
            .map(|&n| match pb::InstallationEventType::try_from(n) {
                Ok(pb::InstallationEventType::FirstInstallation) => {
                    Ok(InstallationEventType::FirstInstallation)
                }
                Ok(pb::InstallationEventType::SubsequentUpdate) => {
                    Ok(InstallationEventType::SubsequentUpdate)
                }
                Ok(pb::InstallationEventType::Unspecified) | Err(_) => Err(Invalid::new(
                    format!("{field}.{kind}.events"),
                    format!("{n} is not an installation event type"),
                )),
            })
            .collect::<Result<BTreeSet<_>, Invalid>>()?;
        if set.is_empty() {
            return Err(Invalid::new(
                format!("{field}.{kind}.events"),
                "is empty; an essential or prefetch pack names the events that download it",
            ));
        }
        Ok(set)
    };
    match p.and_then(|p| p.policy.as_ref()) {
        Some(Policy::Essential(e)) => Ok(DownloadPolicy::Essential {
            installation_event_types: events("essential", e)?,
        }),
        Some(Policy::Prefetch(e)) => Ok(DownloadPolicy::Prefetch {
            installation_event_types: events("prefetch", e)?,
        }),
        Some(Policy::OnDemand(_)) => Ok(DownloadPolicy::OnDemand {}),
        None => Err(Invalid::new(
            field,
            "is missing; send essential, prefetch or on_demand",
        )),
    }
}

// ---- versions ---------------------------------------------------------------------------

/// What a version's bytes are, as the contract spells it; the pack's names are left empty
/// (an origin's report names the version by id).
impl From<&VersionContent> for pb::VersionCompleted {
    fn from(c: &VersionContent) -> Self {
        let VersionMetadata {
            download_policy,
            platforms,
            language,
        } = &c.metadata;
        Self {
            size: c.size,
            archive_hash: c.chunk_list.archive_hash().as_bytes().to_vec(),
            chunks: c
                .chunk_list
                .chunks()
                .iter()
                .map(|c| pb::Chunk {
                    id: c.id.as_bytes().to_vec(),
                    length: c.len,
                })
                .collect(),
            download_policy: Some(download_policy.into()),
            platforms: platforms
                .iter()
                .map(|p| p.manifest_name().to_owned())
                .collect(),
            language: language
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            ..Self::default()
        }
    }
}

impl From<&CompletedVersion> for pb::VersionCompleted {
    fn from(v: &CompletedVersion) -> Self {
        let content = VersionContent {
            size: v.size,
            chunk_list: v.chunk_list.clone(),
            metadata: v.metadata.clone(),
        };
        Self {
            app_id: v.app.to_string(),
            pack_id: v.pack.to_string(),
            asset_pack_identifier: v.identifier.to_string(),
            version: v.number,
            ..Self::from(&content)
        }
    }
}

/// What a version's bytes are: its chunks, which add up to its size, and its manifest's
/// metadata, every field checked.
pub fn version_content(v: &pb::VersionCompleted) -> Result<VersionContent, Invalid> {
    let chunks = v
        .chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(ChunkRef {
                id: hash(&format!("chunks[{i}].id"), &c.id)?,
                len: c.length,
            })
        })
        .collect::<Result<Vec<_>, Invalid>>()?;
    let chunk_list = ChunkList::new(hash("archive_hash", &v.archive_hash)?, chunks)
        .map_err(|e| Invalid::new("chunks", e))?;
    if chunk_list.size() != v.size {
        return Err(Invalid::new(
            "size",
            format!(
                "is {}, but the chunks add up to {}",
                v.size,
                chunk_list.size()
            ),
        ));
    }
    let download_policy = download_policy("download_policy", v.download_policy.as_ref())?;
    let platforms = v
        .platforms
        .iter()
        .map(|p| {
            Platform::from_manifest_name(p)
                .ok_or_else(|| Invalid::new("platforms", format!("unknown platform {p:?}")))
        })
        .collect::<Result<BTreeSet<_>, Invalid>>()?;
    let language = match v.language.as_str() {
        "" => None,
        tag => Some(LanguageTag::parse(tag).map_err(|e| Invalid::new("language", e))?),
    };
    Ok(VersionContent {
        size: v.size,
        chunk_list,
        metadata: VersionMetadata {
            download_policy,
            platforms,
            language,
        },
    })
}

/// A completed version as the watch stream announces it, every field checked.
pub fn completed_version(v: &pb::VersionCompleted) -> Result<CompletedVersion, Invalid> {
    let required = |field: &str, s: &str| {
        if s.is_empty() {
            Err(Invalid::new(field, "is empty"))
        } else {
            Ok(())
        }
    };
    required("app_id", &v.app_id)?;
    required("pack_id", &v.pack_id)?;
    if v.version == 0 {
        return Err(Invalid::new("version", "is 0; version numbers start at 1"));
    }
    let identifier = AssetPackIdentifier::parse(&v.asset_pack_identifier)
        .map_err(|e| Invalid::new("asset_pack_identifier", e))?;
    let VersionContent {
        size,
        chunk_list,
        metadata,
    } = version_content(v)?;
    Ok(CompletedVersion {
        app: AppId::from(v.app_id.as_str()),
        pack: PackId::new(v.pack_id.clone()),
        identifier,
        number: v.version,
        size,
        chunk_list,
        metadata,
    })
}

/// The chunk ids of a completed version; malformed ids are skipped (they name no chunk).
pub fn chunk_ids_of(v: &pb::VersionCompleted) -> Vec<packyard_core::Blake3Hash> {
    v.chunks
        .iter()
        .filter_map(|c| hash("chunks.id", &c.id).ok())
        .collect()
}

/// A file committed for processing, every field checked.
pub fn committed_file(f: &pb::CommittedFile) -> Result<CommittedFile, Invalid> {
    let sha256 = <[u8; 32]>::try_from(f.sha256.as_slice()).map_err(|_| {
        Invalid::new(
            "sha256",
            format!("a SHA-256 has 32 bytes, not {}", f.sha256.len()),
        )
    })?;
    Ok(CommittedFile {
        id: UploadFileId::new(f.upload_file_id.clone()),
        asset_type: asset_type(f.asset_type())
            .ok_or_else(|| Invalid::new("asset_type", "is not ASSET or MANIFEST"))?,
        size: f.size,
        sha256: Sha256Digest(sha256),
    })
}

/// What an origin reports about a failed version.
pub fn failure_details(f: &pb::Failure) -> StateDetails {
    StateDetails {
        errors: f
            .errors
            .iter()
            .map(|e| StateDetail {
                code: e.code.clone(),
                description: e.description.clone(),
            })
            .collect(),
        ..StateDetails::default()
    }
}

/// A failed version's details, as the contract spells them.
pub fn failure(upload_file: Option<&UploadFileId>, errors: &[StateDetail]) -> pb::Failure {
    pb::Failure {
        upload_file_id: upload_file.map(ToString::to_string).unwrap_or_default(),
        errors: errors
            .iter()
            .map(|e| pb::StateDetail {
                code: e.code.clone(),
                description: e.description.clone(),
            })
            .collect(),
    }
}

// ---- the watch stream -------------------------------------------------------------------

/// One change, as the contract spells it.
pub fn change(change: &ServingChange) -> pb::change::Change {
    use pb::change::Change as C;
    match change {
        ServingChange::App {
            app,
            primary_language,
        } => C::App(pb::App {
            app_id: app.to_string(),
            primary_language: primary_language.to_string(),
        }),
        ServingChange::VersionCompleted(v) => C::VersionCompleted(v.into()),
        ServingChange::ChannelUpdated {
            app,
            pack,
            channel,
            number,
        } => C::ChannelUpdated(pb::ChannelUpdated {
            app_id: app.to_string(),
            pack_id: pack.to_string(),
            channel: pb::Channel::from(*channel).into(),
            version: number.unwrap_or(0),
        }),
        ServingChange::PackArchived { app, pack } => C::PackArchived(pb::PackArchived {
            app_id: app.to_string(),
            pack_id: pack.to_string(),
        }),
        ServingChange::Rollout {
            app,
            pack,
            rollout,
            from,
            to,
            stages,
            stage,
            state,
        } => C::Rollout(pb::Rollout {
            rollout_id: rollout.to_string(),
            app_id: app.to_string(),
            pack_id: pack.to_string(),
            from_version: from.unwrap_or(0),
            to_version: *to,
            stages: stages
                .iter()
                .map(|s| pb::RolloutStage {
                    regions: s.regions.names(),
                    percent: s.percentage,
                })
                .collect(),
            current_stage: *stage,
            state: pb::RolloutState::from(*state).into(),
        }),
        ServingChange::TokenSecretRotated { generation } => {
            C::TokenSecretRotated(pb::TokenSecretRotated {
                generation: *generation,
            })
        }
        ServingChange::TesterTokenRevoked {
            app,
            token,
            expires_at,
        } => C::TesterTokenRevoked(pb::TesterTokenRevoked {
            app_id: app.to_string(),
            token_id: token.to_string(),
            expires_at: *expires_at,
        }),
        ServingChange::VersionProcessing {
            app,
            version,
            files,
        } => C::VersionProcessing(pb::VersionProcessing {
            app_id: app.to_string(),
            version_id: version.to_string(),
            files: files
                .iter()
                .map(|f| pb::CommittedFile {
                    upload_file_id: f.id.to_string(),
                    asset_type: pb::AssetType::from(f.asset_type).into(),
                    size: f.size,
                    sha256: f.sha256.0.to_vec(),
                })
                .collect(),
        }),
    }
}

/// Everything one log entry changed.
pub fn changes(changes: &[ServingChange]) -> pb::Changes {
    pb::Changes {
        items: changes
            .iter()
            .map(|c| pb::Change {
                change: Some(change(c)),
            })
            .collect(),
    }
}

/// A full snapshot, from the changes that rebuild the serving state from nothing.
pub fn snapshot(changes: &[ServingChange]) -> pb::Snapshot {
    let mut snapshot = pb::Snapshot::default();
    for c in changes {
        match change(c) {
            pb::change::Change::App(a) => snapshot.apps.push(a),
            pb::change::Change::VersionCompleted(v) => snapshot.versions.push(v),
            pb::change::Change::ChannelUpdated(u) => snapshot.channels.push(u),
            pb::change::Change::PackArchived(a) => snapshot.archived_pack_ids.push(a.pack_id),
            pb::change::Change::VersionProcessing(p) => snapshot.processing.push(p),
            pb::change::Change::Rollout(r) => snapshot.rollouts.push(r),
            pb::change::Change::TokenSecretRotated(t) => {
                snapshot.token_secret_generation = t.generation;
            }
            pb::change::Change::TesterTokenRevoked(t) => snapshot.revoked_tester_tokens.push(t),
        }
    }
    snapshot
}

/// A watch-stream rollout, read: still deciding, or over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutUpdate {
    /// Running or paused: kept (replacing the pack's previous one).
    Active(ActiveRollout),
    /// Completed or rolled back: the pack's rollout is forgotten.
    Ended {
        /// The pack.
        pack: String,
    },
}

/// A watch-stream rollout, checked: an active one must name its version, a stage its plan
/// has and shares of 1 to 100 (a server never guesses what a rollout meant).
pub fn rollout(r: &pb::Rollout) -> Result<RolloutUpdate, Invalid> {
    let state = pb::RolloutState::try_from(r.state).unwrap_or(pb::RolloutState::Unspecified);
    match state {
        pb::RolloutState::Running | pb::RolloutState::Paused => {}
        pb::RolloutState::Completed | pb::RolloutState::RolledBack => {
            return Ok(RolloutUpdate::Ended {
                pack: r.pack_id.clone(),
            });
        }
        pb::RolloutState::Unspecified => {
            return Err(Invalid::new("state", "is unspecified or unknown"));
        }
    }
    let stages = r
        .stages
        .iter()
        .map(|s| Stage {
            regions: Regions::from(s.regions.clone()),
            percentage: s.percent,
        })
        .collect();
    let rollout = ActiveRollout::new(
        r.rollout_id.clone(),
        (r.app_id.clone(), r.pack_id.clone()),
        (
            (r.from_version != 0).then_some(r.from_version),
            r.to_version,
        ),
        stages,
        usize::try_from(r.current_stage).unwrap_or(usize::MAX),
    )
    .map_err(|e| {
        let field = match e.field.as_str() {
            "to" => "to_version".to_owned(),
            "stage" => "current_stage".to_owned(),
            other => other.replace("percentage", "percent"),
        };
        Invalid::new(field, e.reason)
    })?;
    Ok(RolloutUpdate::Active(rollout))
}

// ---- the edge registry ------------------------------------------------------------------

/// What an edge registers as, checked as the catalog checks it, so a bad registration is
/// answered without proposing anything.
pub fn register_edge(r: pb::RegisterEdgeRequest) -> Result<Command, Invalid> {
    let id = EdgeId::new(r.edge_id);
    check_registration(&id, &r.region, &r.public_urls, r.cache_capacity_bytes).map_err(
        |refusal| match refusal {
            Refusal::Invalid { field, reason } => Invalid { field, reason },
            other => Invalid::new("edge_id", other),
        },
    )?;
    Ok(Command::RegisterEdge(RegisterEdge {
        id,
        region: r.region,
        public_urls: r.public_urls,
        capacity_bytes: r.cache_capacity_bytes,
    }))
}

/// One version an edge names: a pack id and a number from 1.
fn version_ref(field: &str, v: &pb::VersionRef) -> Result<(PackId, u32), Invalid> {
    if v.pack_id.is_empty() {
        return Err(Invalid::new(format!("{field}.pack_id"), "is empty"));
    }
    if v.version == 0 {
        return Err(Invalid::new(
            format!("{field}.version"),
            "is 0; version numbers start at 1",
        ));
    }
    Ok((PackId::new(v.pack_id.clone()), v.version))
}

/// What an edge reports in a heartbeat.
pub fn edge_heartbeat(h: pb::HeartbeatRequest) -> Result<Command, Invalid> {
    if h.edge_id.is_empty() {
        return Err(Invalid::new(
            "edge_id",
            "is empty; send the id the edge registered with",
        ));
    }
    let ready = h
        .ready
        .iter()
        .enumerate()
        .map(|(i, v)| version_ref(&format!("ready[{i}]"), v))
        .collect::<Result<BTreeSet<_>, Invalid>>()?;
    let mut served = BTreeMap::new();
    let mut requests = BTreeMap::new();
    for (i, s) in h.served.iter().enumerate() {
        let field = format!("served[{i}].version");
        let v = s
            .version
            .as_ref()
            .ok_or_else(|| Invalid::new(field.clone(), "is missing"))?;
        let key = version_ref(&field, v)?;
        requests.insert(key.clone(), s.requests);
        if served.insert(key, s.devices).is_some() {
            return Err(Invalid::new(
                format!("served[{i}]"),
                format!(
                    "repeats version {} of pack {}; send each version once",
                    v.version, v.pack_id
                ),
            ));
        }
    }
    Ok(Command::EdgeHeartbeat(EdgeHeartbeat {
        id: EdgeId::new(h.edge_id),
        applied_index: h.applied_index,
        cached_bytes: h.cached_bytes,
        ready,
        served,
        requests,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(e: &[pb::InstallationEventType]) -> pb::InstallationEvents {
        pb::InstallationEvents {
            events: e.iter().map(|&e| e.into()).collect(),
        }
    }

    #[test]
    fn an_upload_key_is_32_bytes_or_none() {
        assert_eq!(upload_key(&[]), Ok(None));
        assert_eq!(upload_key(&[5; 32]), Ok(Some(UploadKey([5; 32]))));
        let e = upload_key(&[5; 31]).unwrap_err();
        assert!(e.to_string().contains("32 bytes, not 31"), "{e}");
    }

    #[test]
    fn every_download_policy_crosses_the_wire_unchanged() {
        use InstallationEventType as E;
        let policies = [
            DownloadPolicy::OnDemand {},
            DownloadPolicy::Essential {
                installation_event_types: BTreeSet::from([E::FirstInstallation]),
            },
            DownloadPolicy::Prefetch {
                installation_event_types: BTreeSet::from([
                    E::FirstInstallation,
                    E::SubsequentUpdate,
                ]),
            },
        ];
        for p in policies {
            let wire = pb::DownloadPolicy::from(&p);
            assert_eq!(download_policy("download_policy", Some(&wire)), Ok(p));
        }
    }

    #[test]
    fn a_download_policy_without_events_or_with_unknown_ones_is_refused_naming_the_field() {
        use pb::download_policy::Policy;
        let empty = pb::DownloadPolicy {
            policy: Some(Policy::Prefetch(events(&[]))),
        };
        let err = download_policy("download_policy", Some(&empty)).unwrap_err();
        assert_eq!(err.field, "download_policy.prefetch.events");
        let unknown = pb::DownloadPolicy {
            policy: Some(Policy::Essential(pb::InstallationEvents {
                events: vec![7],
            })),
        };
        let err = download_policy("download_policy", Some(&unknown)).unwrap_err();
        assert_eq!(err.field, "download_policy.essential.events");
        assert!(err.reason.contains('7'), "{err}");
        let missing = download_policy("download_policy", None).unwrap_err();
        assert_eq!(missing.field, "download_policy");
    }

    fn completed() -> CompletedVersion {
        let chunks = vec![
            ChunkRef {
                id: packyard_core::Blake3Hash::from_bytes([1; 32]),
                len: 10,
            },
            ChunkRef {
                id: packyard_core::Blake3Hash::from_bytes([2; 32]),
                len: 5,
            },
        ];
        CompletedVersion {
            app: AppId::from("app-1"),
            pack: PackId::new("pack-1"),
            identifier: AssetPackIdentifier::parse("level-1").unwrap(),
            number: 3,
            size: 15,
            chunk_list: ChunkList::new(packyard_core::Blake3Hash::from_bytes([9; 32]), chunks)
                .unwrap(),
            metadata: VersionMetadata {
                download_policy: DownloadPolicy::OnDemand {},
                platforms: BTreeSet::from([Platform::Ios]),
                language: Some(LanguageTag::parse("fr-CA").unwrap()),
            },
        }
    }

    #[test]
    fn a_completed_version_crosses_the_wire_unchanged() {
        let v = completed();
        let wire = pb::VersionCompleted::from(&v);
        assert_eq!(completed_version(&wire), Ok(v));
    }

    #[test]
    fn a_completed_version_whose_size_is_not_its_chunks_is_refused() {
        let mut wire = pb::VersionCompleted::from(&completed());
        wire.size = 16;
        let err = completed_version(&wire).unwrap_err();
        assert_eq!(err.field, "size");
        let mut wire = pb::VersionCompleted::from(&completed());
        wire.chunks[1].id.pop();
        assert_eq!(completed_version(&wire).unwrap_err().field, "chunks[1].id");
        let mut wire = pb::VersionCompleted::from(&completed());
        wire.version = 0;
        assert_eq!(completed_version(&wire).unwrap_err().field, "version");
    }

    fn wire_rollout(state: pb::RolloutState) -> pb::Rollout {
        pb::Rollout {
            rollout_id: "r1".into(),
            app_id: "app".into(),
            pack_id: "pack".into(),
            from_version: 1,
            to_version: 2,
            stages: vec![
                pb::RolloutStage {
                    regions: vec!["eu".into()],
                    percent: 10,
                },
                pb::RolloutStage {
                    regions: vec!["*".into()],
                    percent: 100,
                },
            ],
            current_stage: 1,
            state: state.into(),
        }
    }

    #[test]
    fn a_rollout_crosses_the_wire_checked_and_an_ended_one_is_forgotten() {
        let RolloutUpdate::Active(active) =
            rollout(&wire_rollout(pb::RolloutState::Paused)).unwrap()
        else {
            panic!("a paused rollout is active");
        };
        assert_eq!((active.from, active.to), (Some(1), 2));
        assert_eq!(active.current().percentage, 100);
        assert_eq!(
            rollout(&wire_rollout(pb::RolloutState::RolledBack)).unwrap(),
            RolloutUpdate::Ended {
                pack: "pack".into()
            }
        );
        let mut beyond = wire_rollout(pb::RolloutState::Running);
        beyond.current_stage = 2;
        assert_eq!(rollout(&beyond).unwrap_err().field, "current_stage");
        let mut too_much = wire_rollout(pb::RolloutState::Running);
        too_much.stages[0].percent = 150;
        let e = rollout(&too_much).unwrap_err();
        assert_eq!(e.field, "stages[0].percent", "{e}");
        let mut unknown = wire_rollout(pb::RolloutState::Running);
        unknown.state = 99;
        assert_eq!(rollout(&unknown).unwrap_err().field, "state");
    }
}
