//! The Packyard origin: where pack bytes enter the system.
//!
//! # Layout
//!
//! - [`ingest`]: streaming content-defined chunking of an archive, BLAKE3 chunk ids, and the
//!   whole archive's BLAKE3 and SHA-256 in the same pass.
//!
//! Planned (issue 03): the multipart upload endpoint, checksum verification, the on-disk
//! chunk store and the gRPC chunk service edges sync from.

pub mod ingest;
