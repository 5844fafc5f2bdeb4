//! [`ChunkStore`]: the contract every chunk store keeps, whatever holds the bytes.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use packyard_core::chunk_list::{Blake3Hash, MAX_CHUNK_LEN};

use crate::ChunkStoreError;

/// The result of a chunk store call.
pub type Result<T, E = ChunkStoreError> = std::result::Result<T, E>;

/// The ids of every chunk in a store, produced lazily.
pub type ChunkIds<'a> = Box<dyn Iterator<Item = Result<Blake3Hash>> + Send + 'a>;

/// What a [`ChunkStore::put`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// The chunk was new and is now stored.
    Stored,
    /// The chunk was already there; its bytes were not rewritten, only its write time
    /// refreshed, so garbage collection treats it as just written.
    AlreadyPresent,
}

/// What a store knows about one chunk without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    /// Its length in bytes.
    pub len: u64,
    /// When it was last written, or last offered again to [`ChunkStore::put`].
    pub written: SystemTime,
}

/// A store's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkStats {
    /// How many chunks it holds.
    pub chunks: u64,
    /// Their total size in bytes.
    pub bytes: u64,
    /// How many corrupt chunks reads have found (and removed) since the store was opened.
    pub corrupt_found: u64,
}

/// A content-addressed store of chunks: each chunk is named by the BLAKE3 hash of its bytes.
///
/// Every implementation keeps these promises, checked by this crate's `conformance` suite
/// (feature `conformance`):
///
/// - **Reads are verified.** [`get`](Self::get) never returns bytes that do not hash to the
///   id asked for. A chunk found corrupt is removed, counted in
///   [`ChunkStats::corrupt_found`] and reported as [`ChunkStoreError::Corrupt`].
/// - **Writes are checked and atomic.** [`put`](Self::put) refuses bytes that do not hash to
///   the id, empty chunks and chunks over [`MAX_CHUNK_LEN`]; a chunk is either wholly
///   present under its name or absent, even after a crash.
/// - **Writes are idempotent.** Putting a chunk that is present does not rewrite it.
///
/// Methods block (they may touch a disk); async callers use `spawn_blocking`.
pub trait ChunkStore: Send + Sync {
    /// Whether the store holds `id` (without verifying its bytes).
    fn contains(&self, id: &Blake3Hash) -> Result<bool>;

    /// The bytes of `id`, verified against it; `None` if the store does not hold it.
    fn get(&self, id: &Blake3Hash) -> Result<Option<Bytes>>;

    /// Stores `bytes` as chunk `id`, after checking that they hash to `id`.
    fn put(&self, id: &Blake3Hash, bytes: &[u8]) -> Result<Put>;

    /// Removes `id`; whether it was there.
    fn remove(&self, id: &Blake3Hash) -> Result<bool>;

    /// Removes `id` only if it was last written before `cutoff`, atomically with respect to
    /// [`put`](Self::put): a chunk offered again after the caller looked is kept. Whether it
    /// was removed.
    fn remove_if_written_before(&self, id: &Blake3Hash, cutoff: SystemTime) -> Result<bool>;

    /// The length and write time of `id`; `None` if the store does not hold it.
    fn meta(&self, id: &Blake3Hash) -> Result<Option<ChunkMeta>>;

    /// Every chunk id in the store, in no particular order. Chunks put or removed while the
    /// iteration runs may or may not appear.
    fn ids(&self) -> Result<ChunkIds<'_>>;

    /// The store's totals. May walk the whole store: for reports, not for every request.
    fn stats(&self) -> Result<ChunkStats>;

    /// How many bytes of chunks one [`put_many`](Self::put_many) should carry to be worth
    /// one write; 0 when the store writes each chunk on its own anyway.
    fn batch_bytes(&self) -> usize {
        0
    }

    /// Stores several chunks, each checked as [`put`](Self::put) checks it; what was done
    /// with each, in order. If any is refused, none is stored. A store that groups chunks
    /// writes those it lacks together.
    fn put_many(&self, chunks: &[(Blake3Hash, &[u8])]) -> Result<Vec<Put>> {
        for (id, bytes) in chunks {
            check_put(id, bytes)?;
        }
        chunks
            .iter()
            .map(|(id, bytes)| self.put(id, bytes))
            .collect()
    }

