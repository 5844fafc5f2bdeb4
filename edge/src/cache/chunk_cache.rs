//! [`ChunkCache`]: the edge's verified two-tier chunk cache with single-flight fills.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use packyard_core::chunk_list::Blake3Hash;

use super::counters::{CacheCounters, add};
use super::disk_tier::DiskTier;
use super::memory_tier::MemoryTier;
use super::single_flight::{Joined, Leader, SingleFlight};
use super::{CacheConfig, CacheError};

type FillResult = Result<Bytes, CacheError>;

/// The edge's chunk cache: a memory tier over an optional disk tier, each with a byte budget.
///
/// A request looks in memory, then joins a fill of the same chunk already under way, else
/// starts one: the fill reads the disk tier (promoting a hit to memory) and otherwise runs the
/// caller's fetch, verifies the bytes against the chunk's BLAKE3 id and length, and stores
/// them in both tiers. Cheap to clone; clones share the cache.
#[derive(Debug, Clone)]
pub struct ChunkCache {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    memory: MemoryTier,
    disk: Option<DiskTier>,
    fills: SingleFlight<Blake3Hash, FillResult>,
    counters: Arc<CacheCounters>,
}

/// Where a chunk is held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Residence {
    /// In the memory tier.
    pub memory: bool,
    /// In the disk tier.
    pub disk: bool,
}

