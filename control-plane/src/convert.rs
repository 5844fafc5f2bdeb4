//! Conversions between the catalog's types and `packyard.catalog.v1`, both ways: the one
//! place where the domain meets the contract. Outbound (watch stream) conversions cannot fail;
//! inbound ones (origin reports, edge registrations and heartbeats) check every field and
//! name the one that is wrong.

use std::collections::{BTreeMap, BTreeSet};

use packyard_core::catalog::{
    AssetType, Channel, Command, EdgeHeartbeat, EdgeId, PackId, Refusal, RegisterEdge,
    RolloutState, ServingChange, StateDetail, StateDetails, UploadFileState, VersionMetadata,
    check_registration,
};
use packyard_core::{Blake3Hash, ChunkList, ChunkRef, DownloadPolicy, LanguageTag, Platform};
use packyard_proto::catalog::v1 as pb;

/// The channel as the contract spells it.
fn channel(c: Channel) -> pb::Channel {
    match c {
        Channel::Internal => pb::Channel::Internal,
        Channel::External => pb::Channel::External,
        Channel::Store => pb::Channel::Store,
    }
}

fn version_completed(change: &ServingChange) -> Option<pb::VersionCompleted> {
    let ServingChange::VersionCompleted {
        app,
        pack,
        identifier,
        number,
        size,
        chunk_list,
        metadata,
    } = change
    else {
        return None;
    };
    let VersionMetadata {
        download_policy,
        platforms,
        language,
    } = metadata;
    Some(pb::VersionCompleted {
        app_id: app.to_string(),
        pack_id: pack.to_string(),
        asset_pack_identifier: identifier.to_string(),
        version: *number,
        size: *size,
        archive_hash: chunk_list.archive_hash().as_bytes().to_vec(),
        chunks: chunk_list
            .chunks()
            .iter()
            .map(|c| pb::Chunk {
                id: c.id.as_bytes().to_vec(),
                length: c.len,
            })
            .collect(),
        // A download policy always serializes: it is an enum of plain sets.
        download_policy_json: serde_json::to_string(download_policy).unwrap_or_default(),
        platforms: platforms
            .iter()
            .map(|p| p.manifest_name().to_owned())
            .collect(),
        language: language
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    })
}

/// One change, as the contract spells it.
pub(crate) fn change(change: &ServingChange) -> pb::change::Change {
    use pb::change::Change as C;
    match change {
        ServingChange::App {
            app,
            primary_language,
        } => C::App(pb::App {
            app_id: app.to_string(),
            primary_language: primary_language.to_string(),
        }),
        ServingChange::VersionCompleted { .. } => {
            C::VersionCompleted(version_completed(change).unwrap_or_default())
        }
        ServingChange::ChannelUpdated {
            app,
            pack,
            channel: c,
            number,
        } => C::ChannelUpdated(pb::ChannelUpdated {
            app_id: app.to_string(),
            pack_id: pack.to_string(),
            channel: channel(*c).into(),
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
            state: rollout_state(*state).into(),
        }),
        ServingChange::TokenSecretRotated { generation } => {
            C::TokenSecretRotated(pb::TokenSecretRotated {
                generation: *generation,
            })
        }
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
                    asset_type: asset_type(f.asset_type).into(),
                    size: f.size,
                    sha256: f.sha256.0.to_vec(),
                })
                .collect(),
        }),
    }
}

/// A rollout's state, as the contract spells it.
fn rollout_state(s: RolloutState) -> pb::RolloutState {
    match s {
        RolloutState::Running => pb::RolloutState::Running,
        RolloutState::Paused => pb::RolloutState::Paused,
        RolloutState::Completed => pb::RolloutState::Completed,
        RolloutState::RolledBack => pb::RolloutState::RolledBack,
    }
}

/// An upload file's type, as the contract spells it.
pub(crate) fn asset_type(t: AssetType) -> pb::AssetType {
    match t {
        AssetType::Asset => pb::AssetType::Asset,
        AssetType::Manifest => pb::AssetType::Manifest,
    }
}

/// An upload file's state, as the contract spells it.
pub(crate) fn upload_state(s: UploadFileState) -> pb::UploadState {
    match s {
        UploadFileState::AwaitingUpload => pb::UploadState::AwaitingUpload,
        UploadFileState::UploadComplete => pb::UploadState::UploadComplete,
        UploadFileState::Complete => pb::UploadState::Complete,
        UploadFileState::Failed => pb::UploadState::Failed,
    }
}

