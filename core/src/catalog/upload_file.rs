//! [`UploadFile`]: a file reserved for a version, uploaded in parts, then committed with its
//! SHA-256; and the commands that reserve and commit it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::command::{CommitUploadFile, ExpireUploadFile, ProcessingFailed, ReserveUploadFile};
use super::event::{Event, EventType};
use super::ids::{UploadFileId, VersionId};
use super::refusal::{Refusal, Rule};
use super::resource::ResourceType;
use super::version::VersionState;
use super::{Catalog, Ctx};
use crate::role::Action;
use crate::upload_credential::UploadKey;

/// The largest `MANIFEST` file a version may reserve: the largest packaging manifest
/// Packyard reads ([`crate::manifest::MAX_MANIFEST_BYTES`], 1 MiB), so no byte is stored
/// that processing would refuse to read.
pub const MAX_MANIFEST_FILE_BYTES: u64 = crate::manifest::MAX_MANIFEST_BYTES as u64;

state_enum! {
    /// An upload file's state.
    UploadFileState {
        /// Reserved; parts are being uploaded.
        AwaitingUpload = "AWAITING_UPLOAD",
        /// Committed with its checksum; waiting for processing.
        UploadComplete = "UPLOAD_COMPLETE",
        /// Processed into a COMPLETE version.
        Complete = "COMPLETE",
        /// Rejected by processing (for example a checksum mismatch); `failure` says why.
        Failed = "FAILED",
    }
}

impl UploadFileState {
    /// Whether a file in this state takes parts: only while it awaits upload. Once it is
    /// committed its bytes are fixed (its checksum names them), whoever asks.
    pub fn takes_parts(self) -> bool {
        self == Self::AwaitingUpload
    }

    /// Whether the staged parts of a file in this state will be read again: until
    /// processing has used or refused them. Parts of any other file may be removed.
    pub fn keeps_parts(self) -> bool {
        matches!(self, Self::AwaitingUpload | Self::UploadComplete)
    }
}

state_enum! {
    /// What an upload file holds (`assetType` in the admin API).
    AssetType {
        /// The archive itself.
        Asset = "ASSET",
        /// The packaging manifest JSON, for archives that do not carry it inside.
        Manifest = "MANIFEST",
    }
}

/// A SHA-256 digest, written as 64 lower-case hex digits (`sourceFileChecksums`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// Parses 64 hex digits (either case).
    pub fn parse_hex(s: &str) -> Result<Self, Refusal> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| {
            Refusal::invalid(
                "sourceFileChecksums.file.hash",
                format!("{s:?} is not a SHA-256 checksum: expected 64 hex digits"),
            )
        })?;
        Ok(Self(out))
    }

    /// The 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({})", self.to_hex())
    }
}

impl Serialize for Sha256Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Sha256Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// A file of a version (`backgroundAssetUploadFiles`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadFile {
    /// Its id.
    pub id: UploadFileId,
    /// Its version.
    pub version: VersionId,
    /// The name its uploader gave.
    pub file_name: String,
    /// Its declared size in bytes.
    pub file_size: u64,
    /// What it holds.
    pub asset_type: AssetType,
    /// Its state.
    pub state: UploadFileState,
    /// The checksum given when it was committed.
    pub sha256: Option<Sha256Digest>,
    /// Why it failed, once FAILED.
    pub failure: Option<String>,
    /// When it was reserved; a file not committed within the expiry is failed. Defaults let
    /// older snapshots load (their files count as reserved at the epoch).
    #[serde(default)]
    pub reserved_at: super::Timestamp,
    /// When it was committed; `None` before, and for files committed before commit times
    /// were kept ([`crate::upload_expiry`] counts those from their reservation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed_at: Option<super::Timestamp>,
    /// The key its upload URLs are signed with ([`crate::upload_credential`]): handed to
    /// origins, never rendered. `None` for files reserved before uploads were signed, which
    /// take no parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<UploadKey>,
}

impl UploadFile {
    /// Whether the file holds a reservation of the app's quota: an archive not yet
    /// processed, of a version still awaiting upload or processing.
    pub(super) fn is_pending_archive(&self) -> bool {
        self.asset_type == AssetType::Asset && self.state.keeps_parts()
    }
}

