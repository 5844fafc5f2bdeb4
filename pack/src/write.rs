//! Streaming the selected files into a tar archive with fixed metadata, hashing on the way.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use packyard_core::Blake3Hash;
use packyard_core::archive::MANIFEST_ENTRY_NAME;
use tar::{EntryType, Header};

use crate::error::BuildError;
use crate::progress::Progress;
use crate::select::SourceFile;

/// Counts and hashes every byte on its way to `inner`.
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: blake3::Hasher,
    len: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: blake3::Hasher::new(),
            len: 0,
        }
    }

    /// The inner writer, the bytes written and their BLAKE3.
    pub(crate) fn finish(self) -> (W, u64, Blake3Hash) {
        let hash = Blake3Hash::from_bytes(*self.hasher.finalize().as_bytes());
        (self.inner, self.len, hash)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The error a [`SizeCheckedReader`] returns inside `io::Error`, turned back into
/// [`BuildError::FileChanged`] by [`write_archive`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SizeChanged(String);

/// Reads exactly the size the header promised, and fails if the file has more or fewer
/// bytes than that: tar would otherwise write a corrupt entry without noticing.
struct SizeCheckedReader<'a, P: ?Sized> {
    file: File,
    declared: u64,
    remaining: u64,
    progress: &'a mut P,
}

impl<P: Progress + ?Sized> Read for SizeCheckedReader<'_, P> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            let mut probe = [0u8; 1];
            if self.file.read(&mut probe)? > 0 {
                return Err(io::Error::other(SizeChanged(format!(
                    "it grew past the {} bytes it had when selected",
                    self.declared
                ))));
            }
            return Ok(0);
        }
        let want = usize::try_from(self.remaining).map_or(buf.len(), |r| r.min(buf.len()));
        let n = self.file.read(&mut buf[..want])?;
        if n == 0 && want > 0 {
            return Err(io::Error::other(SizeChanged(format!(
                "it shrank from {} to {} bytes",
                self.declared,
                self.declared - self.remaining
            ))));
        }
        self.remaining -= n as u64;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// A header with Packyard's fixed metadata: mtime 0, uid/gid 0, empty user and group
/// names, mode 0644 (0755 when `executable`). The path and checksum are set by tar.
fn header(len: u64, executable: bool) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(EntryType::Regular);
    header.set_size(len);
    header.set_mode(if executable { 0o755 } else { 0o644 });
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    // Fresh GNU headers already hold empty names; setting them says the choice is deliberate.
    let _ = header.set_username("");
    let _ = header.set_groupname("");
    header
}

/// Writes the archive to `out`: the manifest first, then `files` in the order given.
/// `out_path` only names the destination in errors.
pub(crate) fn write_archive<'f, W: Write, P: Progress + ?Sized>(
    out: W,
    out_path: &Path,
    manifest_json: &[u8],
    files: impl IntoIterator<Item = (&'f String, &'f SourceFile)>,
    progress: &mut P,
) -> Result<(W, u64, Blake3Hash), BuildError> {
    let write_err = |source| BuildError::Io {
        action: "write the archive to",
        path: out_path.to_path_buf(),
        source,
    };
    let mut tar = tar::Builder::new(HashingWriter::new(out));
    let mut manifest_header = header(manifest_json.len() as u64, false);
    tar.append_data(&mut manifest_header, MANIFEST_ENTRY_NAME, manifest_json)
        .map_err(write_err)?;
    for (archive_path, file) in files {
        let read_err = |path: &PathBuf, source| BuildError::Io {
            action: "read",
            path: path.clone(),
            source,
        };
        let handle = File::open(&file.source).map_err(|e| read_err(&file.source, e))?;
        let reader = SizeCheckedReader {
            file: handle,
            declared: file.len,
            remaining: file.len,
            progress: &mut *progress,
        };
        let mut entry_header = header(file.len, file.executable);
        if let Err(e) = tar.append_data(&mut entry_header, archive_path, reader) {
            if let Some(changed) = e.get_ref().and_then(|i| i.downcast_ref::<SizeChanged>()) {
                return Err(BuildError::FileChanged {
                    path: file.source.clone(),
                    change: changed.0.clone(),
                });
            }
            // Reading the source and writing the archive both fail here; the I/O error's
            // own text says which (for example "No space left on device").
            return Err(BuildError::Io {
                action: "pack",
                path: file.source.clone(),
                source: e,
            });
        }
    }
    let hashing = tar.into_inner().map_err(write_err)?;
    Ok(hashing.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    fn source(len_on_disk: usize, declared: u64) -> (tempfile::TempDir, SourceFile) {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; len_on_disk]).unwrap();
        let file = SourceFile {
            source: path,
            len: declared,
            executable: false,
            identity: None,
        };
        (dir, file)
    }

    fn pack(file: &SourceFile) -> Result<(Vec<u8>, u64, Blake3Hash), BuildError> {
        let name = "f".to_owned();
        write_archive(
            Vec::new(),
            Path::new("out"),
            b"{}",
            [(&name, file)],
            &mut NoProgress,
        )
    }

    #[test]
    fn a_file_that_grew_since_selection_fails_the_build() {
        let (_dir, file) = source(10, 4);
        let err = pack(&file).unwrap_err();
        assert!(
            matches!(&err, BuildError::FileChanged { change, .. } if change.contains("grew past the 4 bytes")),
            "{err}"
        );
    }

    #[test]
    fn a_file_that_shrank_since_selection_fails_the_build() {
        let (_dir, file) = source(3, 10);
        let err = pack(&file).unwrap_err();
        assert!(
            matches!(&err, BuildError::FileChanged { change, .. } if change.contains("shrank from 10 to 3 bytes")),
            "{err}"
        );
    }

    #[test]
    fn the_hash_and_length_are_of_the_bytes_written() {
        let (_dir, file) = source(700, 700);
        let (bytes, len, hash) = pack(&file).unwrap();
        assert_eq!(len, bytes.len() as u64);
        assert_eq!(hash, Blake3Hash::of(&bytes));
        // Two headers, the manifest and the file padded to blocks, two end blocks.
        assert_eq!(bytes.len(), 512 + 512 + 512 + 1024 + 1024);
    }
}