/// Everything one log entry changed.
pub(crate) fn changes(changes: &[ServingChange]) -> pb::Changes {
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
pub(crate) fn snapshot(changes: &[ServingChange]) -> pb::Snapshot {
    let mut snapshot = pb::Snapshot::default();
    for c in changes {
        match self::change(c) {
            pb::change::Change::App(a) => snapshot.apps.push(a),
            pb::change::Change::VersionCompleted(v) => snapshot.versions.push(v),
            pb::change::Change::ChannelUpdated(u) => snapshot.channels.push(u),
            pb::change::Change::PackArchived(a) => snapshot.archived_pack_ids.push(a.pack_id),
            pb::change::Change::VersionProcessing(p) => snapshot.processing.push(p),
            pb::change::Change::Rollout(r) => snapshot.rollouts.push(r),
            pb::change::Change::TokenSecretRotated(t) => {
                snapshot.token_secret_generation = t.generation;
            }
        }
    }
    snapshot
}

/// Why an inbound message cannot become a domain value, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub(crate) struct Invalid {
    /// The message field, as the contract spells it (`ready[2].version` for an element).
    pub(crate) field: String,
    /// What is wrong with it.
    pub(crate) reason: String,
}

fn invalid(field: impl Into<String>, reason: impl std::fmt::Display) -> Invalid {
    Invalid {
        field: field.into(),
        reason: reason.to_string(),
    }
}

fn hash(field: &'static str, bytes: &[u8]) -> Result<Blake3Hash, Invalid> {
    let raw: [u8; 32] = bytes.try_into().map_err(|_| {
        invalid(
            field,
            format!("a BLAKE3 hash has 32 bytes, not {}", bytes.len()),
        )
    })?;
    Ok(Blake3Hash::from_bytes(raw))
}

/// What an origin reports about a completed version: its size, chunks and metadata.
pub(crate) fn completed_version(
    v: &pb::VersionCompleted,
) -> Result<(u64, ChunkList, VersionMetadata), Invalid> {
    let chunks = v
        .chunks
        .iter()
        .map(|c| {
            Ok(ChunkRef {
                id: hash("chunks.id", &c.id)?,
                len: c.length,
            })
        })
        .collect::<Result<Vec<_>, Invalid>>()?;
    let chunk_list = ChunkList::new(hash("archive_hash", &v.archive_hash)?, chunks)
        .map_err(|e| invalid("chunks", e))?;
    let download_policy: DownloadPolicy = serde_json::from_str(&v.download_policy_json)
        .map_err(|e| invalid("download_policy_json", e))?;
    let platforms = v
        .platforms
        .iter()
        .map(|p| {
            Platform::from_manifest_name(p)
                .ok_or_else(|| invalid("platforms", format!("unknown platform {p:?}")))
        })
        .collect::<Result<BTreeSet<_>, Invalid>>()?;
    let language = match v.language.as_str() {
        "" => None,
        tag => Some(LanguageTag::parse(tag).map_err(|e| invalid("language", e))?),
    };
    Ok((
        v.size,
        chunk_list,
        VersionMetadata {
            download_policy,
            platforms,
            language,
        },
    ))
}

/// What an origin reports about a failed version.
pub(crate) fn failure_details(f: &pb::Failure) -> StateDetails {
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

/// What an edge registers as, checked as the catalog checks it, so a bad registration is
/// answered without proposing anything.
pub(crate) fn register_edge(r: pb::RegisterEdgeRequest) -> Result<Command, Invalid> {
    let id = EdgeId::new(r.edge_id);
    check_registration(&id, &r.region, &r.public_urls, r.cache_capacity_bytes).map_err(
        |refusal| match refusal {
            Refusal::Invalid { field, reason } => Invalid { field, reason },
            other => invalid("edge_id", other),
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
        return Err(invalid(format!("{field}.pack_id"), "is empty"));
    }
    if v.version == 0 {
        return Err(invalid(
            format!("{field}.version"),
            "is 0; version numbers start at 1",
        ));
    }
    Ok((PackId::new(v.pack_id.clone()), v.version))
}

/// What an edge reports in a heartbeat.
pub(crate) fn edge_heartbeat(h: pb::HeartbeatRequest) -> Result<Command, Invalid> {
    if h.edge_id.is_empty() {
        return Err(invalid(
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
            .ok_or_else(|| invalid(field.clone(), "is missing"))?;
        let key = version_ref(&field, v)?;
        requests.insert(key.clone(), s.requests);
        if served.insert(key, s.devices).is_some() {
            return Err(invalid(
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
