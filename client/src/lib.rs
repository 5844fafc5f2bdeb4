//! The Packyard device client: what an app (or a test rig, or a load test) embeds to fetch
//! its packs from an edge.
//!
//! # Layout
//!
//! - [`manifest`]: the download manifest an edge answers with, read back field by field.
//! - [`plan`]: what a sync downloads, keeps and removes, and each pack's state in the
//!   platform's words (`downloadAvailable`, `updateAvailable`, `upToDate`, `outOfDate`,
//!   `obsolete`).
//! - [`device`]: a device's packs on disk kept in step with an edge: the sync, downloads by
//!   parallel multi-range requests that resume without fetching anything twice, delta
//!   updates that reuse every chunk the held version has, verification and repair.
//! - `download` (private): one pack's download as named steps (plan, reuse, pieces, fetch,
//!   verify, switch), its disk work on the blocking pool.
//! - `delta` (private): the chunks a download lacks, the pieces the held version offers for
//!   them, and the byte ranges left to fetch, merged and cut into requests.
//! - [`error`]: what failed, in words an app can act on (token expired, pack not served,
//!   disk full, edge unreachable).

mod delta;
pub mod device;
mod download;
pub mod error;
mod fetch;
pub mod manifest;
pub mod plan;

pub use device::{Device, DeviceConfig, PackReport, Progress, Quiet, SyncReport, Transfer};
pub use error::ClientError;
pub use manifest::{DeviceManifest, ManifestError, ManifestPack};
pub use plan::{Held, Occasion, PackState, Step, plan, state};