impl Catalog {
    /// `ReserveUploadFile`: room for one file of a version awaiting upload. At most one file
    /// of each type per version. Refused before any byte is stored when the file is larger
    /// than one upload may be, or when an archive that size would take the app past its quota
    /// (rule R9). Only the ASSET file counts toward the quota: the manifest is not served.
    pub(super) fn reserve_upload_file(
        &mut self,
        ctx: &Ctx,
        new: ReserveUploadFile,
    ) -> Result<Vec<Event>, Refusal> {
        let file = UploadFile {
            id: new.id,
            version: new.version,
            file_name: new.file_name,
            file_size: new.file_size,
            asset_type: new.asset_type,
            state: UploadFileState::AwaitingUpload,
            sha256: None,
            failure: None,
            reserved_at: ctx.at,
            committed_at: None,
            key: new.key,
        };
        let version = self.find_version(&file.version)?;
        self.authorize(&ctx.actor, &version.app, Action::Upload)?;
        let pack = self.live_pack(&version.pack)?;
        self.unused(
            &self.upload_files,
            &file.id,
            ResourceType::BackgroundAssetUploadFiles,
        )?;
        if version.state != VersionState::AwaitingUpload {
            return Err(Refusal::conflict(format!(
                "version {} is {}; files can be added only while it is AWAITING_UPLOAD; \
                 create a new version",
                version.number, version.state
            )));
        }
        self.check_file(&file)?;
        let limits = &self.limits;
        let taken = version.upload_files.iter().find(|f| {
            self.upload_files
                .get(*f)
                .is_some_and(|f| f.asset_type == file.asset_type)
        });
        if let Some(taken) = taken {
            return Err(Refusal::conflict(format!(
                "version {} already has a {} upload file ({taken}); a version has one of each type",
                version.number, file.asset_type
            )));
        }
        if file.asset_type == AssetType::Asset {
            let app_committed = self.committed_bytes(&version.app);
            let pack_used = self.pack_used_bytes(pack);
            let pack_pending = self.pack_pending_bytes(pack);
            let after =
                limits.projected_bytes(app_committed, pack_used, pack_pending, file.file_size);
            if after > limits.max_bytes {
                return Err(Refusal::by_rule(
                    Rule::R9,
                    format!(
                        "a {} byte archive would bring this app to {after} bytes (stored \
                         versions and uploads not yet processed), over its limit of {} bytes; \
                         archive packs you no longer need, or let unfinished uploads finish or \
                         expire",
                        file.file_size, limits.max_bytes
                    ),
                ));
            }
        }
        if let Some(v) = self.versions.get_mut(&file.version) {
            v.upload_files.push(file.id.clone());
        }
        self.upload_files.insert(file.id.clone(), file);
        Ok(Vec::new())
    }

    /// The file's own fields: a name, at least one byte, no larger than one upload may be
    /// (a MANIFEST no larger than Packyard reads).
    fn check_file(&self, file: &UploadFile) -> Result<(), Refusal> {
        if file.file_name.trim().is_empty() {
            return Err(Refusal::invalid(
                "fileName",
                "is empty; give the file's name",
            ));
        }
        self.check_name("fileName", &file.file_name)?;
        if file.file_size == 0 {
            return Err(Refusal::invalid(
                "fileSize",
                "is 0; a file holds at least one byte",
            ));
        }
        if file.asset_type == AssetType::Manifest && file.file_size > MAX_MANIFEST_FILE_BYTES {
            return Err(Refusal::invalid(
                "fileSize",
                format!(
                    "is {} bytes; a MANIFEST file may be at most {MAX_MANIFEST_FILE_BYTES} \
                     bytes (1 MiB), the largest packaging manifest Packyard reads",
                    file.file_size
                ),
            ));
        }
        if file.file_size > self.limits.max_file_bytes {
            return Err(Refusal::invalid(
                "fileSize",
                format!(
                    "is {} bytes; one file may be at most {} bytes",
                    file.file_size, self.limits.max_file_bytes
                ),
            ));
        }
        Ok(())
    }

