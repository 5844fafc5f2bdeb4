//! [`CacheConfig`]: the chunk cache's tiers and their byte budgets.

use std::path::PathBuf;

use packyard_core::chunk_list::MAX_CHUNK_LEN;

use super::CacheError;

/// The chunk cache's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Most bytes of chunks held in memory. Default 256 MiB.
    pub memory_bytes: u64,
    /// The disk tier, or `None` for a memory-only cache. Default `None`.
    pub disk: Option<DiskConfig>,
}

/// The disk tier's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskConfig {
    /// Where chunk files live (a `DiskChunkStore` root, inside the edge's data directory).
    pub root: PathBuf,
    /// Most bytes of chunk files kept. No default: it depends on the disk.
    pub bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            memory_bytes: 256 << 20,
            disk: None,
        }
    }
}

impl CacheConfig {
    /// A memory-only cache of `memory_bytes`.
    pub fn memory(memory_bytes: u64) -> Self {
        Self {
            memory_bytes,
            disk: None,
        }
    }

    /// Checks that each budget can hold something. A chunk larger than a tier's budget (or
    /// than one memory shard's share of it) is served but not kept in that tier.
    pub fn validate(&self) -> Result<(), CacheError> {
        if self.memory_bytes == 0 {
            return Err(CacheError::Config(
                "memory_bytes is 0; the memory tier needs room for at least one chunk".into(),
            ));
        }
        if let Some(disk) = &self.disk
            && disk.bytes == 0
        {
            return Err(CacheError::Config(format!(
                "the disk tier's budget is 0; give it at least {MAX_CHUNK_LEN} bytes \
                 (the largest chunk) or leave the disk tier out"
            )));
        }
        Ok(())
    }
}