impl ChunkCache {
    /// Opens a cache: the memory tier starts empty; the disk tier finds the chunk files left
    /// by an earlier run (newest kept when they exceed its budget) without fetching anything.
    /// Blocks on the disk; call it at start-up or from `spawn_blocking`.
    pub fn open(config: &CacheConfig, counters: Arc<CacheCounters>) -> Result<Self, CacheError> {
        config.validate()?;
        let disk = match &config.disk {
            Some(disk) => Some(DiskTier::open(&disk.root, disk.bytes, &counters)?),
            None => None,
        };
        let inner = Inner {
            memory: MemoryTier::new(config.memory_bytes),
            disk,
            fills: SingleFlight::new(),
            counters,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Chunk `id` if the memory tier holds it (counted as a memory hit); `None` otherwise,
    /// without touching the disk or counting a miss. For callers with a faster path when
    /// everything is in memory and the usual [`get_or_fetch`](Self::get_or_fetch) otherwise.
    pub fn get_in_memory(&self, id: &Blake3Hash) -> Option<Bytes> {
        let bytes = self.inner.memory.get(id)?;
        add(&self.inner.counters.memory_hits, 1);
        Some(bytes)
    }

    /// Chunk `id` if either tier holds it (a disk hit is promoted to memory); `None` otherwise.
    pub async fn get(&self, id: &Blake3Hash) -> Result<Option<Bytes>, CacheError> {
        let counters = &self.inner.counters;
        if let Some(bytes) = self.inner.memory.get(id) {
            add(&counters.memory_hits, 1);
            return Ok(Some(bytes));
        }
        let found = Arc::clone(&self.inner).read_disk(*id).await?;
        add(
            if found.is_some() {
                &counters.disk_hits
            } else {
                &counters.misses
            },
            1,
        );
        Ok(found)
    }

    /// Chunk `id` (`len` bytes long, as its chunk list says), fetched with `fetch` when
    /// neither tier holds it.
    ///
    /// However many requests for one chunk arrive while it is being filled, `fetch` runs once
    /// (one caller's closure; the others' are dropped unused). The fill runs on its own task,
    /// so a request that gives up waiting does not cancel it for the others. Fetched bytes that
    /// do not hash to `id` or are not `len` long are an error for every waiter and are not
    /// cached; no error is cached, so the next request fetches again.
    pub async fn get_or_fetch<F, Fut, E>(
        &self,
        id: Blake3Hash,
        len: u32,
        fetch: F,
    ) -> Result<Bytes, CacheError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Bytes, E>> + Send + 'static,
        E: std::error::Error + Send + Sync + 'static,
    {
        let counters = &self.inner.counters;
        if let Some(bytes) = self.inner.memory.get(&id) {
            add(&counters.memory_hits, 1);
            return Ok(bytes);
        }
        let waiter = match self.inner.fills.join(&id, || self.inner.memory.get(&id)) {
            Joined::Ready(bytes) => {
                add(&counters.memory_hits, 1);
                return Ok(bytes);
            }
            Joined::Follow(waiter) => {
                add(&counters.joined_fills, 1);
                waiter
            }
            Joined::Lead(leader, waiter) => {
                tokio::spawn(Arc::clone(&self.inner).fill(id, len, fetch, leader));
                waiter
            }
        };
        waiter
            .wait()
            .await
            .unwrap_or(Err(CacheError::FillAborted { id }))
    }

    /// The counters this cache was opened with.
    pub fn counters(&self) -> &CacheCounters {
        &self.inner.counters
    }

    /// Bytes of chunks in the memory tier.
    pub fn memory_bytes(&self) -> u64 {
        self.inner.memory.bytes()
    }

    /// The memory tier's budget (the configured one, rounded down to a multiple of its
    /// shard count).
    pub fn memory_budget(&self) -> u64 {
        self.inner.memory.budget()
    }

    /// Bytes of chunk files the disk tier keeps (0 without one).
    pub fn disk_bytes(&self) -> u64 {
        self.inner.disk.as_ref().map_or(0, DiskTier::bytes)
    }

    /// How many chunks the disk tier keeps (0 without one).
    pub fn disk_chunks(&self) -> usize {
        self.inner.disk.as_ref().map_or(0, DiskTier::len)
    }

    /// The disk tier's budget (0 without one).
    pub fn disk_budget(&self) -> u64 {
        self.inner.disk.as_ref().map_or(0, DiskTier::budget)
    }

    /// Where `id` is held, without counting a read.
    pub fn residence(&self, id: &Blake3Hash) -> Residence {
        Residence {
            memory: self.inner.memory.contains(id),
            disk: self.inner.disk.as_ref().is_some_and(|d| d.contains(id)),
        }
    }

    /// Drops `id` from the memory tier only (for operators and tests: the next read goes to
    /// disk).
    pub fn evict_from_memory(&self, id: &Blake3Hash) {
        self.inner.memory.remove(id);
    }

    /// Where chunk `id`'s file would be in the disk tier (`None` without one).
    pub fn disk_path_of(&self, id: &Blake3Hash) -> Option<PathBuf> {
        self.inner.disk.as_ref().map(|d| d.path_of(id))
    }

    /// How many fills are under way.
    pub fn fills_in_flight(&self) -> usize {
        self.inner.fills.len()
    }
}

impl Inner {
    /// Runs one fill and hands its result to every waiter.
    async fn fill<F, Fut, E>(
        self: Arc<Self>,
        id: Blake3Hash,
        len: u32,
        fetch: F,
        leader: Leader<Blake3Hash, FillResult>,
    ) where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Bytes, E>> + Send + 'static,
        E: std::error::Error + Send + Sync + 'static,
    {
        let result = self.load(id, len, fetch).await;
        leader.finish(result);
    }

    async fn load<F, Fut, E>(self: Arc<Self>, id: Blake3Hash, len: u32, fetch: F) -> FillResult
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let counters = &self.counters;
        match Arc::clone(&self).read_disk(id).await {
            Ok(Some(bytes)) => {
                add(&counters.disk_hits, 1);
                return Ok(bytes);
            }
            Ok(None) => {}
            // A disk that fails to read is no reason not to serve: fetch instead.
            Err(_) => add(&counters.disk_errors, 1),
        }
        add(&counters.misses, 1);
        add(&counters.fills, 1);
        let fetched = fetch().await.map_err(|e| CacheError::Fetch {
            id,
            source: Arc::new(e),
        });
        let stored = match fetched {
            Ok(bytes) => Arc::clone(&self).store(id, len, bytes).await,
            Err(e) => Err(e),
        };
        if let Err(e) = &stored {
            add(&counters.fill_errors, 1);
            if matches!(
                e,
                CacheError::HashMismatch { .. } | CacheError::LengthMismatch { .. }
            ) {
                add(&counters.fill_mismatches, 1);
            }
        }
        stored
    }

    /// Reads `id` from the disk tier and promotes it to memory; `None` without a disk tier.
    async fn read_disk(self: Arc<Self>, id: Blake3Hash) -> Result<Option<Bytes>, CacheError> {
        if self.disk.is_none() {
            return Ok(None);
        }
        let this = Arc::clone(&self);
        let found = tokio::task::spawn_blocking(move || match &this.disk {
            Some(disk) => disk.get(&id, &this.counters),
            None => Ok(None),
        })
        .await
        .map_err(|_| CacheError::FillAborted { id })??;
        if let Some(bytes) = &found {
            self.memory.insert(id, bytes.clone(), &self.counters);
        }
        Ok(found)
    }

    /// Verifies fetched bytes, then keeps them in both tiers.
    async fn store(self: Arc<Self>, id: Blake3Hash, len: u32, bytes: Bytes) -> FillResult {
        let this = Arc::clone(&self);
        let bytes = tokio::task::spawn_blocking(move || {
            verify(&id, len, &bytes)?;
            if let Some(disk) = &this.disk
                && disk.put(&id, &bytes, &this.counters).is_err()
            {
                // Verified bytes are still good to serve; only the disk failed.
                add(&this.counters.disk_errors, 1);
            }
            Ok::<_, CacheError>(bytes)
        })
        .await
        .map_err(|_| CacheError::FillAborted { id })??;
        self.memory.insert(id, bytes.clone(), &self.counters);
        Ok(bytes)
    }
}

/// Whether `bytes` are chunk `id` of `len` bytes.
fn verify(id: &Blake3Hash, len: u32, bytes: &[u8]) -> Result<(), CacheError> {
    let actual = Blake3Hash::of(bytes);
    if actual != *id {
        return Err(CacheError::HashMismatch { id: *id, actual });
    }
    if usize::try_from(len).ok() != Some(bytes.len()) {
        return Err(CacheError::LengthMismatch {
            id: *id,
            expected: len,
            actual: bytes.len(),
        });
    }
    Ok(())
}
