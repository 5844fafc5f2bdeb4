//! A download's disk steps, each run on the blocking pool: opening the file the new version
//! is built in, finding what is already there or held, copying pieces, writing what arrives,
//! checking chunks built from pieces, and the final hash and rename.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;

use packyard_core::pieces::{Piece, PieceName};
use packyard_core::{Blake3Hash, ChunkList};

use super::Record;
use crate::delta::{Lacking, Wanted, layout, offsets, piece_index};
use crate::device::Transfer;
use crate::error::ClientError;

/// The files of one download: `next.partial` (written in place, never moved until it
/// verifies) and the held version it may copy from.
pub(crate) struct Files {
    folder: PathBuf,
    partial: PathBuf,
    next_json: PathBuf,
    out: File,
    next: Record,
    /// Whether `next.partial` holds an interrupted download of the same version.
    resuming: bool,
    /// The held copy and its chunk list (even a corrupt copy: what is copied is checked).
    seed: Option<(File, ChunkList)>,
}

impl Files {
    /// Whether there is a held version to copy from.
    pub(crate) fn has_seed(&self) -> bool {
        self.seed.is_some()
    }

    fn size(&self) -> u64 {
        self.next.chunks.size()
    }

    fn write(&self, bytes: &[u8], at: u64) -> Result<(), ClientError> {
        self.out.write_all_at(bytes, at).map_err(ClientError::disk(
            "write",
            &self.partial,
            self.size(),
        ))
    }

    /// Whether the bytes at `at` in the partial file already hash to `id` (a resumed
    /// download's).
    fn in_place(&self, buf: &mut [u8], at: u64, matches: impl Fn(&[u8]) -> bool) -> bool {
        self.resuming && self.out.read_exact_at(buf, at).is_ok() && matches(buf)
    }

    /// Writes the parts of an answer where they belong.
    pub(crate) fn write_parts(&self, parts: &[(Range<u64>, Vec<u8>)]) -> Result<(), ClientError> {
        parts
            .iter()
            .try_for_each(|(r, bytes)| self.write(bytes, r.start))
    }

    /// The ETag every range request is conditional on: the new version's.
    pub(crate) fn etag(&self) -> String {
        self.next.chunks.etag()
    }
}

/// The plan's disk step: opens (or resumes) `next.partial` for `next` in `folder`. A new
/// download is refused before a byte is written when the disk lacks room for it, and records
/// the version it is becoming in `next.json`.
pub(crate) fn open(folder: PathBuf, next: Record) -> Result<Files, ClientError> {
    let size = next.chunks.size();
    std::fs::create_dir_all(&folder).map_err(ClientError::disk("create", &folder, size))?;
    let (partial, next_json) = (folder.join("next.partial"), folder.join("next.json"));
    let resuming = Record::read(&next_json).is_some_and(|r| {
        r.version == next.version && r.chunks.archive_hash() == next.chunks.archive_hash()
    });
    if !resuming && free_space(&folder).is_some_and(|free| free < size) {
        // What the device holds stays as it is.
        return Err(ClientError::NoSpace {
            path: partial,
            needed: size,
        });
    }
    let out = std::fs::OpenOptions::new()
        .create(true)
        .truncate(!resuming)
        .read(true)
        .write(true)
        .open(&partial)
        .map_err(ClientError::disk("create", &partial, size))?;
    out.set_len(size)
        .map_err(ClientError::disk("size", &partial, size))?;
    if !resuming {
        let json = serde_json::to_vec(&next).map_err(|e| ClientError::Disk {
            action: "write",
            path: next_json.clone(),
            source: std::io::Error::other(e),
        })?;
        write_atomically(&next_json, &json, size)?;
    }
    let seed = File::open(folder.join("pack"))
        .ok()
        .zip(Record::read(&folder.join("held.json")).map(|r| r.chunks));
    Ok(Files {
        folder,
        partial,
        next_json,
        out,
        next,
        resuming,
        seed,
    })
}

/// What the reuse step found.
pub(crate) struct Reused {
    /// Chunks neither in place nor held.
    pub(crate) lacking: Vec<Lacking>,
    /// Chunks of the held version copied whole (their pieces offer nothing more).
    pub(crate) whole: HashSet<Blake3Hash>,
    /// Bytes resumed and reused.
    pub(crate) transfer: Transfer,
    /// Bytes in place after it.
    pub(crate) done: u64,
}

/// The reuse step: each chunk of the new version already in place (a resumed download sends
/// nothing twice) or held (a delta update) is done; the rest is lacking.
pub(crate) fn reuse(files: &Files) -> Result<Reused, ClientError> {
    let seed: HashMap<Blake3Hash, u64> = files
        .seed
        .as_ref()
        .map(|(_, list)| offsets(list).collect())
        .unwrap_or_default();
    let mut found = Reused {
        lacking: Vec::new(),
        whole: HashSet::new(),
        transfer: Transfer::default(),
        done: 0,
    };
    for (index, (id, at, len)) in layout(&files.next.chunks).enumerate() {
        let mut buf = vec![0u8; len];
        if files.in_place(&mut buf, at, |b| Blake3Hash::of(b) == id) {
            found.transfer.resumed += len as u64;
        } else if let (Some((file, _)), Some(&from)) = (&files.seed, seed.get(&id))
            && file.read_exact_at(&mut buf, from).is_ok()
            && Blake3Hash::of(&buf) == id
        {
            files.write(&buf, at)?;
            found.transfer.reused += len as u64;
            found.whole.insert(id);
        } else {
            found.lacking.push(Lacking {
                index: u32::try_from(index).unwrap_or(u32::MAX),
                id,
                at,
                len: u32::try_from(len).unwrap_or(u32::MAX),
            });
            continue;
        }
        found.done += len as u64;
    }
    Ok(found)
}

