//! Resolving a manifest's file selectors to the regular files they name, inside the root.

use std::collections::BTreeMap;
use std::fs::{self, Metadata};
use std::io;
use std::path::{Component, Path, PathBuf};

use packyard_core::archive::MANIFEST_ENTRY_NAME;
use packyard_core::manifest::FileSelector;
use walkdir::WalkDir;

use crate::error::{SelectorError, SelectorProblem};

/// A regular file to pack.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// Where it is read from.
    pub(crate) source: PathBuf,
    /// Its size when selected; the archive header promises exactly this many bytes.
    pub(crate) len: u64,
    /// Whether any execute bit is set; packed as mode 0755 rather than 0644.
    pub(crate) executable: bool,
    /// Device and inode, to recognise the output file among the sources.
    pub(crate) identity: Option<(u64, u64)>,
}

/// What the selectors resolved to.
#[derive(Debug, Default)]
pub(crate) struct Selection {
    /// Files by archive path; a `BTreeMap<String, _>` iterates in byte order of the path,
    /// which is the archive's entry order, and drops files selected twice.
    pub(crate) files: BTreeMap<String, SourceFile>,
    /// Things skipped on the way (special files inside selected directories).
    pub(crate) warnings: Vec<String>,
}

/// Resolves every selector inside `root` (already canonical), collecting every problem.
pub(crate) fn select(
    selectors: &[FileSelector],
    root: &Path,
) -> Result<Selection, Vec<SelectorError>> {
    let mut selection = Selection::default();
    let mut errors = Vec::new();
    for (i, selector) in selectors.iter().enumerate() {
        let (kind, path) = match selector {
            FileSelector::File(p) => ("file", p),
            FileSelector::Directory(p) => ("directory", p),
        };
        let mut resolver = Resolver {
            label: format!("fileSelectors[{i}] ({kind} \"{path}\")"),
            root,
            selection: &mut selection,
            errors: &mut errors,
        };
        let on_disk = path.components().fold(root.to_path_buf(), |p, c| p.join(c));
        match selector {
            FileSelector::File(p) => resolver.file(&on_disk, p.as_str()),
            FileSelector::Directory(_) => resolver.directory(&on_disk),
        }
    }
    if errors.is_empty() {
        Ok(selection)
    } else {
        Err(errors)
    }
}

/// Resolves one selector.
struct Resolver<'a> {
    label: String,
    root: &'a Path,
    selection: &'a mut Selection,
    errors: &'a mut Vec<SelectorError>,
}

impl Resolver<'_> {
    fn fail(&mut self, path: &Path, problem: SelectorProblem) {
        self.errors.push(SelectorError {
            selector: self.label.clone(),
            path: path.to_path_buf(),
            problem,
        });
    }

    /// Where `path` really is, if that is inside the root.
    fn inside_root(&mut self, path: &Path) -> Option<PathBuf> {
        match fs::canonicalize(path) {
            Ok(real) if real.starts_with(self.root) => Some(real),
            Ok(target) => {
                let root = self.root.to_path_buf();
                self.fail(path, SelectorProblem::OutsideRoot { target, root });
                None
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let broken = fs::symlink_metadata(path).is_ok();
                let problem = if broken {
                    SelectorProblem::BrokenLink
                } else {
                    SelectorProblem::NotFound
                };
                self.fail(path, problem);
                None
            }
            Err(e) => {
                self.fail(path, SelectorProblem::Io(e));
                None
            }
        }
    }

    fn file(&mut self, path: &Path, archive_path: &str) {
        let Some(real) = self.inside_root(path) else {
            return;
        };
        match fs::metadata(&real) {
            Ok(m) if m.is_file() => self.add(path, archive_path.to_owned(), real, &m),
            Ok(m) if m.is_dir() => self.fail(path, SelectorProblem::IsDirectory),
            Ok(_) => self.fail(path, SelectorProblem::NotRegularFile),
            Err(e) => self.fail(path, SelectorProblem::Io(e)),
        }
    }

    fn directory(&mut self, path: &Path) {
        let Some(real) = self.inside_root(path) else {
            return;
        };
        if !real.is_dir() {
            self.fail(path, SelectorProblem::NotDirectory);
            return;
        }
        let before = self.errors.len();
        let mut found = false;
        // Links are followed so a pack can be assembled from linked directories, but each
        // link is checked against the root before walkdir descends into it; walkdir itself
        // reports links back to an ancestor as loops.
        let mut walk = WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter();
        while let Some(entry) = walk.next() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    let at = e.path().unwrap_or(path).to_path_buf();
                    let problem = match (e.loop_ancestor(), e.io_error()) {
                        (Some(ancestor), _) => SelectorProblem::Loop(ancestor.to_path_buf()),
                        (None, Some(io)) if io.kind() == io::ErrorKind::NotFound => {
                            SelectorProblem::BrokenLink
                        }
                        _ => SelectorProblem::Io(io::Error::other(e.to_string())),
                    };
                    self.fail(&at, problem);
                    continue;
                }
            };
            let source = if entry.path_is_symlink() {
                let Some(real) = self.inside_root(entry.path()) else {
                    if entry.file_type().is_dir() {
                        walk.skip_current_dir();
                    }
                    continue;
                };
                real
            } else {
                entry.path().to_path_buf()
            };
            let file_type = entry.file_type();
            if file_type.is_dir() {
                continue;
            }
            if !file_type.is_file() {
                self.selection.warnings.push(format!(
                    "{}: {}: skipped, not a regular file",
                    self.label,
                    entry.path().display()
                ));
                continue;
            }
            found = true;
            let Some(archive_path) = self.archive_path(entry.path()) else {
                continue;
            };
            match entry.metadata() {
                Ok(m) => self.add(entry.path(), archive_path, source, &m),
                Err(e) => {
                    let e = io::Error::other(e.to_string());
                    self.fail(entry.path(), SelectorProblem::Io(e));
                }
            }
        }
        if !found && self.errors.len() == before {
            self.fail(path, SelectorProblem::Empty);
        }
    }

    /// `path` relative to the root, `/`-separated.
    fn archive_path(&mut self, path: &Path) -> Option<String> {
        let relative = path.strip_prefix(self.root).unwrap_or(path);
        let mut parts = Vec::new();
        // The walk starts below the root from paths without `..`, so only normal components
        // occur.
        for component in relative.components() {
            if let Component::Normal(name) = component {
                let Some(s) = name.to_str() else {
                    self.fail(path, SelectorProblem::NotUtf8);
                    return None;
                };
                parts.push(s);
            }
        }
        Some(parts.join("/"))
    }

    fn add(&mut self, path: &Path, archive_path: String, source: PathBuf, metadata: &Metadata) {
        if archive_path == MANIFEST_ENTRY_NAME {
            self.fail(path, SelectorProblem::ReservedName);
            return;
        }
        let file = SourceFile {
            source,
            len: metadata.len(),
            executable: is_executable(metadata),
            identity: identity(metadata),
        };
        self.selection.files.entry(archive_path).or_insert(file);
    }
}

#[cfg(unix)]
fn is_executable(metadata: &Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &Metadata) -> bool {
    false
}

#[cfg(unix)]
pub(crate) fn identity(metadata: &Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
pub(crate) fn identity(_: &Metadata) -> Option<(u64, u64)> {
    None
}
