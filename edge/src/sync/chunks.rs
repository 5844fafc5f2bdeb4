//! [`Chunks`]: the chunk cache with the source it fills from.

use std::sync::Arc;

use bytes::Bytes;
use packyard_core::ChunkRef;

use super::ChunkSource;
use crate::cache::{CacheError, ChunkCache};
use crate::metrics::EdgeMetrics;

/// The chunk cache and where it fills from. Cheap to clone. Requests and the prefetcher both
/// call [`get`](Self::get), so a chunk is fetched from the origin once whoever asks first.
#[derive(Clone)]
pub struct Chunks {
    cache: ChunkCache,
    source: Arc<dyn ChunkSource>,
    metrics: EdgeMetrics,
}

impl std::fmt::Debug for Chunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunks")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl Chunks {
    /// Chunks from `cache`, filled from `source`.
    pub fn new(cache: ChunkCache, source: Arc<dyn ChunkSource>, metrics: EdgeMetrics) -> Self {
        Self {
            cache,
            source,
            metrics,
        }
    }

    /// The bytes of `chunk`, verified, from memory, disk or the source.
    pub async fn get(&self, chunk: ChunkRef) -> Result<Bytes, CacheError> {
        let source = Arc::clone(&self.source);
        let metrics = self.metrics.clone();
        self.cache
            .get_or_fetch(chunk.id, chunk.len, move || {
                metrics.origin_fetch();
                let fetch = source.fetch(chunk.id);
                async move {
                    let bytes = fetch.await?;
                    metrics.origin_fetched_bytes(bytes.len() as u64);
                    Ok::<_, super::FetchError>(bytes)
                }
            })
            .await
    }

    /// The bytes of `chunk` if the memory tier holds them, without waiting for anything.
    pub fn get_in_memory(&self, chunk: &ChunkRef) -> Option<Bytes> {
        self.cache.get_in_memory(&chunk.id)
    }

    /// The cache.
    pub fn cache(&self) -> &ChunkCache {
        &self.cache
    }
}
