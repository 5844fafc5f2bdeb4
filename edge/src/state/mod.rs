//! What the edge serves, built from the control plane's watch stream. Pure: no I/O, no
//! clocks; the sync task feeds it events and the HTTP server asks it questions.
//!
//! # Layout
//!
//! - [`ServingState`]: apps (primary language), every COMPLETE version of every live pack,
//!   and which version each channel serves; archived packs are dropped from all of it.
//! - [`ServedVersion`]: one version as the edge needs it (size, chunk list, policy,
//!   platforms, language), converted from its watch-stream message in one place.
//! - [`Channel`]: `internal`, `external` or `store`, as device URLs spell them.

mod channel;
mod serving_state;
#[cfg(test)]
mod serving_state_test;
mod version;

pub use channel::Channel;
pub use serving_state::{Applied, ServingState};
pub use version::{ServedVersion, VersionError};
