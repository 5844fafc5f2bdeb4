//! Content-addressed chunk storage, shared by origins (the store of record) and edges (the
//! disk tier of their cache): every chunk is named by the BLAKE3 hash of its bytes, written
//! atomically and verified when read.
//!
//! # Layout
//!
//! - [`ChunkStore`]: the contract (verified reads, checked atomic idempotent writes).
//! - [`DiskChunkStore`]: one file per chunk under `root/chunks/ab/cd/`, the production store.
//! - [`MemoryChunkStore`]: a hash map, for tests and small deployments.
//! - [`ObjectChunkStore`] (module [`object`]): chunks grouped into segment objects of an
//!   S3-compatible bucket (Garage, MinIO, Ceph, a cloud's S3), so that no origin's disk holds
//!   anything that matters; [`object::Bucket`] is the bucket itself, for what else a service
//!   keeps there.
//! - [`gc`]: which unreferenced chunks to remove ([`gc::is_garbage`], pure) and removing them
//!   ([`gc::collect_garbage`]).
//! - `conformance` (feature `conformance`): the checks every implementation must pass.
//! - [`windows::in_windows`]: one blocking call over many items, a few at once.
//!
//! The store blocks on the file system; async services call it through `spawn_blocking`.

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod copy;
mod disk;
mod error;
#[cfg(feature = "garage")]
pub mod garage;
pub mod gc;
mod memory;
pub mod object;
mod store;
pub mod windows;

pub use disk::DiskChunkStore;
pub use error::ChunkStoreError;
pub use memory::MemoryChunkStore;
pub use object::{ObjectChunkStore, ObjectStoreConfig};
pub use store::{ChunkIds, ChunkMeta, ChunkStats, ChunkStore, Put, Result, check_put};
