//! [`MemoryTier`]: hot chunks as shared [`Bytes`], within a byte budget.

use bytes::Bytes;
use packyard_core::chunk_list::Blake3Hash;
use quick_cache::{DefaultHashBuilder, sync};

use super::counters::{CacheCounters, add};
use super::policy::{ChunkWeighter, CollectEvicted, TYPICAL_CHUNK, quick_cache_options};

/// The memory tier: a sharded `quick_cache` weighted by chunk length. Reads hand out clones
/// of one [`Bytes`], never copies.
#[derive(Debug)]
pub(crate) struct MemoryTier {
    chunks: sync::Cache<Blake3Hash, Bytes, ChunkWeighter, DefaultHashBuilder, CollectEvicted>,
}

impl MemoryTier {
    pub(crate) fn new(budget: u64) -> Self {
        let shards = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .saturating_mul(4)
            .next_power_of_two();
        // Each shard gets an equal share, rounded up by quick_cache; a budget divisible by the
        // shard count (and so by every smaller power of two it may settle on) keeps the sum of
        // the shares within the budget.
        let budget = budget - budget % shards as u64;
        let chunks = sync::Cache::with_options(
            quick_cache_options(budget, TYPICAL_CHUNK, shards),
            ChunkWeighter,
            DefaultHashBuilder::default(),
            CollectEvicted,
        );
        Self { chunks }
    }

    pub(crate) fn get(&self, id: &Blake3Hash) -> Option<Bytes> {
        self.chunks.get(id)
    }

    pub(crate) fn contains(&self, id: &Blake3Hash) -> bool {
        self.chunks.contains_key(id)
    }

    /// Keeps verified `bytes` of chunk `id`, evicting others as the policy decides.
    pub(crate) fn insert(&self, id: Blake3Hash, bytes: Bytes, counters: &CacheCounters) {
        let mut evicted = Vec::new();
        self.chunks.insert_with_lifecycle(id, bytes, &mut evicted);
        add(&counters.memory_evictions, evicted.len() as u64);
    }

    pub(crate) fn remove(&self, id: &Blake3Hash) {
        self.chunks.remove(id);
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.chunks.weight()
    }

    pub(crate) fn budget(&self) -> u64 {
        self.chunks.capacity()
    }
}
