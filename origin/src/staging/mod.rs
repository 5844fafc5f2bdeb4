//! Upload parts between their `PUT` and the processing of their version: on the origin's
//! disk, or in the bucket the chunks are in, where every origin sees them.
//!
//! ```text
//! data/staging/{uploadFileId}/{partNumber}        a received part, exactly its length (disk)
//! staging/{uploadFileId}/{partNumber}             the same, as an object (bucket)
//! data/staging/{uploadFileId}/.tmp-{n}-{k}        a part being received (both)
//! ```
//!
//! A part is written to a temporary file, synced, then either renamed to its number and the
//! directory synced (disk) or written as one object (bucket), so a part is either wholly
//! there under its number or absent, even after a crash; a part sent again replaces the
//! previous copy at once. [`Staging::open`] deletes temporary files a crash left behind. With
//! a bucket, the origin's disk only ever holds parts still arriving: any origin takes any
//! part of any upload, and any origin processes it.

mod parts_reader;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use packyard_chunk_store::ChunkStoreError;
use packyard_chunk_store::object::Bucket;
pub use packyard_core::upload_parts::PartLayout;
pub use parts_reader::PartsReader;
use parts_reader::Source;

const TMP_PREFIX: &str = ".tmp-";
/// Where a file sent as chunks keeps its chunk list, beside (instead of) its parts.
const RECIPE: &str = "recipe";

/// The staging area of one origin.
#[derive(Debug)]
pub struct Staging {
    root: PathBuf,
    next_tmp: AtomicU64,
    /// Where received parts go when the chunks are in a bucket; `None`: under `root`.
    bucket: Option<Arc<Bucket>>,
}

/// An error of the bucket as an I/O error, which [`store_error`] finds again.
fn bucket_error(e: ChunkStoreError) -> io::Error {
    io::Error::other(e)
}

/// The store error inside an I/O error from [`Staging`], if the bucket failed.
pub fn store_error(e: &io::Error) -> Option<&ChunkStoreError> {
    e.get_ref()?.downcast_ref::<ChunkStoreError>()
}

