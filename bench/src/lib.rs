//! `packyard-bench`: Packyard's benchmarks, each printing its numbers side by side with the
//! peer it is measured against, in the same run.
//!
//! # Layout
//!
//! - [`ingest_bench`]: chunk+hash throughput of the origin's ingest against `b3sum`.
//! - [`cache_bench`]: hit ratios of the edge cache's eviction policy against LRU on a Zipf
//!   workload.
//! - [`dedup_bench`]: how much of a new pack version is new chunks, per average chunk size.
//! - [`noise`], [`units`], [`spread`], [`machine`]: generated inputs, sizes as typed, run
//!   statistics, and the machine description printed with every table.
//! - [`side`]: Packyard and a peer started side by side; [`plot`]: PNG charts of the results.
//! - [`load`]: the load generator for HTTP servers (`packyard-bench load`).
//! - [`cold_miss`], [`delta_bench`], [`vs_nginx`], [`vs_etcd`]: the side-by-side runs;
//!   [`edge_memory`]: an edge's resident set under a long load, scraped or not;
//!   [`control_soak`]: the control plane's leader killed again and again under writers.
//! - [`error`]: [`BenchError`], what a run that cannot go on says.
//! - [`fleet`]: N simulated devices on the device client installing, then updating, a pack
//!   from one edge (`packyard-bench fleet`), side by side with [`vs_zsync`]: zsync building
//!   the same update from nginx.
//! - [`propagation`]: a rollout step from its commit until every edge serves it, over real
//!   `packyard` processes (`packyard-bench propagation`).

pub mod beta_tokens;
pub mod cache_bench;
pub mod cold_miss;
pub mod control_soak;
pub mod dedup_bench;
pub mod delta_bench;
pub mod edge_memory;
pub mod error;
pub mod fleet;
pub mod ingest_bench;
pub mod load;
pub mod machine;
pub mod noise;
pub mod plot;
pub mod propagation;
pub mod side;
pub mod spread;
pub mod store_bench;
pub mod units;
pub mod vs_etcd;
pub mod vs_nginx;
pub mod vs_zsync;

pub use error::BenchError;
