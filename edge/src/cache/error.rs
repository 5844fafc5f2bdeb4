//! [`CacheError`]: why the chunk cache could not produce a chunk.

use std::sync::Arc;

use packyard_chunk_store::ChunkStoreError;
use packyard_core::chunk_list::Blake3Hash;

/// Why a cache call failed. Cloneable: one failed fill is reported to every request that
/// waited for it. Nothing is cached when a fill fails, so the next request tries again.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CacheError {
    /// The fetch (from the origin) failed.
    #[error("fetching chunk {id} failed: {source}")]
    Fetch {
        /// The chunk being fetched.
        id: Blake3Hash,
        /// What the fetch reported.
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// The fetched bytes are not the chunk: they hash to something else.
    #[error("the bytes fetched as chunk {id} hash to {actual}; they were not served or cached")]
    HashMismatch {
        /// The chunk asked for.
        id: Blake3Hash,
        /// The hash of the bytes the fetch returned.
        actual: Blake3Hash,
    },
    /// The fetched bytes hash to the id but are not as long as the chunk list says.
    #[error("chunk {id} is {actual} bytes, but the chunk list says {expected}")]
    LengthMismatch {
        /// The chunk asked for.
        id: Blake3Hash,
        /// The length the caller named.
        expected: u32,
        /// The length of the fetched bytes.
        actual: usize,
    },
    /// The disk tier failed (other than finding a corrupt chunk, which is a miss).
    #[error(transparent)]
    Disk(Arc<ChunkStoreError>),
    /// The task filling the chunk ended without a result (it panicked, or the runtime is
    /// shutting down).
    #[error("the fill of chunk {id} ended without a result")]
    FillAborted {
        /// The chunk being filled.
        id: Blake3Hash,
    },
    /// The configuration cannot work.
    #[error("invalid cache configuration: {0}")]
    Config(String),
}

impl From<ChunkStoreError> for CacheError {
    fn from(e: ChunkStoreError) -> Self {
        Self::Disk(Arc::new(e))
    }
}
