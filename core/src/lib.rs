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
//! - [`language`] also holds the selection of a localized pack for a device (rule R10).
//! - [`role`]: the roles users hold on apps and what each allows (rule R8).
//! - [`quota`]: per-app limits and the used-bytes arithmetic (rule R9).
//! - [`catalog`]: apps, users, packs, versions, release tracks and reviews as one
//!   deterministic state machine that the control plane applies command by command
//!   (rules R1-R9, R11, R12).

pub mod catalog;
pub mod chunk_list;
pub mod download_policy;
pub mod language;
pub mod pack_id;
pub mod platform;
pub mod quota;
pub mod role;

pub use chunk_list::{Blake3Hash, ChunkList, ChunkRef};
pub use download_policy::{DownloadPolicy, InstallationEventType};
pub use language::LanguageTag;
pub use pack_id::AssetPackIdentifier;
pub use platform::Platform;
