//! The packaging tool behind `packyard pack`: reads a packaging manifest, collects the files
//! its selectors name, and writes a deterministic archive with the manifest inside.
//!
//! # Layout
//!
//! - [`build`](mod@build): the one entry point, [`build()`]: manifest + directory → archive.
//! - `select`: resolves selectors to regular files inside the source root (links followed,
//!   but never out of the root).
//! - `write`: streams files into the tar archive with fixed metadata, hashing as it writes.
//! - [`progress`]: the [`Progress`] trait a caller implements to show a progress bar.
//! - [`error`]: [`BuildError`], every way a build fails, in words that say what to fix.
//!
//! The archive format's pure parts (the manifest entry's name and how to read it back) live
//! in [`packyard_core::archive`], so the origin reads archives without depending on this crate.

pub mod build;
pub mod error;
pub mod progress;
mod select;
mod write;

pub use build::{BuildSummary, build};
pub use error::{BuildError, SelectorError, SelectorProblem};
pub use progress::{NoProgress, Progress};
