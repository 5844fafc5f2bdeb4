//! Packyard's domain, as pure code: no I/O, no async, no clocks, no randomness.
//!
//! Everything a Packyard node decides is decided here, from plain data, so it can be tested
//! without sockets or disks and replayed identically on every Raft replica. Services above
//! this crate parse requests, call these functions, and do the I/O they ask for.
//!
//! # Layout
//!
//! Value types, each checked when it is made:
//! - [`pack_id`], [`platform`], [`download_policy`], [`language`]: what a pack version carries.
//! - [`chunk_list`]: what a version's bytes are made of, and how byte ranges map onto chunks.
//! - [`pieces`]: chunks cut finer for device delta updates, the `chunks` selection a device
//!   asks pieces for, and the binary document the edge answers with.
//!
//! Documents that cross the network:
//! - [`manifest`]: the packaging manifest, checked field by field, and its canonical bytes.
//! - [`archive`]: the pure parts of the pack archive format: where the manifest sits and
//!   how to read it from an archive's first bytes without unpacking.
//! - [`device_manifest`]: the download manifest a device fetches, and which packs it lists;
//!   [`language::select`] picks a localized pack's language for a device (rule R10).
//! - [`tester_token`]: signed, expiring tokens that open a beta channel of one app.
//! - [`device_access`]: who may fetch a channel or a version's immutable URL (either beta
//!   channel's tester, when it serves the version), and the `Cache-Control` each answer gets.
//! - [`webhook_target`]: which addresses a webhook may not be sent to (the cluster's own
//!   network), unless the operator allows them.
//! - [`http_range`]: `Range`, `If-Range` and `If-None-Match` on a pack archive (RFC 9110),
//!   decided as a [`Plan`](http_range::Plan), and the `multipart/byteranges` body it needs.
//!
//! The release workflow:
//! - [`role`]: the roles users hold on apps and what each allows (rule R8).
//! - [`quota`]: per-app limits and the used-bytes arithmetic (rule R9).
//! - [`upload_parts`]: how an upload file is cut into parts, for the admin API's upload
//!   operations and the origin's checks alike.
//! - [`upload_credential`]: the signature in each upload URL that lets its holder write one
//!   part of one file (or read its status), and how the origin checks it.
//! - [`upload_expiry`]: when a version that will never be processed as it stands (a file
//!   never committed, no archive, processing never reported) is failed.
//! - [`catalog`]: apps, users, packs, versions, release tracks and reviews as one
//!   deterministic state machine that the control plane applies command by command
//!   (rules R1-R9, R11, R12).
//! - [`rollout`]: per-region rollout stages, the stable device bucket, and which version a
//!   device in a region gets while a rollout runs.

pub mod archive;
pub mod catalog;
pub mod chunk_list;
pub mod device_access;
pub mod device_manifest;
pub mod download_policy;
pub mod http_range;
pub mod language;
pub mod manifest;
pub mod pack_id;
pub mod pieces;
pub mod platform;
pub mod quota;
pub mod role;
pub mod rollout;
pub mod tester_token;
pub mod upload_credential;
pub mod upload_expiry;
pub mod upload_parts;
pub mod webhook_target;

pub use chunk_list::{Blake3Hash, ChunkList, ChunkRef};
pub use download_policy::{DownloadPolicy, InstallationEventType};
pub use language::LanguageTag;
pub use manifest::{PackagingManifest, ParsedManifest};
pub use pack_id::AssetPackIdentifier;
pub use platform::Platform;