    /// `ExpireUploadFile`: Packyard fails a file not committed within `ttl_ms` of its
    /// reservation, and its version with `UPLOAD_EXPIRED`, which frees the quota it held;
    /// the origin then removes its staged parts. Refused for a file committed or reserved
    /// less than `ttl_ms` ago (a repeated or early proposal changes nothing). Kept for the
    /// entries already in logs: control planes now propose `ExpireVersion`
    /// (`version_expiry.rs`), which also covers versions committed and never processed.
    pub(super) fn expire_upload_file(
        &mut self,
        ctx: &Ctx,
        expire: ExpireUploadFile,
    ) -> Result<Vec<Event>, Refusal> {
        let ExpireUploadFile { id, ttl_ms } = expire;
        self.require_system(&ctx.actor)?;
        let file = self
            .upload_files
            .get(&id)
            .ok_or_else(|| Refusal::not_found(ResourceType::BackgroundAssetUploadFiles, &id))?;
        if file.state != UploadFileState::AwaitingUpload {
            return Err(Refusal::conflict(format!(
                "upload file {id} is {}; only a file awaiting its upload expires",
                file.state
            )));
        }
        if ctx.at.0 < file.reserved_at.0.saturating_add(ttl_ms) {
            return Err(Refusal::conflict(format!(
                "upload file {id} was reserved less than {ttl_ms} ms ago"
            )));
        }
        let hours = ttl_ms as f64 / 3_600_000.0;
        let details = super::version::StateDetails {
            errors: vec![super::version::StateDetail {
                code: "UPLOAD_EXPIRED".into(),
                description: format!(
                    "upload file {id} ({}) was not committed within {hours:.2} h of its \
                     reservation; create a new version and upload again",
                    file.file_name
                ),
            }],
            ..Default::default()
        };
        let failure = ProcessingFailed {
            version: file.version.clone(),
            upload_file: Some(id),
            details,
        };
        self.processing_failed(ctx, failure)
    }

    /// The bytes an app commits of its quota: each live pack's used bytes or, when more, the
    /// archives reserved in it and not processed yet ([`crate::quota::pack_committed_bytes`]).
    pub fn committed_bytes(&self, app: &super::ids::AppId) -> u64 {
        self.packs_of(app)
            .filter(|p| !p.is_archived())
            .map(|p| {
                crate::quota::pack_committed_bytes(
                    self.pack_used_bytes(p),
                    self.pack_pending_bytes(p),
                )
            })
            .fold(0, u64::saturating_add)
    }

    /// The sizes of the archives reserved in `pack` and not processed yet, summed.
    pub(super) fn pack_pending_bytes(&self, pack: &super::pack::Pack) -> u64 {
        pack.versions
            .iter()
            .filter_map(|v| self.versions.get(v))
            .filter(|v| {
                matches!(
                    v.state,
                    VersionState::AwaitingUpload | VersionState::Processing
                )
            })
            .flat_map(|v| v.upload_files.iter())
            .filter_map(|f| self.upload_files.get(f))
            .filter(|f| f.is_pending_archive())
            .map(|f| f.file_size)
            .fold(0, u64::saturating_add)
    }

    /// `CommitUploadFile`: every part is uploaded and this is the file's SHA-256. Once the
    /// ASSET file and every other reserved file are committed, the version goes PROCESSING;
    /// so reserve the manifest file before committing the archive.
    pub(super) fn commit_upload_file(
        &mut self,
        ctx: &Ctx,
        commit: CommitUploadFile,
    ) -> Result<Vec<Event>, Refusal> {
        let CommitUploadFile { id, sha256 } = commit;
        let file = self
            .upload_files
            .get(&id)
            .ok_or_else(|| Refusal::not_found(ResourceType::BackgroundAssetUploadFiles, &id))?;
        let version = self.find_version(&file.version)?;
        self.authorize(&ctx.actor, &version.app, Action::Upload)?;
        self.live_pack(&version.pack)?;
        if file.state != UploadFileState::AwaitingUpload {
            return Err(Refusal::conflict(format!(
                "upload file {id} is {}; it was already committed",
                file.state
            )));
        }
        if version.state != VersionState::AwaitingUpload {
            return Err(Refusal::conflict(format!(
                "version {} is {}; its files can no longer change",
                version.number, version.state
            )));
        }
        let mut has_asset = file.asset_type == AssetType::Asset;
        let mut all_committed = true;
        for other in version.upload_files.iter().filter(|f| **f != id) {
            if let Some(other) = self.upload_files.get(other) {
                has_asset |= other.asset_type == AssetType::Asset;
                all_committed &= other.state == UploadFileState::UploadComplete;
            }
        }
        let version_id = version.id.clone();
        let app = version.app.clone();
        if let Some(f) = self.upload_files.get_mut(&id) {
            f.state = UploadFileState::UploadComplete;
            f.sha256 = Some(sha256);
            f.committed_at = Some(ctx.at);
        }
        if !(has_asset && all_committed) {
            return Ok(Vec::new());
        }
        if let Some(v) = self.versions.get_mut(&version_id) {
            v.state = VersionState::Processing;
        }
        Ok(vec![ctx.event(
            EventType::BackgroundAssetVersionStateUpdated,
            app,
            ResourceType::BackgroundAssetVersions,
            version_id.as_str(),
            Some(VersionState::AwaitingUpload.as_str()),
            Some(VersionState::Processing.as_str()),
        )])
    }
}
