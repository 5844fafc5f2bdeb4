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
//!
//! # Eviction: S3-FIFO, chosen by measurement
//!
//! `packyard-bench cache` replays Zipf(s) pack downloads over a 4.5 GiB catalogue of ~64 KiB
//! chunks through both policies (BENCHMARKS.md, "Edge cache"). Request hit ratio, seed 1:
//!
//! | s | cache (of catalogue) | LRU | S3-FIFO |
//! |---:|---:|---:|---:|
//! | 1.0 | 1 % | 11.9 % | 27.3 % |
//! | 1.0 | 10 % | 45.7 % | 57.6 % |
//! | 1.0 | 25 % | 65.4 % | 73.5 % |
//! | 1.2 | 1 % | 25.2 % | 44.3 % |
//! | 1.2 | 10 % | 66.8 % | 75.1 % |
//! | 1.2 | 25 % | 80.8 % | 85.0 % |
//!
//! Byte hit ratios are within a point of these. Downloads of unpopular packs are scans of
//! chunks read once; LRU lets them flush the popular packs, S3-FIFO keeps them in its
//! probation queue. So both tiers use `quick_cache`'s policy.
//!
//! # Single flight
//!
//! [`ChunkCache::get_or_fetch`] looks in memory, then joins a fill of the same chunk already
//! under way, else starts one on its own task (disk, then the caller's fetch). Waiters share
//! its result; one that gives up does not cancel it.

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
