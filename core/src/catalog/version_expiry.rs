//! `ExpireVersion`: Packyard fails a version that will never be processed as it stands (a
//! file never committed, every file committed but no archive, processing never reported), as
//! [`crate::upload_expiry::stall`] decides, with the files it still held open.

use super::command::ExpireVersion;
use super::event::{Event, EventType};
use super::ids::VersionId;
use super::refusal::Refusal;
use super::resource::ResourceType;
use super::upload_file::{AssetType, UploadFile, UploadFileState};
use super::version::{StateDetail, StateDetails, Version, VersionState};
use super::{Catalog, Ctx, Timestamp};
use crate::upload_expiry::{Deadlines, FileFacts, Phase, Stall, stall};

impl Catalog {
    /// The versions [`crate::upload_expiry::stall`] fails at `now` under `deadlines`: what
    /// the control plane proposes to expire.
    pub fn stalled_versions(&self, now: Timestamp, deadlines: Deadlines) -> Vec<VersionId> {
        self.versions
            .values()
            .filter(|v| {
                matches!(
                    v.state,
                    VersionState::AwaitingUpload | VersionState::Processing
                )
            })
            .filter(|v| self.version_stall(v, now, deadlines).is_some())
            .map(|v| v.id.clone())
            .collect()
    }

    fn version_stall(&self, v: &Version, now: Timestamp, deadlines: Deadlines) -> Option<Stall> {
        let phase = match v.state {
            VersionState::AwaitingUpload => Phase::AwaitingUpload,
            VersionState::Processing => Phase::Processing,
            VersionState::Complete | VersionState::Failed => Phase::Settled,
        };
        let files: Vec<FileFacts> = self
            .files_of(v)
            .into_iter()
            .map(|f| FileFacts {
                archive: f.asset_type == AssetType::Asset,
                reserved_at: f.reserved_at.0,
                committed_at: match f.state {
                    UploadFileState::AwaitingUpload => None,
                    _ => Some(f.committed_at.unwrap_or(f.reserved_at).0),
                },
            })
            .collect();
        stall(phase, &files, now.0, deadlines)
    }

    /// The upload files of `v`, in reservation order.
    fn files_of(&self, v: &Version) -> Vec<&UploadFile> {
        v.upload_files
            .iter()
            .filter_map(|id| self.upload_files.get(id))
            .collect()
    }

    /// `ExpireVersion`: fails the version with a state detail saying why, and every file of
    /// it not yet processed, so the quota it held is free, the origin takes no more parts
    /// for it and sweeps the parts it staged. Refused (changing nothing) while the version
    /// may still be processed at the envelope's time, so a repeated or early proposal is
    /// harmless.
    pub(super) fn expire_version(
        &mut self,
        ctx: &Ctx,
        expire: ExpireVersion,
    ) -> Result<Vec<Event>, Refusal> {
        self.require_system(&ctx.actor)?;
        let deadlines = expire.deadlines();
        let version = self.find_version(&expire.version)?;
        let Some(why) = self.version_stall(version, ctx.at, deadlines) else {
            return Err(Refusal::conflict(format!(
                "version {} is {} and not past any upload or processing deadline; nothing \
                 expires",
                version.number, version.state
            )));
        };
        let detail = self.stall_detail(version, why, deadlines);
        let (id, from, app) = (version.id.clone(), version.state, version.app.clone());
        let files = version.upload_files.clone();
        for id in &files {
            if let Some(f) = self.upload_files.get_mut(id)
                && matches!(
                    f.state,
                    UploadFileState::AwaitingUpload | UploadFileState::UploadComplete
                )
            {
                f.state = UploadFileState::Failed;
                f.failure = Some(detail.description.clone());
            }
        }
        if let Some(v) = self.versions.get_mut(&id) {
            v.state = VersionState::Failed;
            v.state_details = StateDetails {
                errors: vec![detail],
                ..StateDetails::default()
            };
        }
        Ok(vec![ctx.event(
            EventType::BackgroundAssetVersionStateUpdated,
            app,
            ResourceType::BackgroundAssetVersions,
            id.as_str(),
            Some(from.as_str()),
            Some(VersionState::Failed.as_str()),
        )])
    }

    /// The state detail a version failed for `why` carries, in words its uploader can act on.
    fn stall_detail(&self, v: &Version, why: Stall, deadlines: Deadlines) -> StateDetail {
        let hours = |ms: u64| format!("{:.2} h", ms as f64 / 3_600_000.0);
        let reservation = hours(deadlines.reservation_ms);
        let (code, description) = match why {
            Stall::NotCommitted(i) => {
                let file = self.files_of(v).get(i).copied();
                let (id, name) = file.map_or(("?", "?"), |f| (f.id.as_str(), &f.file_name));
                (
                    "UPLOAD_EXPIRED",
                    format!(
                        "upload file {id} ({name}) was not committed within {reservation} of \
                         its reservation; create a new version and upload again"
                    ),
                )
            }
            Stall::NoArchive => (
                "UPLOAD_EXPIRED",
                format!(
                    "version {} has no archive: its files were committed, but no ASSET file \
                     was reserved within {reservation} of the last reservation, so it can \
                     never be processed; create a new version and upload its archive (and \
                     its manifest, if the archive does not carry one)",
                    v.number
                ),
            ),
            Stall::NotProcessed => (
                "PROCESSING_EXPIRED",
                format!(
                    "processing of version {} was not reported within {} of its upload's \
                     commit; create a new version and upload again, and ask the operator \
                     to look at the origin",
                    v.number,
                    hours(deadlines.processing_ms)
                ),
            ),
        };
        StateDetail {
            code: code.to_owned(),
            description,
        }
    }
}
