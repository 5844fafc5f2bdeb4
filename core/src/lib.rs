//! Packyard's domain, as pure code: no I/O, no async, no clocks, no randomness.
//!
//! Everything a Packyard node decides is decided here, from plain data, so it can be tested
//! without sockets or disks and replayed identically on every Raft replica. Services above
//! this crate parse requests, call these functions, and do the I/O they ask for.
//!
//! # Layout
//!
//! - [`pack_id`], [`platform`], [`download_policy`], [`language`]: the value types a pack
//!   version carries, each checked when it is made.
//! - [`chunk_list`]: what a version's bytes are made of, and how byte ranges map onto chunks.
//! - [`device_manifest`]: the download manifest a device fetches, and which packs it lists.
//! - [`tester_token`]: signed, expiring tokens that open a beta channel of one app.
//! - [`language`] also holds the selection of a localized pack for a device (rule R10).
//! - [`manifest`]: the packaging manifest, checked field by field, and its canonical bytes.
//! - [`archive`]: the pure parts of the pack archive format: where the manifest sits and
//!   how to read it from an archive's first bytes without unpacking.

pub mod archive;
pub mod chunk_list;
pub mod device_manifest;
pub mod download_policy;
pub mod language;
pub mod manifest;
pub mod pack_id;
pub mod platform;
pub mod tester_token;

pub use chunk_list::{Blake3Hash, ChunkList, ChunkRef};
pub use download_policy::{DownloadPolicy, InstallationEventType};
pub use language::LanguageTag;
pub use manifest::{PackagingManifest, ParsedManifest};
pub use pack_id::AssetPackIdentifier;
pub use platform::Platform;
