//! [`ObjectChunkStore`]: chunks as objects of an S3-compatible bucket, one object per chunk
//! under `chunks/{BLAKE3 hex}`.
//!
//! What S3 cannot promise is said where it matters:
//! - A write is atomic (an object is wholly there or not), so a chunk is never torn.
//! - "Offered again" refreshes the write time only when the object is older than
//!   `refresh_after_secs`: the chunk is written again, whole, so garbage collection sees it
//!   as new. Younger chunks are not rewritten.
//! - [`remove_if_written_before`](ChunkStore::remove_if_written_before) reads the write time,
//!   then deletes: S3 has no conditional delete. Garbage collection therefore runs on one
//!   origin at a time, and a processor checks that every chunk it named is still there
//!   before it reports a version complete.

mod bucket;
mod config;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use packyard_core::chunk_list::Blake3Hash;

pub use bucket::{Bucket, ObjectInfo};
pub use config::{Credentials, ObjectStoreConfig, StoreConfigError};

use crate::ChunkStoreError;
use crate::store::{ChunkIds, ChunkMeta, ChunkStats, ChunkStore, Put, Result, check_put};

const CHUNKS: &str = "chunks";

/// A chunk store over an S3-compatible bucket.
#[derive(Debug)]
pub struct ObjectChunkStore {
    bucket: Bucket,
    refresh_after: Duration,
    corrupt_found: AtomicU64,
}

impl ObjectChunkStore {
    /// The chunk store in the bucket `config` names (its `chunks/` keys).
    pub fn open(config: &ObjectStoreConfig) -> Result<Self> {
        Ok(Self {
            bucket: Bucket::open(config)?,
            refresh_after: Duration::from_secs(config.refresh_after_secs),
            corrupt_found: AtomicU64::new(0),
        })
    }

    /// The bucket underneath, for what else a service keeps there.
    pub fn bucket(&self) -> &Bucket {
        &self.bucket
    }

    fn key(id: &Blake3Hash) -> String {
        format!("{CHUNKS}/{id}")
    }
}

impl ChunkStore for ObjectChunkStore {
    fn contains(&self, id: &Blake3Hash) -> Result<bool> {
        Ok(self.bucket.head(&Self::key(id))?.is_some())
    }

    fn get(&self, id: &Blake3Hash) -> Result<Option<Bytes>> {
        let key = Self::key(id);
        let Some(bytes) = self.bucket.get(&key)? else {
            return Ok(None);
        };
        if Blake3Hash::of(&bytes) != *id {
            self.bucket.delete(&key)?;
            self.corrupt_found.fetch_add(1, Ordering::Relaxed);
            return Err(ChunkStoreError::Corrupt { id: *id });
        }
        Ok(Some(bytes))
    }

    fn put(&self, id: &Blake3Hash, bytes: &[u8]) -> Result<Put> {
        check_put(id, bytes)?;
        let key = Self::key(id);
        if let Some(existing) = self.bucket.head(&key)? {
            let age = SystemTime::now()
                .duration_since(existing.written)
                .unwrap_or_default();
            if age < self.refresh_after {
                return Ok(Put::AlreadyPresent);
            }
            self.bucket.put(&key, Bytes::copy_from_slice(bytes))?;
            return Ok(Put::AlreadyPresent);
        }
        self.bucket.put(&key, Bytes::copy_from_slice(bytes))?;
        Ok(Put::Stored)
    }

    fn remove(&self, id: &Blake3Hash) -> Result<bool> {
        let key = Self::key(id);
        if self.bucket.head(&key)?.is_none() {
            return Ok(false);
        }
        self.bucket.delete(&key)?;
        Ok(true)
    }

    fn remove_if_written_before(&self, id: &Blake3Hash, cutoff: SystemTime) -> Result<bool> {
        let key = Self::key(id);
        match self.bucket.head(&key)? {
            Some(info) if info.written < cutoff => {
                self.bucket.delete(&key)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn meta(&self, id: &Blake3Hash) -> Result<Option<ChunkMeta>> {
        Ok(self.bucket.head(&Self::key(id))?.map(|info| ChunkMeta {
            len: info.len,
            written: info.written,
        }))
    }

    fn ids(&self) -> Result<ChunkIds<'_>> {
        let ids = self
            .bucket
            .list(CHUNKS)?
            .into_iter()
            .filter_map(|info| chunk_id(&info.key))
            .map(Ok);
        Ok(Box::new(ids.collect::<Vec<_>>().into_iter()))
    }

    fn stats(&self) -> Result<ChunkStats> {
        let mut stats = ChunkStats {
            corrupt_found: self.corrupt_found.load(Ordering::Relaxed),
            ..ChunkStats::default()
        };
        for info in self.bucket.list(CHUNKS)? {
            if chunk_id(&info.key).is_some() {
                stats.chunks += 1;
                stats.bytes += info.len;
            }
        }
        Ok(stats)
    }
}

/// The chunk a `chunks/{hex}` key names; `None` for anything else in the folder.
fn chunk_id(key: &str) -> Option<Blake3Hash> {
    Blake3Hash::parse_hex(key.strip_prefix("chunks/")?).ok()
}
