//! [`MemoryChunkStore`]: chunks in a hash map, for tests and small deployments.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use bytes::Bytes;
use packyard_core::chunk_list::Blake3Hash;

use crate::store::{ChunkIds, ChunkMeta, ChunkStats, ChunkStore, Put, Result, check_put};

#[derive(Debug)]
struct Entry {
    bytes: Bytes,
    written: SystemTime,
}

/// A [`ChunkStore`] in memory. Nothing survives the process.
///
/// Bytes are verified once, on [`put`](ChunkStore::put); after that they live in an
/// immutable [`Bytes`] nothing can change, so reads do not hash them again and this store
/// never finds a corrupt chunk.
#[derive(Debug, Default)]
pub struct MemoryChunkStore {
    chunks: RwLock<HashMap<Blake3Hash, Entry>>,
}

impl MemoryChunkStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    // Every write is one insert or remove, so a panic elsewhere never leaves the map half
    // changed: a poisoned lock still guards a consistent map.
    fn read(&self) -> RwLockReadGuard<'_, HashMap<Blake3Hash, Entry>> {
        self.chunks.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<Blake3Hash, Entry>> {
        self.chunks.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ChunkStore for MemoryChunkStore {
    fn contains(&self, id: &Blake3Hash) -> Result<bool> {
        Ok(self.read().contains_key(id))
    }

    fn get(&self, id: &Blake3Hash) -> Result<Option<Bytes>> {
        Ok(self.read().get(id).map(|e| e.bytes.clone()))
    }

    fn put(&self, id: &Blake3Hash, bytes: &[u8]) -> Result<Put> {
        check_put(id, bytes)?;
        let now = SystemTime::now();
        let mut chunks = self.write();
        if let Some(entry) = chunks.get_mut(id) {
            entry.written = now;
            return Ok(Put::AlreadyPresent);
        }
        let entry = Entry {
            bytes: Bytes::copy_from_slice(bytes),
            written: now,
        };
        chunks.insert(*id, entry);
        Ok(Put::Stored)
    }

    fn remove(&self, id: &Blake3Hash) -> Result<bool> {
        Ok(self.write().remove(id).is_some())
    }

    fn remove_if_written_before(&self, id: &Blake3Hash, cutoff: SystemTime) -> Result<bool> {
        let mut chunks = self.write();
        match chunks.get(id) {
            Some(e) if e.written < cutoff => Ok(chunks.remove(id).is_some()),
            _ => Ok(false),
        }
    }

    fn meta(&self, id: &Blake3Hash) -> Result<Option<ChunkMeta>> {
        Ok(self.read().get(id).map(|e| ChunkMeta {
            len: e.bytes.len() as u64,
            written: e.written,
        }))
    }

    fn ids(&self) -> Result<ChunkIds<'_>> {
        // A snapshot, so no lock is held while the caller iterates.
        let ids: Vec<Blake3Hash> = self.read().keys().copied().collect();
        Ok(Box::new(ids.into_iter().map(Ok)))
    }

    fn stats(&self) -> Result<ChunkStats> {
        let chunks = self.read();
        Ok(ChunkStats {
            chunks: chunks.len() as u64,
            bytes: chunks.values().map(|e| e.bytes.len() as u64).sum(),
            corrupt_found: 0,
        })
    }
}
