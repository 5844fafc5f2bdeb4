//! [`Chunks`]: the chunk cache with the source it fills from, and the pieces of chunks
//! (`packyard_core::pieces`) devices ask for delta updates.

use std::sync::Arc;

use bytes::Bytes;
use packyard_core::pieces::{self, Piece};
use packyard_core::{Blake3Hash, ChunkRef};

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
    pieces: Arc<quick_cache::sync::Cache<Blake3Hash, Arc<[Piece]>>>,
}

/// Chunks whose pieces are kept cut: every device updating to a version asks for the
/// pieces of the same few chunks, so each is cut once. About 10 bytes a piece, 32 pieces a
/// 64 KiB chunk: some 16 MiB at most.
const PIECE_LISTS_KEPT: usize = 50_000;

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
            pieces: Arc::new(quick_cache::sync::Cache::new(PIECE_LISTS_KEPT)),
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
                    let bytes = fetch.await.inspect_err(|_| metrics.origin_fetch_failed())?;
                    metrics.origin_fetched_bytes(bytes.len() as u64);
                    Ok::<_, super::FetchError>(bytes)
                }
            })
            .await
    }

    /// The pieces of `chunk`: cut once from its verified bytes (off the request threads),
    /// then kept.
    pub async fn pieces(&self, chunk: ChunkRef) -> Result<Arc<[Piece]>, CacheError> {
        if let Some(p) = self.pieces.get(&chunk.id) {
            return Ok(p);
        }
        let bytes = self.get(chunk).await?;
        let cut = tokio::task::spawn_blocking(move || pieces::split(&bytes))
            .await
            .map_err(|_| CacheError::FillAborted { id: chunk.id })?;
        let cut: Arc<[Piece]> = cut.into();
        self.pieces.insert(chunk.id, Arc::clone(&cut));
        Ok(cut)
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
