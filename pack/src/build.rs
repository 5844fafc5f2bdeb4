//! [`build`]: manifest + directory → deterministic archive, written atomically.

use std::fs::{self, File};
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};

use packyard_core::Blake3Hash;
use packyard_core::manifest::{MAX_MANIFEST_BYTES, PackagingManifest};

use crate::error::BuildError;
use crate::progress::Progress;
use crate::select::{self, Selection};
use crate::write::write_archive;

/// What a successful build wrote.
#[derive(Debug, Clone)]
pub struct BuildSummary {
    /// The manifest embedded in the archive.
    pub manifest: PackagingManifest,
    /// How many files were packed (not counting the manifest).
    pub files: usize,
    /// The total size of their contents.
    pub content_bytes: u64,
    /// The archive's size.
    pub archive_bytes: u64,
    /// The archive's BLAKE3, as the origin will compute it.
    pub archive_hash: Blake3Hash,
    /// Things accepted but worth a look: ignored manifest fields, skipped special files.
    pub warnings: Vec<String>,
}

/// Builds the pack archive that the manifest at `manifest_path` describes and writes it to
/// `out`.
///
/// The source root is `root`, or the manifest's directory when `root` is `None`; every
/// selector must resolve inside it. The archive is a tar file whose first entry is the
/// canonical manifest ([`packyard_core::archive::MANIFEST_ENTRY_NAME`]), followed by the
/// selected regular files sorted by archive path, with fixed metadata, so the same manifest
/// and file contents always give the same bytes, wherever the source directory is.
///
/// Files are streamed, so memory stays constant whatever their size. The archive is written
/// to a temporary file next to `out`, synced, then renamed over `out`: on failure `out` is
/// untouched and no partial file remains.
pub fn build(
    manifest_path: &Path,
    root: Option<&Path>,
    out: &Path,
    mut progress: impl Progress,
) -> Result<BuildSummary, BuildError> {
    let (manifest, mut warnings) = read_manifest(manifest_path)?;
    if manifest.file_selectors().is_empty() {
        return Err(BuildError::NoSelectors(manifest_path.to_path_buf()));
    }
    let root = match root {
        Some(r) => r.to_path_buf(),
        None => parent_or_current(manifest_path),
    };
    let root = fs::canonicalize(&root)
        .and_then(|r| {
            if r.is_dir() {
                Ok(r)
            } else {
                Err(not_a_directory())
            }
        })
        .map_err(|source| BuildError::Root { path: root, source })?;
    let Selection {
        files,
        warnings: skipped,
    } = select::select(manifest.file_selectors(), &root).map_err(BuildError::Selection)?;
    warnings.extend(skipped);
    refuse_output_among_sources(out, &files)?;

    let content_bytes = files.values().map(|f| f.len).sum();
    progress.start(content_bytes);
    let dir = parent_or_current(out);
    let io_err = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| BuildError::Io {
            action,
            path,
            source,
        }
    };
    let temp = tempfile::Builder::new()
        .prefix(".packyard-")
        .suffix(".partial")
        .tempfile_in(&dir)
        .map_err(io_err("create a temporary file in", &dir))?;
    let manifest_json = manifest.to_canonical_json();
    let buffered = BufWriter::with_capacity(1 << 20, temp);
    let (buffered, archive_bytes, archive_hash) = write_archive(
        buffered,
        out,
        manifest_json.as_bytes(),
        &files,
        &mut progress,
    )?;
    let temp = buffered
        .into_inner()
        .map_err(|e| io_err("write the archive to", out)(e.into_error()))?;
    set_readable(temp.as_file()).map_err(io_err("set permissions on", temp.path()))?;
    temp.as_file()
        .sync_all()
        .map_err(io_err("sync the archive to", out))?;
    temp.persist(out)
        .map_err(|e| io_err("rename the archive to", out)(e.error))?;
    sync_dir(&dir);
    progress.finish();
    Ok(BuildSummary {
        manifest,
        files: files.len(),
        content_bytes,
        archive_bytes,
        archive_hash,
        warnings,
    })
}

/// Reads and parses the manifest; warnings come back as text.
fn read_manifest(path: &Path) -> Result<(PackagingManifest, Vec<String>), BuildError> {
    let read_err = |source| BuildError::ReadManifest {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    // One byte over the cap is enough for the parser to say the file is too large.
    let cap = MAX_MANIFEST_BYTES as u64 + 1;
    File::open(path)
        .and_then(|f| f.take(cap).read_to_end(&mut bytes))
        .map_err(read_err)?;
    let parsed = PackagingManifest::parse(&bytes).map_err(|errors| BuildError::Manifest {
        path: path.to_path_buf(),
        errors,
    })?;
    let warnings = parsed
        .warnings
        .iter()
        .map(|w| format!("manifest {w}"))
        .collect();
    Ok((parsed.manifest, warnings))
}

/// Refuses to write the archive over one of its own sources, which would also make the
/// next build differ from this one.
fn refuse_output_among_sources(
    out: &Path,
    files: &std::collections::BTreeMap<String, select::SourceFile>,
) -> Result<(), BuildError> {
    let Some(out_id) = fs::metadata(out).ok().and_then(|m| select::identity(&m)) else {
        return Ok(());
    };
    if files.values().any(|f| f.identity == Some(out_id)) {
        return Err(BuildError::OutputSelected(out.to_path_buf()));
    }
    Ok(())
}

fn parent_or_current(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn not_a_directory() -> std::io::Error {
    std::io::Error::other("not a directory")
}

/// Temporary files are created private (0600); an archive is an ordinary output file.
#[cfg(unix)]
fn set_readable(file: &File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_readable(_: &File) -> std::io::Result<()> {
    Ok(())
}

/// Makes the rename durable. Best effort: the archive itself is already synced, and some
/// filesystems refuse to sync a directory.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
