//! [`DiskChunkStore`]: one file per chunk under a two-level fan-out, written atomically.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::iter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use bytes::Bytes;
use packyard_core::chunk_list::{Blake3Hash, MAX_CHUNK_LEN};

use crate::ChunkStoreError;
use crate::store::{ChunkIds, ChunkMeta, ChunkStats, ChunkStore, Put, Result, check_put};

/// A [`ChunkStore`] on a local file system.
///
/// # Layout
///
/// ```text
/// root/chunks/ab/cd/abcd…(64 hex digits)   one file per chunk, named by its id
/// root/tmp/                                 chunks being written
/// ```
///
/// The two fan-out levels keep directories to a few thousand entries even with millions of
/// chunks. The files are the index: reopening a directory finds every chunk in it, nothing is
/// rebuilt. A chunk's file modification time is its write time (see [`ChunkMeta::written`]).
///
/// A write goes to a temporary file in `root/tmp/`, is synced, renamed to its name and its
/// directory synced, so a crash leaves either the whole chunk or none of it under its name;
/// [`open`](Self::open) deletes temporary files a crash left behind. Removals are not synced:
/// a chunk that reappears after a crash still holds exactly its bytes.
///
/// One process uses a root at a time.
#[derive(Debug)]
pub struct DiskChunkStore {
    chunks: PathBuf,
    tmp: PathBuf,
    /// Held while a name appears, is refreshed or disappears, so garbage collection's
    /// "is it old? then remove it" and `put`'s "is it there? then refresh it" never interleave.
    /// Bytes are written and synced outside it.
    names: Mutex<()>,
    next_tmp: AtomicU64,
    corrupt_found: AtomicU64,
}

impl DiskChunkStore {
    /// Opens (creating if needed) the store under `root`, deleting temporary files left by
    /// an earlier process.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref();
        let chunks = root.join("chunks");
        let tmp = root.join("tmp");
        for dir in [&chunks, &tmp] {
            fs::create_dir_all(dir).map_err(ChunkStoreError::io("creating", dir))?;
        }
        sync_dir(root)?;
        for entry in fs::read_dir(&tmp).map_err(ChunkStoreError::io("listing", &tmp))? {
            let path = entry.map_err(ChunkStoreError::io("listing", &tmp))?.path();
            remove_file(&path)?;
        }
        Ok(Self {
            chunks,
            tmp,
            names: Mutex::new(()),
            next_tmp: AtomicU64::new(0),
            corrupt_found: AtomicU64::new(0),
        })
    }

    /// Where chunk `id` lives (whether or not it is there), for operators and tests.
    pub fn path_of(&self, id: &Blake3Hash) -> PathBuf {
        let hex = id.to_hex();
        self.chunks.join(&hex[..2]).join(&hex[2..4]).join(hex)
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // The guard protects no data, only the order of file operations.
        self.names.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `bytes` to a fresh temporary file and syncs it; returns its path.
    fn write_temp(&self, id: &Blake3Hash, bytes: &[u8]) -> Result<PathBuf> {
        let n = self.next_tmp.fetch_add(1, Ordering::Relaxed);
        let path = self
            .tmp
            .join(format!("{}.{}.{n}", id.to_hex(), std::process::id()));
        let written = File::create_new(&path).and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        });
        if let Err(e) = written {
            let _ = fs::remove_file(&path);
            return Err(ChunkStoreError::io("writing", path)(e));
        }
        Ok(path)
    }

    fn corrupt(&self, id: &Blake3Hash, path: &Path) -> Result<Option<Bytes>> {
        {
            let _names = self.lock();
            remove_file(path)?;
        }
        self.corrupt_found.fetch_add(1, Ordering::Relaxed);
        Err(ChunkStoreError::Corrupt { id: *id })
    }
}

impl ChunkStore for DiskChunkStore {
    fn contains(&self, id: &Blake3Hash) -> Result<bool> {
        Ok(self.meta(id)?.is_some())
    }

