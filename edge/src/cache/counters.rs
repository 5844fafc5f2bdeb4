//! [`CacheCounters`]: what the chunk cache did, as plain atomics the caller owns.

use std::sync::atomic::{AtomicU64, Ordering};

/// The chunk cache's counters. The service that owns a cache creates them, hands them in and
/// exports them (for example as `packyard_edge_cache_*` metrics); nothing here is global.
///
/// Byte gauges of the tiers are read from the cache itself ([`ChunkCache::memory_bytes`],
/// [`ChunkCache::disk_bytes`]), not kept here.
///
/// [`ChunkCache::memory_bytes`]: super::ChunkCache::memory_bytes
/// [`ChunkCache::disk_bytes`]: super::ChunkCache::disk_bytes
#[derive(Debug, Default)]
pub struct CacheCounters {
    /// Requests answered from the memory tier.
    pub memory_hits: AtomicU64,
    /// Requests answered from the disk tier (the chunk is then promoted to memory).
    pub disk_hits: AtomicU64,
    /// Requests neither tier could answer.
    pub misses: AtomicU64,
    /// Requests that waited for a fill another request had started (single flight).
    pub joined_fills: AtomicU64,
    /// Fetches started.
    pub fills: AtomicU64,
    /// Fetches that failed, or brought bytes that are not the chunk asked for.
    pub fill_errors: AtomicU64,
    /// Fetches whose bytes did not hash to the chunk's id or had the wrong length (also
    /// counted in `fill_errors`).
    pub fill_mismatches: AtomicU64,
    /// Chunks found corrupt on disk, dropped and fetched again.
    pub corrupt_dropped: AtomicU64,
    /// Chunks evicted from the memory tier (or not admitted to it).
    pub memory_evictions: AtomicU64,
    /// Chunks evicted from the disk tier (or not admitted to it).
    pub disk_evictions: AtomicU64,
    /// Disk tier reads or writes that failed (the chunk was fetched, or served from memory,
    /// instead).
    pub disk_errors: AtomicU64,
}

impl CacheCounters {
    /// Fresh counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every counter's current value.
    pub fn snapshot(&self) -> CounterSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CounterSnapshot {
            memory_hits: get(&self.memory_hits),
            disk_hits: get(&self.disk_hits),
            misses: get(&self.misses),
            joined_fills: get(&self.joined_fills),
            fills: get(&self.fills),
            fill_errors: get(&self.fill_errors),
            fill_mismatches: get(&self.fill_mismatches),
            corrupt_dropped: get(&self.corrupt_dropped),
            memory_evictions: get(&self.memory_evictions),
            disk_evictions: get(&self.disk_evictions),
            disk_errors: get(&self.disk_errors),
        }
    }
}

/// Adds `n` to a counter.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// The values of [`CacheCounters`] at one moment.
#[allow(missing_docs)] // Each field is documented on `CacheCounters`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    pub memory_hits: u64,
    pub disk_hits: u64,
    pub misses: u64,
    pub joined_fills: u64,
    pub fills: u64,
    pub fill_errors: u64,
    pub fill_mismatches: u64,
    pub corrupt_dropped: u64,
    pub memory_evictions: u64,
    pub disk_evictions: u64,
    pub disk_errors: u64,
}