    /// The bytes of each of `ids`, in order, each verified as [`get`](Self::get) verifies
    /// it. A store that groups chunks reads neighbours in one request.
    fn get_many(&self, ids: &[Blake3Hash]) -> Result<Vec<Option<Bytes>>> {
        ids.iter().map(|id| self.get(id)).collect()
    }

    /// Whether the store holds each of `ids`, in order.
    fn contains_many(&self, ids: &[Blake3Hash]) -> Result<Vec<bool>> {
        ids.iter().map(|id| self.contains(id)).collect()
    }

    /// Whether the store holds each of `ids`, asking the store itself rather than what this
    /// process remembers of it: for a check that must see removals made by another process
    /// sharing the store (its garbage collection).
    fn recheck(&self, ids: &[Blake3Hash]) -> Result<Vec<bool>> {
        self.contains_many(ids)
    }

    /// Garbage collection's removal: removes those of `ids` last written before `cutoff`,
    /// and returns them with their lengths. A store that groups chunks may keep a chunk whose
    /// group is still mostly live (it is then not returned), until more of the group is
    /// garbage.
    fn remove_garbage(
        &self,
        ids: &[Blake3Hash],
        cutoff: SystemTime,
    ) -> Result<Vec<(Blake3Hash, u64)>> {
        let mut removed = Vec::new();
        for id in ids {
            let Some(meta) = self.meta(id)? else {
                continue;
            };
            if self.remove_if_written_before(id, cutoff)? {
                removed.push((*id, meta.len));
            }
        }
        Ok(removed)
    }
}

/// Checks bytes offered to [`ChunkStore::put`]: not empty, not too large, hashing to `id`.
pub fn check_put(id: &Blake3Hash, bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        return Err(ChunkStoreError::Empty { id: *id });
    }
    if u32::try_from(bytes.len()).map_or(true, |len| len > MAX_CHUNK_LEN) {
        return Err(ChunkStoreError::TooLarge {
            id: *id,
            len: bytes.len(),
        });
    }
    let actual = Blake3Hash::of(bytes);
    if actual != *id {
        return Err(ChunkStoreError::HashMismatch { id: *id, actual });
    }
    Ok(())
}

/// A shared store is a store: services hold `Arc<S>` and hand clones to blocking tasks.
impl<S: ChunkStore + ?Sized> ChunkStore for Arc<S> {
    fn contains(&self, id: &Blake3Hash) -> Result<bool> {
        (**self).contains(id)
    }
    fn get(&self, id: &Blake3Hash) -> Result<Option<Bytes>> {
        (**self).get(id)
    }
    fn put(&self, id: &Blake3Hash, bytes: &[u8]) -> Result<Put> {
        (**self).put(id, bytes)
    }
    fn remove(&self, id: &Blake3Hash) -> Result<bool> {
        (**self).remove(id)
    }
    fn remove_if_written_before(&self, id: &Blake3Hash, cutoff: SystemTime) -> Result<bool> {
        (**self).remove_if_written_before(id, cutoff)
    }
    fn meta(&self, id: &Blake3Hash) -> Result<Option<ChunkMeta>> {
        (**self).meta(id)
    }
    fn ids(&self) -> Result<ChunkIds<'_>> {
        (**self).ids()
    }
    fn stats(&self) -> Result<ChunkStats> {
        (**self).stats()
    }
    fn batch_bytes(&self) -> usize {
        (**self).batch_bytes()
    }
    fn put_many(&self, chunks: &[(Blake3Hash, &[u8])]) -> Result<Vec<Put>> {
        (**self).put_many(chunks)
    }
    fn get_many(&self, ids: &[Blake3Hash]) -> Result<Vec<Option<Bytes>>> {
        (**self).get_many(ids)
    }
    fn contains_many(&self, ids: &[Blake3Hash]) -> Result<Vec<bool>> {
        (**self).contains_many(ids)
    }
    fn recheck(&self, ids: &[Blake3Hash]) -> Result<Vec<bool>> {
        (**self).recheck(ids)
    }
    fn remove_garbage(
        &self,
        ids: &[Blake3Hash],
        cutoff: SystemTime,
    ) -> Result<Vec<(Blake3Hash, u64)>> {
        (**self).remove_garbage(ids, cutoff)
    }
}
