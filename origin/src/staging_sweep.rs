//! [`sweep_staging`]: removes the staged parts of upload files that will never be processed:
//! the files of versions that expired (the control plane fails every file such a version
//! held open: a reservation never committed, a lone committed manifest, processing never
//! reported), versions that failed, files the control plane no longer knows, and leftovers of
//! versions processed before a crash could remove them. Only what the control plane says is final goes; a file
//! that still takes parts or awaits processing is kept.

use std::sync::Arc;
use std::time::Duration;

use packyard_catalog_client::Stop;
use packyard_core::catalog::UploadFileState;

use crate::control::ControlPlane;
use crate::staging::Staging;

/// Whether the parts of a file in `state` (`None`: the control plane knows no such file) can
/// go: nothing will read them again.
pub fn parts_are_dead(state: Option<UploadFileState>) -> bool {
    !state.is_some_and(UploadFileState::keeps_parts)
}

/// One sweep: asks the control plane about every staged file and removes the dead ones.
/// Returns how many were removed; a file the control plane cannot answer about is kept.
pub async fn sweep_once(staging: &Staging, control: &ControlPlane) -> usize {
    let files = match staging.files() {
        Ok(files) => files,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the staging area");
            return 0;
        }
    };
    let mut removed = 0;
    for file in files {
        let state = match control.describe_upload(&file).await {
            Ok(info) => info.map(|i| i.state),
            Err(status) => {
                tracing::debug!(%file, error = %status, "cannot ask about a staged file; kept");
                continue;
            }
        };
        if !parts_are_dead(state) {
            continue;
        }
        match staging.remove(&file) {
            Ok(()) => {
                removed += 1;
                tracing::info!(
                    %file,
                    state = state.map_or("unknown to the control plane", |s| s.as_str()),
                    "removed the staged parts of an upload that will not be processed"
                );
            }
            Err(e) => tracing::warn!(%file, error = %e, "cannot remove staged parts"),
        }
    }
    removed
}

/// Sweeps every `interval` until `stop`.
pub async fn sweep_staging(
    staging: Arc<Staging>,
    control: ControlPlane,
    interval: Duration,
    stop: Stop,
) {
    while stop.sleep(interval).await {
        sweep_once(&staging, &control).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_parts_nothing_will_read_again_are_dead() {
        assert!(parts_are_dead(None));
        assert!(parts_are_dead(Some(UploadFileState::Failed)));
        assert!(parts_are_dead(Some(UploadFileState::Complete)));
        assert!(!parts_are_dead(Some(UploadFileState::AwaitingUpload)));
        assert!(!parts_are_dead(Some(UploadFileState::UploadComplete)));
    }
}
