//! The Packyard origin: where pack bytes enter the system.
//!
//! Planned (issue 03): the multipart upload endpoint, checksum verification, content-defined
//! chunking with BLAKE3 chunk ids, the on-disk chunk store and the gRPC chunk service edges
//! sync from. Nothing is implemented here yet, so this crate exports nothing.
