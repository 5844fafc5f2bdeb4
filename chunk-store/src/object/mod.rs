//! [`ObjectChunkStore`]: chunks in an S3-compatible bucket, grouped into segment objects
//! under `segments/` (module `segment` has the format).
//!
//! One object per chunk costs the store a write (and its replication) per 64 KiB; Garage
//! takes the same bytes about four times faster as 8 MiB objects (BENCHMARKS.md, "Object
//! storage"). So chunks written together go into one segment of about
//! [`ObjectStoreConfig::segment_bytes`], with the index that finds them at its end.
//!
//! - **A segment never changes.** It is written whole by one PUT and only ever deleted, so a
//!   chunk is in the store exactly when a segment listing it is there, and a crash leaves
//!   nothing half-written.
//! - **Each process keeps the index in memory**: the segments it knows and where each chunk
//!   is. It reads every segment's index once (the first call lists the bucket), then, when a
//!   chunk it is asked for is not in it, lists only segments named since its last listing. A segment
//!   another process deleted (garbage collection) is found gone when it is read, and looked
//!   for again. [`recheck`](ChunkStore::recheck) asks the bucket itself.
//! - **A chunk may have several copies** (two writers storing it at once; a chunk offered
//!   again after `refresh_after_secs` is written again, so garbage collection sees it as
//!   new): the newest counts, older ones are dead bytes.
//! - **Garbage collection** deletes a segment with nothing live in it, and rewrites one whose
//!   garbage is a quarter of its bytes or more (its live chunks into a new segment, then the
//!   old deleted); below that, garbage stays until more of its segment dies. S3 has no
//!   conditional delete, so it runs on one origin at a time, and a processor rechecks the
//!   chunks it found present before it reports a version complete.

mod bucket;
mod config;
mod index;
mod segment;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use packyard_core::chunk_list::Blake3Hash;

pub use bucket::{Bucket, ObjectInfo};
pub use config::{Credentials, ObjectStoreConfig, StoreConfigError};

use self::index::{Fate, Index, Loc};
use self::segment::{Entry, Tail};
use crate::ChunkStoreError;
use crate::store::{ChunkIds, ChunkMeta, ChunkStats, ChunkStore, Put, Result, check_put};
use crate::windows::in_windows;

const SEGMENTS: &str = "segments";
/// How far before its last listing a process lists for new segments: a segment is named
/// when its write starts and listed when the write ends, and writers' clocks differ.
const LISTING_OVERLAP: Duration = Duration::from_secs(300);
/// Bytes read from a segment's end to find its index: one request for up to 1,800 chunks.
const TAIL_READ: u64 = 64 << 10;
/// Garbage collection rewrites a segment when at least 1/`REWRITE_SHARE` of its bytes are
/// garbage.
const REWRITE_SHARE: u64 = 4;
/// The most bytes one read of neighbouring chunks asks for.
const MAX_RUN: u64 = 16 << 20;
/// Segments read or looked up at once.
const IN_FLIGHT: usize = 8;

/// A chunk store over an S3-compatible bucket.
#[derive(Debug)]
pub struct ObjectChunkStore {
    bucket: Bucket,
    refresh_after: Duration,
    segment_bytes: usize,
    corrupt_found: AtomicU64,
    index: RwLock<Index>,
    /// Held while the bucket is listed, so that concurrent misses share one listing.
    listing: Mutex<Listing>,
}

