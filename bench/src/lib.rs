//! `packyard-bench`: the load and ingest benchmarks, each run side by side with its peer.
//!
//! Planned (issues 03, 06): the chunk+hash ingest benchmark against `b3sum`, and a load
//! generator for HTTP edges measured against nginx and etcd. Nothing is implemented here yet,
//! so this crate exports nothing.
