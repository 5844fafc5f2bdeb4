//! [`Version`]: one numbered upload of a pack, from AWAITING_UPLOAD to COMPLETE or FAILED,
//! and the commands that create it and report its processing.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::command::{CreateVersion, ProcessingFailed, ProcessingSucceeded};
use super::event::{Event, EventType};
use super::ids::{AppId, PackId, UploadFileId, VersionId};
use super::refusal::{Refusal, Rule};
use super::release::{InternalBetaState, ReleaseRecords};
use super::resource::ResourceType;
use super::upload_file::UploadFileState;
use super::{Catalog, Ctx};
use crate::role::Action;
use crate::{ChunkList, DownloadPolicy, LanguageTag, Platform};

state_enum! {
    /// A version's processing state.
    VersionState {
        /// Waiting for its files to be uploaded and committed.
        AwaitingUpload = "AWAITING_UPLOAD",
        /// The origin is checking and chunking the files.
        Processing = "PROCESSING",
        /// Ready; release records exist and its content never changes (rule R12).
        Complete = "COMPLETE",
        /// Processing failed; `state_details` says why. Its number stays used (rule R11).
        Failed = "FAILED",
    }
}

/// One message about a version's processing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDetail {
    /// A stable code, for scripts.
    pub code: String,
    /// A sentence for people.
    pub description: String,
}

/// What processing had to say about a version (`stateDetails` in the admin API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDetails {
    /// Why it failed.
    pub errors: Vec<StateDetail>,
    /// What might surprise its developer.
    pub warnings: Vec<StateDetail>,
    /// Anything else worth knowing.
    pub infos: Vec<StateDetail>,
}

/// What the packaging manifest says about a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionMetadata {
    /// When devices download it.
    pub download_policy: DownloadPolicy,
    /// The platforms it is built for.
    pub platforms: BTreeSet<Platform>,
    /// Its language, for localized packs (rule R10).
    pub language: Option<LanguageTag>,
}

/// What a COMPLETE version is. Set once, when processing succeeds, and never again (R12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionContent {
    /// The archive's size in bytes.
    pub size: u64,
    /// Its chunks and the BLAKE3 of the whole archive.
    pub chunk_list: ChunkList,
    /// From its manifest.
    pub metadata: VersionMetadata,
}

/// A pack version (`backgroundAssetVersions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// Its id.
    pub id: VersionId,
    /// Its pack.
    pub pack: PackId,
    /// Its pack's app.
    pub app: AppId,
    /// 1, 2, 3 … per pack, never reused or skipped (rule R11).
    pub number: u32,
    /// Its processing state.
    pub state: VersionState,
    /// Messages from processing.
    pub state_details: StateDetails,
    /// When it was created.
    pub created_at: super::Timestamp,
    /// Its upload files, in reservation order.
    pub upload_files: Vec<UploadFileId>,
    /// Set when it becomes COMPLETE.
    pub content: Option<VersionContent>,
    /// Created when it becomes COMPLETE.
    pub releases: Option<ReleaseRecords>,
}

impl Version {
    /// The release records, or a refusal saying the version is not COMPLETE yet.
    pub(super) fn records(&self) -> Result<&ReleaseRecords, Refusal> {
        self.releases.as_ref().ok_or_else(|| {
            Refusal::conflict(format!(
                "version {} is {}; only COMPLETE versions have releases",
                self.number, self.state
            ))
        })
    }

    /// Whether it counts toward its pack's used bytes (rule R9): COMPLETE and not superseded
    /// on every track.
    pub fn counts_toward_quota(&self) -> bool {
        self.state == VersionState::Complete
            && self
                .releases
                .as_ref()
                .is_some_and(|r| !r.superseded_everywhere())
    }

    /// Its size in bytes once COMPLETE.
    pub fn size(&self) -> Option<u64> {
        self.content.as_ref().map(|c| c.size)
    }
}

impl Catalog {
    /// `CreateVersion`: a new version awaiting upload, numbered after the pack's last one.
    pub(super) fn create_version(
        &mut self,
        ctx: &Ctx,
        new: CreateVersion,
    ) -> Result<Vec<Event>, Refusal> {
        let CreateVersion { id, pack: pack_id } = new;
        let pack = self.find_pack(&pack_id)?;
        self.authorize(&ctx.actor, &pack.app, Action::CreateVersion)?;
        self.live_pack(&pack_id)?;
        self.unused(&self.versions, &id, ResourceType::BackgroundAssetVersions)?;
        let number = pack.next_number;
        let next = number.checked_add(1).ok_or_else(|| {
            Refusal::conflict(format!(
                "pack {} has used every version number; create a new pack",
                pack.identifier
            ))
        })?;
        let version = Version {
            id: id.clone(),
            pack: pack_id.clone(),
            app: pack.app.clone(),
            number,
            state: VersionState::AwaitingUpload,
            state_details: StateDetails::default(),
            created_at: ctx.at,
            upload_files: Vec::new(),
            content: None,
            releases: None,
        };
        let event = ctx.event(
            EventType::BackgroundAssetVersionStateUpdated,
            version.app.clone(),
            ResourceType::BackgroundAssetVersions,
            id.as_str(),
            None,
            Some(VersionState::AwaitingUpload.as_str()),
        );
        if let Some(pack) = self.packs.get_mut(&pack_id) {
            pack.next_number = next;
            pack.versions.push(id.clone());
        }
        self.versions.insert(id, version);
        Ok(vec![event])
    }

