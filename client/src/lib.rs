//! The Packyard device client: what an app (or a test rig, or a load test) embeds to fetch
//! its packs from an edge.
//!
//! # Layout
//!
//! - [`manifest`]: the download manifest an edge answers with, read back field by field.
//! - [`plan`]: what a sync downloads, keeps and removes, and each pack's state in the
//!   platform's words (`downloadAvailable`, `updateAvailable`, `upToDate`, `outOfDate`,
//!   `obsolete`).
//!
//! Downloading itself (parallel ranges, resume, delta updates from the chunk list, repair)
//! and `packyard device sync` come next (issue 12); until then a device is played by the
//! HTTP clients the edge tests use.

pub mod manifest;
pub mod plan;

pub use manifest::{DeviceManifest, ManifestError, ManifestPack};
pub use plan::{Held, Occasion, PackState, Step, plan, state};
