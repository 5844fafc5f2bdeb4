//! Waiting for the origin: poll a version until processing ends, within a deadline.

use std::time::{Duration, Instant};

use packyard_core::catalog::VersionState;

use crate::client::AdminClient;
use crate::document::word;
use crate::error::AdminError;
use crate::resources::versions::Version;

/// How long a wait sleeps between two reads.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

impl AdminClient {
    /// Polls `version` until processing ends, COMPLETE or FAILED, and returns it; an error
    /// once `timeout` has passed with the version still uploading or processing.
    pub async fn wait_settled(
        &self,
        version: &str,
        timeout: Duration,
    ) -> Result<Version, AdminError> {
        let started = Instant::now();
        loop {
            let v = self.version(version).await?;
            match v.state {
                VersionState::Complete | VersionState::Failed => return Ok(v),
                _ if started.elapsed() > timeout => {
                    return Err(AdminError::StillProcessing {
                        version: version.to_owned(),
                        state: v.state.as_str().to_owned(),
                        waited: timeout,
                    });
                }
                _ => tokio::time::sleep(POLL_INTERVAL).await,
            }
        }
    }

    /// Like [`AdminClient::wait_settled`], but a FAILED version is an error that lists its
    /// `stateDetails.errors`.
    pub async fn wait_processed(
        &self,
        version: &str,
        timeout: Duration,
    ) -> Result<Version, AdminError> {
        let v = self.wait_settled(version, timeout).await?;
        if v.state == VersionState::Failed {
            let errors: Vec<String> = v.attributes()["stateDetails"]["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| format!("{}: {}", word(&e["code"]), word(&e["description"])))
                .collect();
            return Err(AdminError::VersionFailed {
                version: version.to_owned(),
                errors: errors.join("; "),
            });
        }
        Ok(v)
    }
}
