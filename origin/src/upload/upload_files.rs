//! [`UploadFiles`]: what the control plane says about upload files, briefly remembered.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use packyard_core::catalog::UploadFileState;

use super::error::UploadError;
use crate::control::{ControlPlane, UploadInfo};

/// At most this many answers are remembered; past it the oldest half is forgotten (and asked
/// again when needed).
const MAX_REMEMBERED: usize = 10_000;

/// Answers "may this file take parts, and how is it cut" from the control plane's
/// `DescribeUpload`, each answer kept for a short time so the parts of one file (sent back
/// to back, often concurrently) cost one call, not one each.
///
/// An answer that the file takes parts is trusted for `ttl`; an answer that it no longer
/// does is kept until forgotten, since a committed file never takes parts again. The
/// processing side also tells it which files it saw committed ([`mark_committed`]), so a part
/// sent after the commit is refused without waiting for the answer to age.
///
/// [`mark_committed`]: Self::mark_committed
#[derive(Debug)]
pub struct UploadFiles {
    control: ControlPlane,
    ttl: Duration,
    known: Mutex<HashMap<String, (Instant, UploadInfo)>>,
}

impl UploadFiles {
    /// Answers from `control`, trusted for `ttl` while the file takes parts.
    pub fn new(control: ControlPlane, ttl: Duration) -> Self {
        Self {
            control,
            ttl,
            known: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, UploadInfo)>> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the control plane says about `file`: 404 when it knows no such file, 503 when it
    /// cannot answer.
    pub async fn describe(&self, file: &str) -> Result<UploadInfo, UploadError> {
        if let Some((at, info)) = self.lock().get(file)
            && (!info.state.takes_parts() || at.elapsed() < self.ttl)
        {
            return Ok(info.clone());
        }
        let info = self
            .control
            .describe_upload(file)
            .await
            .map_err(|s| UploadError::Unavailable(s.message().to_owned()))?
            .ok_or_else(|| UploadError::UnknownFile(file.to_owned()))?;
        self.remember(file, info.clone());
        Ok(info)
    }

    /// Whether `file` is known locally to take no more parts (without asking).
    pub fn known_committed(&self, file: &str) -> bool {
        self.lock()
            .get(file)
            .is_some_and(|(_, info)| !info.state.takes_parts())
    }

    /// Records that `file` is committed, as the watch stream said.
    pub fn mark_committed(&self, file: &str) {
        let mut known = self.lock();
        if let Some((_, info)) = known.get_mut(file)
            && info.state.takes_parts()
        {
            info.state = UploadFileState::UploadComplete;
        }
    }

    fn remember(&self, file: &str, info: UploadInfo) {
        let mut known = self.lock();
        if known.len() >= MAX_REMEMBERED {
            let mut ages: Vec<Instant> = known.values().map(|(at, _)| *at).collect();
            ages.sort_unstable();
            let median = ages[ages.len() / 2];
            known.retain(|_, (at, _)| *at > median);
        }
        let committed = known
            .get(file)
            .is_some_and(|(_, old)| !old.state.takes_parts());
        // A commit seen on the watch stream outranks an older answer that raced it.
        if !committed {
            known.insert(file.to_owned(), (Instant::now(), info));
        }
    }
}
