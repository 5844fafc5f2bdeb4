//! [`IngestError`]: what stopped an ingest, and where in the archive.

use packyard_core::Blake3Hash;
use packyard_core::chunk_list::ChunkListError;

/// Why an archive could not be ingested. `E` is the sink's own error (for example the chunk
/// store's), kept whole as the source.
#[derive(Debug, thiserror::Error)]
pub enum IngestError<E> {
    /// Reading the archive failed after `offset` bytes had been read.
    #[error("reading the archive failed after {offset} bytes")]
    Read {
        /// How many bytes were read before the failure.
        offset: u64,
        /// The reader's error.
        #[source]
        source: std::io::Error,
    },
    /// The sink refused a chunk.
    #[error("storing chunk {index} ({id}, {len} bytes at archive offset {offset}) failed")]
    Sink {
        /// The chunk's position in the chunk list.
        index: usize,
        /// Its id.
        id: Blake3Hash,
        /// Where it starts in the archive.
        offset: u64,
        /// Its length.
        len: usize,
        /// The sink's error.
        #[source]
        source: E,
    },
    /// The chunks do not make a valid chunk list. Validated [`ChunkingParams`] never cut such
    /// chunks, so this is a bug in the chunker rather than a problem with the archive.
    ///
    /// [`ChunkingParams`]: super::ChunkingParams
    #[error("the chunker produced an invalid chunk list")]
    ChunkList(#[source] ChunkListError),
}
