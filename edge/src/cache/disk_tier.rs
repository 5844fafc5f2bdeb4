//! [`DiskTier`]: chunk files in a [`DiskChunkStore`], within a byte budget that survives
//! restarts.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use packyard_chunk_store::{ChunkStore, ChunkStoreError, DiskChunkStore};
use packyard_core::chunk_list::Blake3Hash;

use super::CacheError;
use super::counters::{CacheCounters, add};
use super::policy::{ChunkPolicy, S3FifoPolicy};

/// The disk tier: the files are the chunks, the policy is the bookkeeping of which to keep.
///
/// Every method blocks on the file system; the cache calls them from `spawn_blocking`.
///
/// The policy is the index: a chunk the policy does not hold is not served from disk, and a
/// chunk it holds whose file is gone or corrupt is dropped from it. A new chunk's file is
/// written before the policy admits it, and evicted files are removed before `put` returns,
/// so once a `put` returns the files take at most the budget.
#[derive(Debug)]
pub(crate) struct DiskTier {
    store: DiskChunkStore,
    policy: Mutex<S3FifoPolicy>,
}

impl DiskTier {
    /// Opens the store under `root` and rebuilds the bookkeeping from the chunk files there:
    /// when they exceed `budget`, the most recently written that fit are kept and the rest
    /// removed (counted as evictions). Nothing is fetched.
    pub(crate) fn open(
        root: &Path,
        budget: u64,
        counters: &CacheCounters,
    ) -> Result<Self, CacheError> {
        let store = DiskChunkStore::open(root)?;
        let mut found = Vec::new();
        for id in store.ids()? {
            let id = id?;
            // A chunk removed since it was listed is simply not there.
            if let Some(meta) = store.meta(&id)? {
                found.push((meta.written, id, meta.len));
            }
        }
        // Newest first, each kept while it fits: admitting oldest first would let the policy
        // keep the first arrivals and churn the newest through its probation queue.
        found.sort_unstable_by(|a, b| b.cmp(a));
        let mut policy = S3FifoPolicy::new(budget);
        let mut evicted = Vec::new();
        for (_, id, len) in found {
            if policy.bytes().saturating_add(len) <= budget {
                evicted.extend(policy.admit(id, len));
            } else {
                evicted.push(id);
            }
        }
        let tier = Self {
            store,
            policy: Mutex::new(policy),
        };
        tier.remove_files(&evicted, counters)?;
        Ok(tier)
    }

    fn policy(&self) -> MutexGuard<'_, S3FifoPolicy> {
        // Every policy call leaves it consistent before returning, so a panic elsewhere while
        // the lock was held leaves nothing half done.
        self.policy.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The verified bytes of `id`, or `None` when the tier does not hold it. A corrupt file is
    /// removed by the store, counted, and reported as `None` so the caller fetches it again.
    pub(crate) fn get(
        &self,
        id: &Blake3Hash,
        counters: &CacheCounters,
    ) -> Result<Option<Bytes>, CacheError> {
        if !self.policy().touch(id) {
            return Ok(None);
        }
        match self.store.get(id) {
            Ok(Some(bytes)) => Ok(Some(bytes)),
            Ok(None) => {
                self.policy().forget(id);
                Ok(None)
            }
            Err(ChunkStoreError::Corrupt { .. }) => {
                self.policy().forget(id);
                add(&counters.corrupt_dropped, 1);
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the tier holds `id` (without reading it or counting a read).
    pub(crate) fn contains(&self, id: &Blake3Hash) -> bool {
        self.policy().contains(id)
    }

    /// Stores verified `bytes` as chunk `id`, then removes what the policy evicts for it.
    pub(crate) fn put(
        &self,
        id: &Blake3Hash,
        bytes: &[u8],
        counters: &CacheCounters,
    ) -> Result<(), CacheError> {
        self.store.put(id, bytes)?;
        let mut policy = self.policy();
        // Re-admitting a chunk the policy already holds would count it twice.
        if policy.contains(id) {
            return Ok(());
        }
        let evicted = policy.admit(*id, bytes.len() as u64);
        // Removed under the lock, so a chunk evicted here and filled again at once is never
        // admitted before its old file is gone.
        self.remove_files(&evicted, counters)
    }

    fn remove_files(&self, ids: &[Blake3Hash], counters: &CacheCounters) -> Result<(), CacheError> {
        add(&counters.disk_evictions, ids.len() as u64);
        for id in ids {
            self.store.remove(id)?;
        }
        Ok(())
    }

    /// The bytes of the chunk files the tier keeps.
    pub(crate) fn bytes(&self) -> u64 {
        self.policy().bytes()
    }

    /// How many chunks the tier keeps.
    pub(crate) fn len(&self) -> usize {
        self.policy().len()
    }

    pub(crate) fn budget(&self) -> u64 {
        self.policy().budget()
    }

    /// Where chunk `id`'s file is, for operators and tests.
    pub(crate) fn path_of(&self, id: &Blake3Hash) -> std::path::PathBuf {
        self.store.path_of(id)
    }
}