/// What copying pieces did.
pub(crate) struct Built {
    /// Byte ranges of pieces neither in place nor held.
    pub(crate) wanted: Wanted,
    /// The chunks built (partly) from pieces, to verify once complete.
    pub(crate) pieced: Vec<Lacking>,
    /// Bytes resumed and reused.
    pub(crate) transfer: Transfer,
    /// Bytes put in place.
    pub(crate) done: u64,
}

/// The pieces step's disk half: of each lacking chunk's pieces (`lists`, in `lacking`'s
/// order), those in place or in the held version's changed chunks are kept or copied; the
/// rest is wanted. `whole`: the held chunks reused whole, whose pieces are not indexed.
pub(crate) fn from_pieces(
    files: &Files,
    whole: &HashSet<Blake3Hash>,
    lacking: Vec<Lacking>,
    lists: Vec<Vec<Piece>>,
) -> Result<Built, ClientError> {
    let mut built = Built {
        wanted: Wanted::default(),
        pieced: Vec::with_capacity(lacking.len()),
        transfer: Transfer::default(),
        done: 0,
    };
    let Some((file, held)) = &files.seed else {
        for chunk in &lacking {
            built.wanted.add(chunk.range());
        }
        return Ok(built);
    };
    let have = piece_index(file, held, whole);
    for (chunk, pieces) in lacking.into_iter().zip(lists) {
        let mut at = chunk.at;
        for p in pieces {
            let len = usize::from(p.len);
            let mut buf = vec![0u8; len];
            if files.in_place(&mut buf, at, |b| PieceName::of(b) == p.name) {
                built.transfer.resumed += len as u64;
                built.done += len as u64;
            } else if let Some(&from) = have.get(&(p.name, p.len))
                && file.read_exact_at(&mut buf, from).is_ok()
                && PieceName::of(&buf) == p.name
            {
                files.write(&buf, at)?;
                built.transfer.reused += len as u64;
                built.done += len as u64;
            } else {
                built.wanted.add(at..at + len as u64);
            }
            at += len as u64;
        }
        built.pieced.push(chunk);
    }
    Ok(built)
}

/// The verify step for chunks built from pieces: those that do not hash to their id, as
/// ranges to fetch whole.
pub(crate) fn unverified(files: &Files, pieced: &[Lacking]) -> Result<Wanted, ClientError> {
    let mut again = Wanted::default();
    for chunk in pieced {
        let mut buf = vec![0u8; chunk.len as usize];
        files
            .out
            .read_exact_at(&mut buf, chunk.at)
            .map_err(ClientError::disk("read", &files.partial, files.size()))?;
        if Blake3Hash::of(&buf) != chunk.id {
            tracing::warn!(chunk = %chunk.id, "a chunk built from pieces does not verify; fetching it whole");
            again.add(chunk.range());
        }
    }
    Ok(again)
}

/// The last steps: the whole file must hash to `archive_hash` (else the next sync finds the
/// wrong chunks and fetches only those); then it replaces the held copy, and `next.json`
/// becomes `held.json`.
pub(crate) fn switch(
    files: &Files,
    archive_hash: Blake3Hash,
    what: String,
) -> Result<(), ClientError> {
    let (partial, size) = (&files.partial, files.size());
    files
        .out
        .sync_all()
        .map_err(ClientError::disk("sync", partial, size))?;
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(File::open(partial).map_err(ClientError::disk("open", partial, size))?)
        .map_err(ClientError::disk("read", partial, size))?;
    if Blake3Hash::from_bytes(*hasher.finalize().as_bytes()) != archive_hash {
        return Err(ClientError::Corrupt { what });
    }
    std::fs::rename(partial, files.folder.join("pack"))
        .map_err(ClientError::disk("rename", partial, size))?;
    std::fs::rename(&files.next_json, files.folder.join("held.json")).map_err(ClientError::disk(
        "rename",
        &files.next_json,
        size,
    ))
}

/// Whether the held copy in `folder` hashes to its version's archive hash.
pub(crate) fn verify_held(folder: &std::path::Path) -> Result<bool, ClientError> {
    let Some(record) = Record::read(&folder.join("held.json")) else {
        return Ok(false);
    };
    let pack = folder.join("pack");
    let Ok(file) = File::open(&pack) else {
        return Ok(false);
    };
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(file)
        .map_err(ClientError::disk("read", &pack, 0))?;
    let got = Blake3Hash::from_bytes(*hasher.finalize().as_bytes());
    Ok(got == record.chunks.archive_hash())
}

/// Bytes an unprivileged writer may still use on the file system holding `path`, if it
/// says.
pub(crate) fn free_space(path: &std::path::Path) -> Option<u64> {
    let s = rustix::fs::statvfs(path).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

/// Writes `bytes` to `path` through a temporary file and a rename.
fn write_atomically(path: &std::path::Path, bytes: &[u8], needed: u64) -> Result<(), ClientError> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(ClientError::disk("create", &tmp, needed))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(ClientError::disk("write", &tmp, needed))?;
    std::fs::rename(&tmp, path).map_err(ClientError::disk("rename", &tmp, needed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_system_says_how_much_room_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let free = free_space(dir.path()).unwrap();
        assert!(free > 0);
        assert_eq!(free_space(&dir.path().join("missing")), None);
    }
}
