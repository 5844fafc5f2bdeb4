//! Ingest: turning an uploaded archive into named chunks and a chunk list.
//!
//! [`ingest`] reads an archive once. FastCDC (2020, via `fastcdc::v2020::StreamCDC`) cuts it
//! where the content says, so bytes shared with an earlier version give the same chunks; each
//! chunk is named by its BLAKE3 hash and handed to a sink (the chunk store); the same pass
//! hashes the whole archive with BLAKE3 (the version's `archive_hash`) and SHA-256 (the
//! uploader's checksum). [`ChunkingParams`] holds the chunk size bounds and their measured
//! default.

mod error;
mod ingested;
mod params;

#[cfg(test)]
mod tests;

pub use error::IngestError;
pub use ingested::{Cut, Ingested, cut_file, ingest};
pub use params::{ChunkingParams, MAX_AVG_CHUNK_LEN, MIN_AVG_CHUNK_LEN, ParamsError};
