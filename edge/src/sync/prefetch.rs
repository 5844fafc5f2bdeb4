//! [`Prefetcher`]: the chunks of eager versions and of versions a rollout will bring to this
//! region, fetched before devices ask.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::Chunks;
use crate::state::CompletedVersion;

/// Fetches every chunk of the versions it is given through [`Chunks::get`], at most
/// `concurrency` chunks at a time across all versions. A chunk a device is fetching at the
/// same moment is fetched once (single flight); a failed chunk is left for the first device
/// that asks (or the next prefetch).
#[derive(Debug, Clone)]
pub struct Prefetcher {
    chunks: Chunks,
    permits: Arc<Semaphore>,
}

impl Prefetcher {
    /// A prefetcher with `concurrency` chunk fetches at most (at least 1).
    pub fn new(chunks: Chunks, concurrency: usize) -> Self {
        Self {
            chunks,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// Starts fetching `version`'s chunks in the background.
    pub fn prefetch(&self, version: Arc<CompletedVersion>) {
        let this = self.clone();
        tokio::spawn(async move { this.run(version).await });
    }

    /// Fetches `version`'s chunks; returns how many could not be fetched.
    pub async fn run(&self, version: Arc<CompletedVersion>) -> usize {
        let mut seen = HashSet::new();
        let mut tasks = tokio::task::JoinSet::new();
        for &chunk in version.chunk_list.chunks() {
            if !seen.insert(chunk.id) {
                continue;
            }
            let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await else {
                break;
            };
            let chunks = self.chunks.clone();
            tasks.spawn(async move {
                let result = chunks.get(chunk).await;
                drop(permit);
                result
            });
        }
        let mut failed = 0;
        while let Some(done) = tasks.join_next().await {
            if let Ok(Err(e)) = done {
                failed += 1;
                tracing::warn!(error = %e, "prefetch of a chunk failed");
            }
        }
        tracing::debug!(
            pack = %version.identifier,
            version = version.number,
            failed,
            "prefetch done"
        );
        failed
    }
}
