//! What the edge serves, built from the control plane's watch stream. Pure: no I/O, no
//! clocks; the sync task feeds it events and the HTTP server asks it questions.
//!
//! # Layout
//!
//! - [`ServingState`]: apps (primary language), every COMPLETE version of every live pack,
//!   and which version each channel serves; archived packs are dropped from all of it.
//! - [`CompletedVersion`] (core's): one version as the edge serves it (size, chunk list,
//!   policy, platforms, language), from its watch-stream message by
//!   `packyard_proto::convert::catalog::completed_version`.
//! - [`Channel`] (core's): `internal`, `external` or `store`, as device URLs spell them.
//! - [`ActiveRollout`] (core's): an active per-region rollout; with the edge's region and
//!   the device id it decides which version a store request gets, read from its
//!   watch-stream message by `packyard_proto::convert::catalog::rollout`.

mod serving_state;
#[cfg(test)]
mod serving_state_test;

pub use packyard_core::catalog::{Channel, CompletedVersion};
pub use packyard_core::rollout::ActiveRollout;
pub use serving_state::{Applied, ServingState};