    fn get(&self, id: &Blake3Hash) -> Result<Option<Bytes>> {
        let path = self.path_of(id);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ChunkStoreError::io("opening", path)(e)),
        };
        let len = file
            .metadata()
            .map_err(ChunkStoreError::io("reading", &path))?
            .len();
        if len > u64::from(MAX_CHUNK_LEN) {
            return self.corrupt(id, &path);
        }
        let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        // `take`: a file that grows while it is read still cannot exceed the chunk limit.
        (&mut file)
            .take(u64::from(MAX_CHUNK_LEN) + 1)
            .read_to_end(&mut buf)
            .map_err(ChunkStoreError::io("reading", &path))?;
        if Blake3Hash::of(&buf) != *id {
            return self.corrupt(id, &path);
        }
        Ok(Some(Bytes::from(buf)))
    }

    fn put(&self, id: &Blake3Hash, bytes: &[u8]) -> Result<Put> {
        check_put(id, bytes)?;
        let path = self.path_of(id);
        {
            let _names = self.lock();
            // A file of another length cannot be this chunk: rewrite it. One of the right
            // length is verified when read, like every chunk.
            if let Some(meta) = stat(&path)?
                && meta.len() == bytes.len() as u64
            {
                touch(&path)?;
                return Ok(Put::AlreadyPresent);
            }
        }
        let temp = self.write_temp(id, bytes)?;
        let dir = path.parent().unwrap_or(&self.chunks);
        let renamed = create_fan_out(dir).and_then(|()| {
            let _names = self.lock();
            fs::rename(&temp, &path).map_err(ChunkStoreError::io("renaming into", &path))
        });
        if let Err(e) = renamed {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        sync_dir(dir)?;
        Ok(Put::Stored)
    }

    fn remove(&self, id: &Blake3Hash) -> Result<bool> {
        let _names = self.lock();
        remove_file(&self.path_of(id))
    }

    fn remove_if_written_before(&self, id: &Blake3Hash, cutoff: SystemTime) -> Result<bool> {
        let path = self.path_of(id);
        let _names = self.lock();
        match stat(&path)? {
            Some(meta) if modified(&meta, &path)? < cutoff => remove_file(&path),
            _ => Ok(false),
        }
    }

    fn meta(&self, id: &Blake3Hash) -> Result<Option<ChunkMeta>> {
        let path = self.path_of(id);
        let Some(meta) = stat(&path)? else {
            return Ok(None);
        };
        Ok(Some(ChunkMeta {
            len: meta.len(),
            written: modified(&meta, &path)?,
        }))
    }

    fn ids(&self) -> Result<ChunkIds<'_>> {
        let fan_out = |item: Result<PathBuf>| -> Listing {
            match item {
                Ok(dir) if is_fan_out_name(&dir) => list(dir),
                Ok(_) => Box::new(iter::empty()),
                Err(e) => Box::new(iter::once(Err(e))),
            }
        };
        let ids = list(self.chunks.clone())
            .flat_map(fan_out)
            .flat_map(fan_out)
            .filter_map(|item| match item {
                Ok(path) => chunk_id(&path).map(Ok),
                Err(e) => Some(Err(e)),
            });
        Ok(Box::new(ids))
    }

    fn stats(&self) -> Result<ChunkStats> {
        let mut stats = ChunkStats {
            corrupt_found: self.corrupt_found.load(Ordering::Relaxed),
            ..ChunkStats::default()
        };
        for id in self.ids()? {
            // A chunk removed since it was listed is simply not counted.
            if let Some(meta) = self.meta(&id?)? {
                stats.chunks += 1;
                stats.bytes += meta.len;
            }
        }
        Ok(stats)
    }
}

type Listing = Box<dyn Iterator<Item = Result<PathBuf>> + Send>;

/// The entries of `dir`; nothing if it has gone (a concurrent removal).
fn list(dir: PathBuf) -> Listing {
    match fs::read_dir(&dir) {
        Ok(entries) => Box::new(entries.map(move |e| {
            e.map(|e| e.path())
                .map_err(ChunkStoreError::io("listing", &dir))
        })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Box::new(iter::empty()),
        Err(e) => Box::new(iter::once(Err(ChunkStoreError::io("listing", dir)(e)))),
    }
}

fn is_fan_out_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.len() == 2 && n.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// The id a chunk file is named after; `None` for anything else.
fn chunk_id(path: &Path) -> Option<Blake3Hash> {
    let name = path.file_name()?.to_str()?;
    let id = Blake3Hash::parse_hex(name).ok()?;
    (id.to_hex() == name).then_some(id)
}

fn stat(path: &Path) -> Result<Option<fs::Metadata>> {
    match fs::metadata(path) {
        Ok(meta) => Ok(Some(meta)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ChunkStoreError::io("reading metadata of", path)(e)),
    }
}

fn modified(meta: &fs::Metadata, path: &Path) -> Result<SystemTime> {
    meta.modified()
        .map_err(ChunkStoreError::io("reading the write time of", path))
}

/// Marks a chunk as just written without rewriting it.
fn touch(path: &Path) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()))
        .map_err(ChunkStoreError::io("refreshing the write time of", path))
}

/// Removes a file; whether it was there.
fn remove_file(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(ChunkStoreError::io("removing", path)(e)),
    }
}

/// Creates `chunks/ab/cd` if needed, syncing each parent that gained a directory so the new
/// directory survives a crash along with the chunk renamed into it.
fn create_fan_out(dir: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut d = dir;
    while stat(d)?.is_none() {
        missing.push(d);
        match d.parent() {
            Some(p) => d = p,
            None => break,
        }
    }
    for d in missing.into_iter().rev() {
        match fs::create_dir(d) {
            // When another writer created it first, its sync may not have happened yet.
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(ChunkStoreError::io("creating", d)(e)),
        }
        sync_dir(d.parent().unwrap_or(d))?;
    }
    Ok(())
}

/// Makes the entries of `dir` (new names, renames) durable.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(ChunkStoreError::io("syncing", dir))
}
