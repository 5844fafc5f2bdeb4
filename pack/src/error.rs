//! [`BuildError`]: why a pack could not be built, in words that say what to fix.

use std::fmt;
use std::io;
use std::path::PathBuf;

use packyard_core::archive::MANIFEST_ENTRY_NAME;
use packyard_core::manifest::ManifestErrors;

/// Why `build` failed. Nothing is left at the output path when it does.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The manifest file could not be read.
    #[error("cannot read the manifest {path}: {source}")]
    ReadManifest {
        /// The manifest path given.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The manifest breaks the format's rules.
    #[error("{path}: {errors}")]
    Manifest {
        /// The manifest path given.
        path: PathBuf,
        /// Every problem found.
        errors: ManifestErrors,
    },
    /// The manifest selects nothing.
    #[error(
        "{0}: \"fileSelectors\" is empty; list at least one {{\"file\": …}} or \
         {{\"directory\": …}} to build a pack"
    )]
    NoSelectors(PathBuf),
    /// The source root is not a readable directory.
    #[error("cannot use {path} as the source root: {source}")]
    Root {
        /// The root given, or the manifest's directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// One or more selectors could not be resolved inside the root.
    #[error("{}", SelectorErrors(.0))]
    Selection(Vec<SelectorError>),
    /// The output path is one of the selected files, so the archive would contain itself.
    #[error(
        "the output {0} is one of the selected files; write the archive outside the selected \
         directories"
    )]
    OutputSelected(PathBuf),
    /// A selected file changed size while it was packed.
    #[error(
        "{path} changed while it was being packed ({change}); build again once it no longer \
         changes"
    )]
    FileChanged {
        /// The file.
        path: PathBuf,
        /// What changed, in words.
        change: String,
    },
    /// Reading a source or writing the archive failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done (`read`, `write the archive to` …).
        action: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// A selector that cannot be resolved, with the path where resolution stopped.
#[derive(Debug, thiserror::Error)]
#[error("{selector}: {}: {problem}", .path.display())]
pub struct SelectorError {
    /// The selector, as `fileSelectors[1] (directory "Textures")`.
    pub selector: String,
    /// The path on disk at fault.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: SelectorProblem,
}

/// What is wrong with the path a selector reached.
#[derive(Debug, thiserror::Error)]
pub enum SelectorProblem {
    /// Nothing exists at the path.
    #[error("does not exist")]
    NotFound,
    /// A `file` selector names a directory.
    #[error("is a directory; select it with {{\"directory\": …}}")]
    IsDirectory,
    /// A `directory` selector names something else.
    #[error("is not a directory; select a single file with {{\"file\": …}}")]
    NotDirectory,
    /// A `file` selector names a socket, FIFO or device.
    #[error("is not a regular file; only regular files can be packed")]
    NotRegularFile,
    /// A symbolic link resolves outside the source root.
    #[error("is a symbolic link to {}, which is outside the source root {}", .target.display(), .root.display())]
    OutsideRoot {
        /// Where the link resolves to.
        target: PathBuf,
        /// The source root.
        root: PathBuf,
    },
    /// A symbolic link points back at one of its own parent directories.
    #[error("is a symbolic link loop back to {}", .0.display())]
    Loop(PathBuf),
    /// A symbolic link points at nothing.
    #[error("is a broken symbolic link")]
    BrokenLink,
    /// A directory selector matched no regular file.
    #[error("contains no regular files; a selector must select at least one file")]
    Empty,
    /// A path is not UTF-8, so it cannot be an archive path.
    #[error("is not valid UTF-8; archive paths must be UTF-8")]
    NotUtf8,
    /// The file would be stored under the embedded manifest's name.
    #[error(
        "would be stored as {MANIFEST_ENTRY_NAME}, the name reserved for the embedded manifest; rename it"
    )]
    ReservedName,
    /// Any other error while looking at the path.
    #[error("cannot be read: {0}")]
    Io(io::Error),
}

/// Displays a list of selector errors, one per line.
struct SelectorErrors<'a>(&'a [SelectorError]);

impl fmt::Display for SelectorErrors<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "{n} file selector problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}
