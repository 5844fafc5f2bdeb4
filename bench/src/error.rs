//! [`BenchError`]: why a benchmark could not produce its numbers.

use std::io;
use std::path::PathBuf;

use packyard_origin::ingest::IngestError;

/// Why a benchmark stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A file operation failed.
    #[error("could not {action} {path}")]
    Io {
        /// What was being done, such as "write the input file".
        action: &'static str,
        /// To what.
        path: PathBuf,
        /// The failure.
        #[source]
        source: io::Error,
    },
    /// Packyard's ingest failed.
    #[error("ingest failed")]
    Ingest(#[from] IngestError<io::Error>),
    /// Building a pack archive failed.
    #[error("building a pack archive failed")]
    Build(#[from] packyard_pack::BuildError),
    /// The peer tool could not be run or printed nonsense.
    #[error("{tool} failed: {reason}")]
    Peer {
        /// The command.
        tool: String,
        /// What went wrong.
        reason: String,
    },
    /// Setting a side-by-side run up failed (a server did not start, an API call failed).
    #[error("{0}")]
    Setup(String),
    /// An admin API call, upload or wait failed.
    #[error(transparent)]
    Admin(#[from] packyard_admin_client::AdminError),
    /// A load run could not go.
    #[error(transparent)]
    Load(#[from] crate::load::LoadError),
    /// Two contenders disagree on the file's BLAKE3, so one of them did not read it all.
    #[error("{contender} hashed the file to {got}, but Packyard computed {expected}")]
    HashMismatch {
        /// Who disagreed.
        contender: String,
        /// Its hash.
        got: String,
        /// Packyard's.
        expected: String,
    },
}

/// An [`BenchError::Io`] maker for `map_err`.
pub(crate) fn io_err(
    action: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(io::Error) -> BenchError {
    let path = path.to_path_buf();
    move |source| BenchError::Io {
        action,
        path,
        source,
    }
}