#[derive(Debug, Default)]
struct Listing {
    /// Whether the whole bucket has been listed once.
    loaded: bool,
    /// When the last listing started: a miss after that needs another.
    last_started: Option<Instant>,
    /// The same, by the wall clock: the next listing asks for segments named after this
    /// (less [`LISTING_OVERLAP`]).
    listed_at: Option<SystemTime>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ObjectChunkStore {
    /// The chunk store in the bucket `config` names (its `segments/` keys). Nothing is sent
    /// yet: the first call reads the bucket's index.
    pub fn open(config: &ObjectStoreConfig) -> Result<Self> {
        Ok(Self {
            bucket: Bucket::open(config)?,
            refresh_after: Duration::from_secs(config.refresh_after_secs),
            segment_bytes: usize::try_from(config.segment_bytes).unwrap_or(usize::MAX),
            corrupt_found: AtomicU64::new(0),
            index: RwLock::new(Index::default()),
            listing: Mutex::new(Listing::default()),
        })
    }

    /// The bucket underneath, for what else a service keeps there.
    pub fn bucket(&self) -> &Bucket {
        &self.bucket
    }

    fn key(segment: &str) -> String {
        format!("{SEGMENTS}/{segment}")
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lists the bucket unless a listing started at or after `since` (one that would have
    /// seen what the caller missed); `full` lists every segment (and forgets those gone)
    /// rather than the newest.
    fn refresh(&self, since: Instant, full: bool) -> Result<()> {
        let mut listing = lock(&self.listing);
        let full = full || !listing.loaded;
        if !full && listing.last_started.is_some_and(|t| t >= since) {
            return Ok(());
        }
        let (started, started_at) = (Instant::now(), SystemTime::now());
        let listed = if full {
            self.bucket.list(SEGMENTS)?
        } else {
            let last = listing.listed_at.unwrap_or(UNIX_EPOCH);
            let after = last.checked_sub(LISTING_OVERLAP).unwrap_or(UNIX_EPOCH);
            self.bucket
                .list_after(SEGMENTS, &segment::listed_after(after))?
        };
        let listed: Vec<(String, u64)> = listed
            .into_iter()
            .filter_map(|info| {
                let name = info.key.strip_prefix("segments/")?;
                segment::written(name).map(|_| (name.to_owned(), info.len))
            })
            .collect();
        let new: Vec<&(String, u64)> = {
            let index = self.read();
            listed.iter().filter(|(n, _)| !index.knows(n)).collect()
        };
        let loaded = in_windows(&new, IN_FLIGHT, |(name, len)| self.load(name, *len));
        let mut index = self.write();
        for ((name, _), loaded) in new.into_iter().zip(loaded) {
            let written = segment::written(name).expect("only segment names are listed");
            match loaded? {
                Some(Ok(entries)) => index.insert(name, written, entries),
                Some(Err(_not_a_segment)) => index.mark_unreadable(name),
                None => {}
            }
        }
        if full {
            let names: HashSet<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
            let settled = started_at
                .checked_sub(LISTING_OVERLAP)
                .unwrap_or(UNIX_EPOCH);
            for gone in index.written_before(settled) {
                if !names.contains(&*gone) {
                    index.forget(&gone);
                }
            }
        }
        listing.loaded = true;
        listing.last_started = Some(started);
        listing.listed_at = Some(started_at);
        Ok(())
    }

    /// Reads the index of segment `name` (`len` bytes): `None` if it is gone, an error
    /// string if the object is not a segment.
    fn load(&self, name: &str, len: u64) -> Result<Option<Result<Vec<Entry>, String>>> {
        let key = Self::key(name);
        let mut want = TAIL_READ.min(len);
        loop {
            let Some(tail) = self.bucket.get_last(&key, want)? else {
                return Ok(None);
            };
            match segment::decode_tail(&tail, len) {
                Ok(Tail::Entries(entries)) => return Ok(Some(Ok(entries))),
                Ok(Tail::NeedLast(n)) if n > want => want = n,
                Ok(Tail::NeedLast(_)) => return Ok(Some(Err("its index is cut short".into()))),
                Err(reason) => return Ok(Some(Err(reason))),
            }
        }
    }

    fn ensure_loaded(&self) -> Result<()> {
        if lock(&self.listing).loaded {
            return Ok(());
        }
        self.refresh(Instant::now(), true)
    }

    /// Where the newest copy of `id` is, listing the bucket again if this process does not
    /// know it (unless a listing started since `since`).
    fn locate(&self, id: &Blake3Hash, since: Instant) -> Result<Option<Loc>> {
        self.ensure_loaded()?;
        if let Some(loc) = self.read().newest(id) {
            return Ok(Some(loc.clone()));
        }
        self.refresh(since, false)?;
        Ok(self.read().newest(id).cloned())
    }

    /// Writes `chunks` as one new segment and adds it to the index.
    fn write_segment(&self, chunks: &[(Blake3Hash, &[u8])]) -> Result<()> {
        let name = segment::name(SystemTime::now());
        let (bytes, entries) = segment::encode(chunks);
        self.bucket.put(&Self::key(&name), Bytes::from(bytes))?;
        let written = segment::written(&name).expect("a name this module made");
        self.write().insert(&name, written, entries);
        Ok(())
    }

    /// Deletes or rewrites each of `segments` as [`Index::fate`] decides with `dead` chunks.
    fn settle(&self, segments: &[Arc<str>], dead: &HashSet<Blake3Hash>, force: bool) -> Result<()> {
        for name in segments {
            let fate = self.read().fate(name, dead, REWRITE_SHARE, force);
            let key = Self::key(name);
            match fate {
                None => continue,
                Some(Fate::Delete) => {}
                Some(Fate::Rewrite(live)) => {
                    let Some(bytes) = self.bucket.get(&key)? else {
                        // Rewritten or deleted by another process already.
                        self.write().forget(name);
                        continue;
                    };
                    let mut keep = Vec::with_capacity(live.len());
                    for e in &live {
                        let at = usize::try_from(e.offset).unwrap_or(usize::MAX);
                        match bytes.get(at..at.saturating_add(e.len as usize)) {
                            Some(b) if Blake3Hash::of(b) == e.id => keep.push((e.id, b)),
                            _ => {
                                self.corrupt_found.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    if !keep.is_empty() {
                        self.write_segment(&keep)?;
                    }
                }
            }
            self.bucket.delete(&key)?;
            self.write().forget(name);
        }
        Ok(())
    }
}

/// Where chunks were kept one object each before segments: `chunks/{BLAKE3 hex}`.
const CHUNK_OBJECTS: &str = "chunks";

/// What [`ObjectChunkStore::regroup`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegroupReport {
    /// Chunk objects moved into segments (and deleted).
    pub moved: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Chunk objects whose bytes no longer hash to their id: left where they are, not moved.
    pub corrupt: Vec<Blake3Hash>,
}

impl ObjectChunkStore {
    /// Moves the chunks a bucket kept one object each (`chunks/{id}`, before segments) into
    /// segments: each read and verified against its id, written in groups of
    /// `segment_bytes`, and its object deleted only once the segment holding it is written,
    /// so a run stopped anywhere loses nothing and the next goes on. `progress` sees the
    /// report after each group.
    pub fn regroup(
        &self,
        mut progress: impl FnMut(&RegroupReport) -> std::ops::ControlFlow<()>,
    ) -> Result<RegroupReport> {
        let mut report = RegroupReport::default();
        let mut group: Vec<(Blake3Hash, Bytes, String)> = Vec::new();
        let mut group_bytes = 0;
        let objects = self.bucket.list(CHUNK_OBJECTS)?;
        let last = objects.len().saturating_sub(1);
        for (i, info) in objects.into_iter().enumerate() {
            let id = info
                .key
                .strip_prefix("chunks/")
                .and_then(|hex| Blake3Hash::parse_hex(hex).ok());
            if let Some(id) = id
                && let Some(bytes) = self.bucket.get(&info.key)?
            {
                if Blake3Hash::of(&bytes) == id {
                    group_bytes += bytes.len();
                    group.push((id, bytes, info.key));
                } else {
                    report.corrupt.push(id);
                }
            }
            if group.is_empty() || (group_bytes < self.segment_bytes && i < last) {
                continue;
            }
            let chunks: Vec<(Blake3Hash, &[u8])> =
                group.iter().map(|(id, b, _)| (*id, &b[..])).collect();
            self.put_many(&chunks)?;
            for (_, bytes, key) in group.drain(..) {
                self.bucket.delete(&key)?;
                report.moved += 1;
                report.bytes += bytes.len() as u64;
            }
            group_bytes = 0;
            if progress(&report).is_break() {
                break;
            }
        }
        Ok(report)
    }
}

impl ChunkStore for ObjectChunkStore {
    fn contains(&self, id: &Blake3Hash) -> Result<bool> {
        Ok(self.locate(id, Instant::now())?.is_some())
    }

    fn get(&self, id: &Blake3Hash) -> Result<Option<Bytes>> {
        let since = Instant::now();
        // A segment found gone was rewritten or deleted by garbage collection meanwhile: the
        // chunk may be in a newer one.
        for _ in 0..3 {
            let Some(loc) = self.locate(id, since)? else {
                return Ok(None);
            };
            let range = loc.offset..loc.offset + u64::from(loc.len);
            match self.bucket.get_range(&Self::key(&loc.segment), range)? {
                None => {
                    self.write().forget(&loc.segment);
                    self.refresh(Instant::now(), false)?;
                }
                Some(bytes) if Blake3Hash::of(&bytes) == *id => return Ok(Some(bytes)),
                Some(_) => {
                    self.corrupt_found.fetch_add(1, Ordering::Relaxed);
                    self.settle(&[loc.segment], &HashSet::from([*id]), true)?;
                    return Err(ChunkStoreError::Corrupt { id: *id });
                }
            }
        }
        Ok(None)
    }

    fn get_many(&self, ids: &[Blake3Hash]) -> Result<Vec<Option<Bytes>>> {
        let since = Instant::now();
        self.ensure_loaded()?;
        if ids.iter().any(|id| self.read().newest(id).is_none()) {
            self.refresh(since, false)?;
        }
        // Runs of chunks that lie end to end in one segment: one ranged read each.
        let mut runs: Vec<(Loc, Vec<(usize, u32)>)> = Vec::new();
        let mut answers: Vec<Option<Bytes>> = vec![None; ids.len()];
        {
            let index = self.read();
            for (i, id) in ids.iter().enumerate() {
                let Some(loc) = index.newest(id) else {
                    continue;
                };
                match runs.last_mut() {
                    Some((run, members))
                        if run.segment == loc.segment
                            && run.offset + u64::from(run.len) == loc.offset
                            && u64::from(run.len) + u64::from(loc.len) <= MAX_RUN =>
                    {
                        run.len += loc.len;
                        members.push((i, loc.len));
                    }
                    _ => runs.push((loc.clone(), vec![(i, loc.len)])),
                }
            }
        }
        let read = in_windows(&runs, IN_FLIGHT, |(run, _)| {
            let range = run.offset..run.offset + u64::from(run.len);
            self.bucket.get_range(&Self::key(&run.segment), range)
        });
        for ((_, members), bytes) in runs.iter().zip(read) {
            let bytes = bytes?;
            let mut at = 0usize;
            for &(i, len) in members {
                let len = len as usize;
                let piece = bytes
                    .as_ref()
                    .and_then(|b| b.get(at..at + len))
                    .filter(|piece| Blake3Hash::of(piece) == ids[i]);
                at += len;
                // A run whose segment is gone, or a chunk that does not verify, is read on
                // its own: that read looks for it again, or removes what is corrupt.
                answers[i] = match piece {
                    Some(piece) => Some(bytes.as_ref().expect("a piece").slice_ref(piece)),
                    None => self.get(&ids[i])?,
                };
            }
        }
        Ok(answers)
    }

    fn put(&self, id: &Blake3Hash, bytes: &[u8]) -> Result<Put> {
        Ok(self.put_many(&[(*id, bytes)])?[0])
    }

    fn put_many(&self, chunks: &[(Blake3Hash, &[u8])]) -> Result<Vec<Put>> {
        for (id, bytes) in chunks {
            check_put(id, bytes)?;
        }
        self.ensure_loaded()?;
        // Not listing the bucket for chunks this process does not know: at worst a chunk
        // another process stored meanwhile gets a second copy, which is dead bytes.
        let now = SystemTime::now();
        let mut puts = Vec::with_capacity(chunks.len());
        let mut fresh = Vec::new();
        let mut seen = HashSet::new();
        {
            let index = self.read();
            for &(id, bytes) in chunks {
                if !seen.insert(id) {
                    puts.push(Put::AlreadyPresent);
                    continue;
                }
                match index.newest(&id) {
                    Some(loc) => {
                        let age = now.duration_since(loc.written).unwrap_or_default();
                        if age >= self.refresh_after {
                            fresh.push((id, bytes));
                        }
                        puts.push(Put::AlreadyPresent);
                    }
                    None => {
                        fresh.push((id, bytes));
                        puts.push(Put::Stored);
                    }
                }
            }
        }
        if !fresh.is_empty() {
            self.write_segment(&fresh)?;
        }
        Ok(puts)
    }

    fn batch_bytes(&self) -> usize {
        self.segment_bytes
    }

    fn contains_many(&self, ids: &[Blake3Hash]) -> Result<Vec<bool>> {
        let since = Instant::now();
        self.ensure_loaded()?;
        let found: Vec<bool> = {
            let index = self.read();
            ids.iter().map(|id| index.newest(id).is_some()).collect()
        };
        if found.iter().all(|f| *f) {
            return Ok(found);
        }
        self.refresh(since, false)?;
        let index = self.read();
        Ok(ids.iter().map(|id| index.newest(id).is_some()).collect())
    }

    fn recheck(&self, ids: &[Blake3Hash]) -> Result<Vec<bool>> {
        let since = Instant::now();
        self.ensure_loaded()?;
        for round in 0..3 {
            let holding: Vec<Option<Arc<str>>> = {
                let index = self.read();
                ids.iter()
                    .map(|id| index.newest(id).map(|l| l.segment.clone()))
                    .collect()
            };
            if round == 0 && holding.iter().any(Option::is_none) {
                self.refresh(since, false)?;
                continue;
            }
            let segments: Vec<Arc<str>> = holding
                .iter()
                .flatten()
                .cloned()
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let heads = in_windows(&segments, IN_FLIGHT, |name| {
                self.bucket.head(&Self::key(name))
            });
            let mut gone = Vec::new();
            for (name, head) in segments.iter().zip(heads) {
                if head?.is_none() {
                    gone.push(name);
                }
            }
            if gone.is_empty() {
                return Ok(holding.iter().map(Option::is_some).collect());
            }
            {
                let mut index = self.write();
                for name in gone {
                    index.forget(name);
                }
            }
            self.refresh(Instant::now(), false)?;
        }
        let index = self.read();
        Ok(ids.iter().map(|id| index.newest(id).is_some()).collect())
    }

    fn remove(&self, id: &Blake3Hash) -> Result<bool> {
        if self.locate(id, Instant::now())?.is_none() {
            return Ok(false);
        }
        let holding = self.read().holding(id);
        self.settle(&holding, &HashSet::from([*id]), true)?;
        Ok(true)
    }

    fn remove_if_written_before(&self, id: &Blake3Hash, cutoff: SystemTime) -> Result<bool> {
        match self.locate(id, Instant::now())? {
            Some(loc) if loc.written < cutoff => self.remove(id),
            _ => Ok(false),
        }
    }

    fn remove_garbage(
        &self,
        ids: &[Blake3Hash],
        cutoff: SystemTime,
    ) -> Result<Vec<(Blake3Hash, u64)>> {
        self.ensure_loaded()?;
        let (dead, segments) = {
            let index = self.read();
            let dead: HashSet<Blake3Hash> = ids
                .iter()
                .filter(|id| index.newest(id).is_some_and(|l| l.written < cutoff))
                .copied()
                .collect();
            (dead, index.segment_names())
        };
        let lens: Vec<(Blake3Hash, u64)> = {
            let index = self.read();
            dead.iter()
                .filter_map(|id| index.newest(id).map(|l| (*id, u64::from(l.len))))
                .collect()
        };
        self.settle(&segments, &dead, false)?;
        let index = self.read();
        Ok(lens
            .into_iter()
            .filter(|(id, _)| index.newest(id).is_none())
            .collect())
    }

    fn meta(&self, id: &Blake3Hash) -> Result<Option<ChunkMeta>> {
        Ok(self.locate(id, Instant::now())?.map(|loc| ChunkMeta {
            len: u64::from(loc.len),
            written: loc.written,
        }))
    }

    fn ids(&self) -> Result<ChunkIds<'_>> {
        self.refresh(Instant::now(), true)?;
        let ids = self.read().ids();
        Ok(Box::new(ids.into_iter().map(Ok)))
    }

    fn stats(&self) -> Result<ChunkStats> {
        self.refresh(Instant::now(), true)?;
        let (chunks, bytes) = self.read().totals();
        Ok(ChunkStats {
            chunks,
            bytes,
            corrupt_found: self.corrupt_found.load(Ordering::Relaxed),
        })
    }
}
