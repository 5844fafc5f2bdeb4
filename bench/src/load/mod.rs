//! `packyard-bench load`: a load generator for HTTP servers (any, not only Packyard edges).
//!
//! # Layout
//!
//! - [`workload`]: what each request asks for: the [`workload::RequestSource`] trait and the
//!   CDN range workload (range sizes and alignment, Zipf popularity, resumed and whole
//!   downloads), with [`zipf`] for the popularity.
//! - [`schedule`]: closed and open loops, and the coordinated-omission correction.
//! - [`client`]: one hyper 1 connection (HTTP/1.1, or HTTP/2 with prior knowledge) and one
//!   checked exchange on it; [`verify`] says what makes an answer wrong.
//! - [`runner`]: connections, workers, warm-up, stop conditions; [`report`]: the numbers as a
//!   table or JSON; [`target`]: URLs in, servers and file sizes out.

pub mod args;
pub mod client;
pub mod error;
pub mod progress;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod target;
pub mod verify;
pub mod workload;
pub mod zipf;

pub use error::LoadError;