/// Whether `id` can name an upload file: what the control plane hands out (hex), or any
/// plain name of letters, digits, `-` and `_`, which keeps it one path component.
pub fn is_valid_file_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Staging {
    /// Opens (creating if needed) the staging area under `root`, deleting parts a crash left
    /// half-written.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        for dir in fs::read_dir(&root)? {
            let dir = dir?.path();
            if !dir.is_dir() {
                continue;
            }
            for entry in fs::read_dir(&dir)? {
                let entry = entry?;
                if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                    fs::remove_file(entry.path())?;
                }
            }
        }
        Ok(Self {
            root,
            next_tmp: AtomicU64::new(0),
            bucket: None,
        })
    }

    /// A staging area whose parts are objects of `bucket` (keys `{file}/{number}`); `root`
    /// holds only parts being received.
    pub fn open_in_bucket(root: impl Into<PathBuf>, bucket: Bucket) -> io::Result<Self> {
        let mut staging = Self::open(root)?;
        staging.bucket = Some(Arc::new(bucket));
        Ok(staging)
    }

    fn key(file: &str, number: u64) -> String {
        format!("{file}/{number}")
    }

    fn dir(&self, file: &str) -> PathBuf {
        self.root.join(file)
    }

    /// Where part `number` of `file` lives once received.
    pub fn part_path(&self, file: &str, number: u64) -> PathBuf {
        self.dir(file).join(number.to_string())
    }

    /// A fresh temporary path for receiving part `number` of `file`; its directory exists.
    pub fn temp_path(&self, file: &str, number: u64) -> io::Result<PathBuf> {
        let dir = self.dir(file);
        fs::create_dir_all(&dir)?;
        let k = self.next_tmp.fetch_add(1, Ordering::Relaxed);
        Ok(dir.join(format!("{TMP_PREFIX}{number}-{k}")))
    }

    /// Makes the synced temporary file `tmp` part `number` of `file`, replacing any previous
    /// copy, and syncs the directory so the name survives a crash.
    /// With a bucket, the part is written there as one object and the file removed.
    pub fn commit_part(&self, tmp: &Path, file: &str, number: u64) -> io::Result<()> {
        if let Some(bucket) = &self.bucket {
            let bytes = Bytes::from(fs::read(tmp)?);
            bucket
                .put(&Self::key(file, number), bytes)
                .map_err(bucket_error)?;
            return fs::remove_file(tmp);
        }
        fs::rename(tmp, self.part_path(file, number))?;
        sync_dir(&self.dir(file))
    }

    /// Keeps `recipe` (a file sent as chunks: its chunk list, JSON) for `file`, replacing
    /// any earlier one, whole or not at all.
    pub fn put_recipe(&self, file: &str, recipe: Vec<u8>) -> io::Result<()> {
        if let Some(bucket) = &self.bucket {
            return bucket
                .put(&format!("{file}/{RECIPE}"), Bytes::from(recipe))
                .map_err(bucket_error);
        }
        let tmp = self.temp_path(file, 0)?;
        fs::write(&tmp, recipe)?;
        fs::File::open(&tmp)?.sync_all()?;
        fs::rename(&tmp, self.dir(file).join(RECIPE))?;
        sync_dir(&self.dir(file))
    }

    /// The chunk list `file` was sent as, if it was.
    pub fn recipe(&self, file: &str) -> io::Result<Option<Vec<u8>>> {
        if let Some(bucket) = &self.bucket {
            let got = bucket.get(&format!("{file}/{RECIPE}"));
            return got.map(|b| b.map(|b| b.to_vec())).map_err(bucket_error);
        }
        match fs::read(self.dir(file).join(RECIPE)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The parts of `file` received so far: part number → length.
    pub fn parts(&self, file: &str) -> io::Result<BTreeMap<u64, u64>> {
        if let Some(bucket) = &self.bucket {
            let listed = bucket.list(file).map_err(bucket_error)?;
            return Ok(listed
                .into_iter()
                .filter_map(|o| {
                    let number = o.key.strip_prefix(file)?.strip_prefix('/')?.parse().ok()?;
                    Some((number, o.len))
                })
                .collect());
        }
        let dir = self.dir(file);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(e),
        };
        let mut parts = BTreeMap::new();
        for entry in entries {
            let entry = entry?;
            let Some(number) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<u64>().ok())
            else {
                continue;
            };
            parts.insert(number, entry.metadata()?.len());
        }
        Ok(parts)
    }

    /// The whole of `file`, its parts read in order. The caller has checked that every part
    /// of `layout` is present.
    pub fn reader(&self, file: &str, layout: &PartLayout) -> PartsReader {
        PartsReader::new(
            (1..=layout.count())
                .map(|n| match &self.bucket {
                    Some(bucket) => Source::Object(bucket.clone(), Self::key(file, n)),
                    None => Source::File(self.part_path(file, n)),
                })
                .collect(),
        )
    }

    /// The upload files that have parts (or a directory) here, in name order.
    pub fn files(&self) -> io::Result<Vec<String>> {
        if let Some(bucket) = &self.bucket {
            let mut files: Vec<String> = bucket
                .list("")
                .map_err(bucket_error)?
                .into_iter()
                .filter_map(|o| o.key.split_once('/').map(|(file, _)| file.to_owned()))
                .filter(|file| is_valid_file_id(file))
                .collect();
            files.sort();
            files.dedup();
            return Ok(files);
        }
        let mut files = Vec::new();
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            if entry.file_type()?.is_dir()
                && let Some(name) = entry.file_name().to_str()
                && is_valid_file_id(name)
            {
                files.push(name.to_owned());
            }
        }
        files.sort();
        Ok(files)
    }

    /// Deletes every part of `file`.
    pub fn remove(&self, file: &str) -> io::Result<()> {
        if let Some(bucket) = &self.bucket {
            for part in bucket.list(file).map_err(bucket_error)? {
                bucket.delete(&part.key).map_err(bucket_error)?;
            }
        }
        match fs::remove_dir_all(self.dir(file)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_one_plain_path_component() {
        assert!(is_valid_file_id("0a1b2c"));
        assert!(is_valid_file_id("file_1-x"));
        for bad in ["", "..", "a/b", "a.b", &"x".repeat(129)] {
            assert!(!is_valid_file_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_committed_part_replaces_the_previous_copy_and_leftovers_go_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let staging = Staging::open(dir.path()).unwrap();
        for bytes in [&b"first"[..], b"second!"] {
            let tmp = staging.temp_path("f1", 2).unwrap();
            fs::write(&tmp, bytes).unwrap();
            staging.commit_part(&tmp, "f1", 2).unwrap();
        }
        let stray = staging.temp_path("f1", 1).unwrap();
        fs::write(&stray, b"half").unwrap();
        assert_eq!(staging.parts("f1").unwrap(), BTreeMap::from([(2, 7)]));
        drop(staging);
        let staging = Staging::open(dir.path()).unwrap();
        assert!(!stray.exists());
        assert_eq!(
            fs::read(staging.part_path("f1", 2)).unwrap(),
            b"second!".to_vec()
        );
        staging.remove("f1").unwrap();
        assert!(staging.parts("f1").unwrap().is_empty());
        staging.remove("f1").unwrap();
    }
}