    /// `ProcessingSucceeded`: the origin stored and chunked the archive. The version becomes
    /// COMPLETE with its release records, and the newest COMPLETE version takes over internal
    /// testing (rule R1). Refused for any version not PROCESSING, so a COMPLETE version's
    /// content never changes (rule R12).
    pub(super) fn processing_succeeded(
        &mut self,
        ctx: &Ctx,
        report: ProcessingSucceeded,
    ) -> Result<Vec<Event>, Refusal> {
        let ProcessingSucceeded {
            version: version_id,
            size,
            chunk_list,
            metadata,
        } = report;
        let content = VersionContent {
            size,
            chunk_list,
            metadata,
        };
        self.require_system(&ctx.actor)?;
        let version = self.find_version(&version_id)?;
        may_complete(version, &content)?;
        let pack = version.pack.clone();
        let app = version.app.clone();
        let files = version.upload_files.clone();
        let previous =
            self.pack_version_where(&pack, |r| r.internal == InternalBetaState::ReadyForTesting);

        if let Some(old) = previous {
            self.with_records(&old, |r| r.internal = InternalBetaState::Superseded);
        }
        for file in &files {
            if let Some(f) = self.upload_files.get_mut(file) {
                f.state = UploadFileState::Complete;
            }
        }
        if let Some(v) = self.versions.get_mut(&version_id) {
            v.state = VersionState::Complete;
            v.content = Some(content);
            v.releases = Some(ReleaseRecords::new());
        }
        let records = ReleaseRecords::new();
        let id = version_id.as_str();
        Ok(vec![
            ctx.event(
                EventType::BackgroundAssetVersionStateUpdated,
                app.clone(),
                ResourceType::BackgroundAssetVersions,
                id,
                Some(VersionState::Processing.as_str()),
                Some(VersionState::Complete.as_str()),
            ),
            ctx.event(
                EventType::BackgroundAssetVersionInternalBetaReleaseCreated,
                app.clone(),
                ResourceType::BackgroundAssetVersionInternalBetaReleases,
                id,
                None,
                Some(records.internal.as_str()),
            ),
            ctx.event(
                EventType::BackgroundAssetVersionExternalBetaReleaseStateUpdated,
                app.clone(),
                ResourceType::BackgroundAssetVersionExternalBetaReleases,
                id,
                None,
                Some(records.external.as_str()),
            ),
            ctx.event(
                EventType::BackgroundAssetVersionAppStoreReleaseStateUpdated,
                app,
                ResourceType::BackgroundAssetVersionAppStoreReleases,
                id,
                None,
                Some(records.store.as_str()),
            ),
        ])
    }

    /// `ProcessingFailed`: the origin could not use the upload (a checksum mismatch, no
    /// manifest …). The version becomes FAILED with `details`; the upload file at fault, if
    /// named, becomes FAILED with the first error as its reason. Accepted while the version
    /// awaits upload too, since a checksum is checked as each file is committed.
    pub(super) fn processing_failed(
        &mut self,
        ctx: &Ctx,
        report: ProcessingFailed,
    ) -> Result<Vec<Event>, Refusal> {
        let ProcessingFailed {
            version: version_id,
            upload_file,
            details,
        } = report;
        self.require_system(&ctx.actor)?;
        let version = self.find_version(&version_id)?;
        let from = version.state;
        match from {
            VersionState::AwaitingUpload | VersionState::Processing => {}
            VersionState::Complete => {
                return Err(Refusal::by_rule(
                    Rule::R12,
                    format!(
                        "version {} is already COMPLETE and can no longer fail",
                        version.number
                    ),
                ));
            }
            VersionState::Failed => {
                return Err(Refusal::conflict(format!(
                    "version {} has already FAILED",
                    version.number
                )));
            }
        }
        let Some(first_error) = details.errors.first() else {
            return Err(Refusal::invalid(
                "stateDetails.errors",
                "is empty; a failed version needs at least one error that says why",
            ));
        };
        if let Some(file) = &upload_file
            && !version.upload_files.contains(file)
        {
            return Err(Refusal::invalid(
                "uploadFile",
                format!("{file} is not an upload file of version {}", version.number),
            ));
        }
        let reason = first_error.description.clone();
        let app = version.app.clone();
        if let Some(f) = upload_file.and_then(|file| self.upload_files.get_mut(&file)) {
            f.state = UploadFileState::Failed;
            f.failure = Some(reason);
        }
        if let Some(v) = self.versions.get_mut(&version_id) {
            v.state = VersionState::Failed;
            v.state_details = details;
        }
        Ok(vec![ctx.event(
            EventType::BackgroundAssetVersionStateUpdated,
            app,
            ResourceType::BackgroundAssetVersions,
            version_id.as_str(),
            Some(from.as_str()),
            Some(VersionState::Failed.as_str()),
        )])
    }
}

/// Whether `version` may complete with `content` (the report of the origin that processed
/// it): only a PROCESSING version does (rule R12), and only with a chunk list that adds up
/// to the size reported.
fn may_complete(version: &Version, content: &VersionContent) -> Result<(), Refusal> {
    match version.state {
        VersionState::Processing => {}
        VersionState::Complete => {
            return Err(Refusal::by_rule(
                Rule::R12,
                format!(
                    "version {} is already COMPLETE and its content can never change; \
                     upload a new version instead",
                    version.number
                ),
            ));
        }
        other => {
            return Err(Refusal::conflict(format!(
                "version {} is {other}; only a PROCESSING version can complete",
                version.number
            )));
        }
    }
    if content.size != content.chunk_list.size() {
        return Err(Refusal::invalid(
            "size",
            format!(
                "is {} bytes but the chunk list adds up to {} bytes",
                content.size,
                content.chunk_list.size()
            ),
        ));
    }
    Ok(())
}
