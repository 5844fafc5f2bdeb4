//! The Packyard origin: where pack bytes enter the system and where edges fetch them from.
//!
//! Bytes flow upload → staging → processing → report:
//!
//! 1. [`upload`]: the HTTP endpoint clients `PUT` parts to, at the signed URLs the admin
//!    API's `uploadOperations` list. It asks the control plane (`DescribeUpload`) whether the
//!    file still takes parts, how it is cut and which key signs its URLs, checks the URL's
//!    credential and each part's length, and writes it atomically to [`staging`].
//!    `GET /v1/uploads/{id}` (signed too) tells an interrupted client what is missing.
//! 2. [`process`]: follows the control plane's watch stream. When a version's files are all
//!    committed it concatenates the archive's parts, chunks them ([`ingest`]) into the
//!    chunk store, checks the SHA-256 and the manifest, and reports the version COMPLETE
//!    or FAILED; then deletes the staged parts.
//! 3. [`chunk_service`]: the `ChunkStore` gRPC service edges sync from: `Have` (which chunks
//!    the origin holds) and `Fetch` (their bytes in frames of at most 1 MiB, read one chunk at
//!    a time so a slow edge slows the reads). Chunks live in a
//!    [`packyard_chunk_store::ChunkStore`]; a corrupt one is reported missing, never sent.
//! 4. [`gc_task`]: every `gc.interval_secs`, once the follower has had a snapshot, removes
//!    chunks no kept version names that are older than `gc.grace_secs`.
//!
//! # Layout
//!
//! - [`config`]: [`OriginConfig`], every default and its validation.
//! - [`node`]: one origin process, wired from its configuration ([`node::run`]).
//! - [`control`]: the gRPC client of the control plane and the conversions to and from its
//!   messages, in one place.
//! - [`staging`]: parts on disk, written atomically; the part layout rule.
//! - [`upload`], [`process`], [`ingest`], [`chunk_service`], [`gc_task`]: as above.
//! - [`staging_sweep`]: removes the staged parts of uploads that will never be processed
//!   (expired reservations, failed versions), as the control plane says.
//! - The shutdown signal tasks share is `packyard_catalog_client::Stop`, re-exported here.

pub mod chunk_service;
pub mod config;
pub mod control;
pub mod gc_task;
pub mod ingest;
pub mod metrics;
pub mod node;
pub mod process;
pub mod staging;
pub mod staging_sweep;
pub mod upload;

pub use chunk_service::{ChunkService, ChunkServiceConfig};
pub use config::{GcConfig, OriginConfig};
pub use packyard_catalog_client::Stop;
