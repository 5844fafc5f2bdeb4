//! The edge's chunk cache: verified chunks in memory and on disk, each tier within a byte
//! budget, filled from the origin once however many requests wait.
//!
//! # Layout
//!
//! - [`ChunkCache`]: the cache (`get`, `get_or_fetch`), its tiers and fills.
//! - [`CacheConfig`]: the budgets and the disk tier's directory.
//! - [`CacheCounters`]: hits per tier, misses, fills, errors, corrupt chunks, evictions.
//! - [`policy`]: which chunks a budget keeps ([`ChunkPolicy`]), pure and I/O-free:
//!   [`S3FifoPolicy`] (the one used) and [`LruPolicy`] (the baseline it was measured against).
//! - `memory_tier`, `disk_tier`, `single_flight`: the pieces `ChunkCache` is made of.
//!
//! # Verification
//!
//! Every chunk is checked against its BLAKE3 id when it enters the cache from a fill (and its
//! length against the chunk list's) and when it is read back from disk; a corrupt file is
//! removed, counted in [`CacheCounters::corrupt_dropped`] and fetched again. Memory holds
//! immutable [`bytes::Bytes`] that were verified on the way in.

mod chunk_cache;
mod config;
mod counters;
mod disk_tier;
mod error;
mod memory_tier;
pub mod policy;
mod single_flight;

pub use chunk_cache::{ChunkCache, Residence};
pub use config::{CacheConfig, DiskConfig};
pub use counters::{CacheCounters, CounterSnapshot};
pub use error::CacheError;
pub use policy::{ChunkPolicy, LruPolicy, S3FifoPolicy};
