//! The Packyard origin: where pack bytes enter the system and where edges fetch them from.
//!
//! # Layout
//!
//! - [`chunk_service`]: the `ChunkStore` gRPC service edges sync from: `Have` (which chunks
//!   the origin holds) and `Fetch` (their bytes in frames of at most 1 MiB, read one chunk at
//!   a time so a slow edge slows the reads). Chunks live in a
//!   [`packyard_chunk_store::ChunkStore`]; a corrupt one is reported missing, never sent.
//! - [`ingest`]: streaming content-defined chunking of an archive, BLAKE3 chunk ids, and the
//!   whole archive's BLAKE3 and SHA-256 in the same pass.
//!
//! Still to come (issue 03): the multipart upload endpoint, checksum verification against the
//! committed SHA-256, reporting versions `COMPLETE`/`FAILED` to the control plane, garbage
//! collection of chunks no kept version names, and the `packyard origin` process that wires
//! these together.

pub mod chunk_service;
pub mod ingest;

pub use chunk_service::{ChunkService, ChunkServiceConfig};
