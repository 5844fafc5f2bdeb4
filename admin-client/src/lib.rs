//! `packyard-admin-client`: the one client of the admin API (SPEC §5), used by the
//! `packyard` operator commands, the benchmarks and every test that drives the API.
//!
//! It owns how the API is spoken: JSON:API documents, error documents turned into errors
//! that say what was refused and why, paging through `links.next`, the resumable part
//! upload to the origin with the SHA-256 computed while reading, and waiting for the origin
//! to process a version. It depends on no server crate, so the servers' own tests can use it.
//!
//! # Layout
//!
//! - [`client`]: [`AdminClient`], calls that return a document or a refusal, and
//!   [`Answer`] for callers that check the API's raw answers.
//! - [`error`]: [`AdminError`] and [`Refusal`].
//! - [`document`]: relationship objects and ids.
//! - [`resources`]: typed requests and results, one resource family a file (apps and
//!   builds, packs, versions, upload files, review submissions, rollouts, users, keys and
//!   tester tokens).
//! - [`upload`]: upload operations, the origin's missing parts, part retries, [`Progress`].
//! - [`wait`]: polling a version until processing ends, within a deadline.
//! - [`flows`]: upload-and-wait and release-to-store as one call each.

pub mod client;
pub mod document;
pub mod error;
pub mod flows;
pub mod resources;
pub mod upload;
pub mod wait;

pub use client::{AdminClient, Answer};
pub use document::{id_of, related_id, to_one};
pub use error::{AdminError, Refusal};
pub use packyard_core::catalog::{
    AssetType, BuildChannel, ReviewTrack, RolloutAction, RolloutState, SubmissionState,
    UploadFileState, VersionState,
};
pub use packyard_core::role::Role;
pub use resources::access::{ApiKey, BetaChannel, NewTesterToken, NewUser, TesterToken};
pub use resources::apps::{NewApp, NewBuild};
pub use resources::packs::NewPack;
pub use resources::resource::{App, Build, Pack, Resource, Stateful, User};
pub use resources::reviews::{Submission, submission_document};
pub use resources::rollouts::{NewRollout, Rollout, Stage, action_document};
pub use resources::upload_files::{NewUploadFile, UploadFile, commit_document};
pub use resources::versions::{Track, Version, new_version_document};
pub use resources::webhooks::NewWebhook;
pub use upload::{ChunkEntry, NoProgress, Operation, Progress, SendPlan, SentChunks};
