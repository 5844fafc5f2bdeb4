//! [`ChunkStoreError`]: everything a chunk store can refuse or fail at.

use std::io;
use std::path::PathBuf;

use packyard_core::chunk_list::{Blake3Hash, MAX_CHUNK_LEN};

/// Why a chunk store call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ChunkStoreError {
    /// A stored chunk's bytes no longer hash to its id (disk corruption, a torn copy, someone
    /// editing the file). The chunk has been removed and counted; fetch it again.
    #[error("chunk {id} was corrupt (its bytes no longer hash to its id) and has been removed")]
    Corrupt {
        /// The chunk that was corrupt.
        id: Blake3Hash,
    },
    /// The bytes offered for a chunk hash to something else.
    #[error(
        "the bytes offered as chunk {id} hash to {actual}; a chunk is named by its BLAKE3 hash"
    )]
    HashMismatch {
        /// The id the caller named.
        id: Blake3Hash,
        /// The hash of the bytes offered.
        actual: Blake3Hash,
    },
    /// The bytes offered for a chunk are more than [`MAX_CHUNK_LEN`].
    #[error("chunk {id} is {len} bytes; at most {MAX_CHUNK_LEN} are allowed")]
    TooLarge {
        /// The id the caller named.
        id: Blake3Hash,
        /// How many bytes were offered.
        len: usize,
    },
    /// No bytes were offered; every chunk holds at least one byte.
    #[error("chunk {id} is empty; every chunk holds at least one byte")]
    Empty {
        /// The id the caller named.
        id: Blake3Hash,
    },
    /// The object store did not answer, or answered with an error (unreachable, timed out,
    /// refused the credentials, a missing bucket). Worth another try once it is back.
    #[error("{action} the {store}: {detail}")]
    Unavailable {
        /// Which store: `s3 bucket B at ENDPOINT`.
        store: String,
        /// What the store was asked ("reading from", "writing to" …).
        action: &'static str,
        /// What the client saw.
        detail: String,
    },
    /// The file system failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What the store was doing ("writing", "renaming" …).
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
}

impl ChunkStoreError {
    /// An [`Io`](Self::Io) error for `action` on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}
