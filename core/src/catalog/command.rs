//! [`Command`]: every change the catalog accepts, as the Raft log carries it, and the payload
//! structs its commands carry.
//!
//! Creating commands carry the new record's id: the leader generates it before proposing,
//! so every replica creates the same record.
//!
//! # Payloads
//!
//! A command with two or more fields carries them in a struct named after it,
//! `Command::CreateUser(CreateUser)`, which the catalog hands to the command's handler
//! whole. A command with one field (an id, or the tester token secret) keeps it inline,
//! `RevokeApiKey { id }`: a struct would only wrap the one value its handler takes anyway.
//!
//! # The log format
//!
//! Log entries are JSON, with serde's externally tagged enums, and a variant that wraps a
//! struct is written exactly as a struct variant with the same fields:
//! `{"CreateUser":{"id":"u1","name":"Ann",…}}`. So renaming a payload struct changes
//! nothing in the log, but renaming a variant or a field does, and so would a one-field
//! command wrapping its bare value (`{"RevokeApiKey":"k1"}` instead of
//! `{"RevokeApiKey":{"id":"k1"}}`); entries already in a log would stop decoding. The
//! `log_format` tests pin the JSON of every command.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::app::BuildChannel;
use super::delivery::AttemptOutcome;
use super::event::EventType;
use super::ids::{
    ApiKeyId, AppId, BuildId, DeliveryId, EdgeId, PackId, ReviewSubmissionId, RolloutId,
    TesterTokenId, UploadFileId, UserId, VersionId, WebhookId,
};
use super::review::ReviewTrack;
use super::rollout::RolloutAction;
use super::tester_secret::TesterTokenSecret;
use super::tester_token::IssueTesterToken;
use super::upload_file::{AssetType, Sha256Digest};
use super::version::{StateDetails, VersionMetadata};
use super::webhook::WebhookSecret;
use crate::quota::QuotaLimits;
use crate::role::Role;
use crate::rollout::Stage;
use crate::upload_credential::UploadKey;
use crate::{AssetPackIdentifier, Blake3Hash, ChunkList, LanguageTag};

/// One change to the catalog. Each is applied whole or refused whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Create a user with roles on apps.
    CreateUser(CreateUser),
    /// Turn a user's archive notifications on or off.
    SetNotifications(SetNotifications),
    /// Give an existing user a role on an app (rule R14).
    GrantRole(GrantRole),
    /// Take a role, or every role, on an app from a user (rule R14).
    RemoveRole(RemoveRole),
    /// Register an API key for a user.
    CreateApiKey(CreateApiKey),
    /// Revoke an API key.
    RevokeApiKey {
        /// The key.
        id: ApiKeyId,
    },
    /// Record that a key authenticated a request now (Packyard itself, at most once per
    /// key per [`super::user::KEY_USE_RESOLUTION_MS`]).
    TouchApiKey {
        /// The key.
        id: ApiKeyId,
    },
    /// Create an app; the caller becomes its Account Holder.
    CreateApp(CreateApp),
    /// Mark an app as being transferred, or clear the mark.
    SetTransferInProgress(SetTransferInProgress),
    /// Register an app build for channels.
    RegisterBuild(RegisterBuild),
    /// Create an asset pack.
    CreatePack(CreatePack),
    /// Archive an asset pack, for good.
    ArchivePack {
        /// The pack.
        pack: PackId,
    },
    /// Create a pack version; the catalog numbers it.
    CreateVersion(CreateVersion),
    /// Reserve an upload file for a version.
    ReserveUploadFile(ReserveUploadFile),
    /// Mark an upload file as fully uploaded, with its checksum.
    CommitUploadFile(CommitUploadFile),
    /// Packyard fails an upload file not committed within `ttl_ms` of its reservation (and
    /// its version, `UPLOAD_EXPIRED`), freeing the quota it held. Control planes now propose
    /// [`Command::ExpireVersion`]; this one stays for the entries already in logs.
    ExpireUploadFile(ExpireUploadFile),
    /// Packyard fails a version that will never be processed as it stands
    /// ([`crate::upload_expiry::stall`]), and its unfinished files, freeing the quota they held.
    ExpireVersion(ExpireVersion),
    /// Packyard's origin stored and chunked a version.
    ProcessingSucceeded(ProcessingSucceeded),
    /// Packyard's origin could not use a version's upload.
    ProcessingFailed(ProcessingFailed),
    /// Submit a COMPLETE version for review.
    SubmitForReview(SubmitForReview),
    /// A reviewer starts reviewing a submission.
    StartReview {
        /// The submission.
        submission: ReviewSubmissionId,
    },
    /// A reviewer accepts or rejects a submission.
    DecideReview(DecideReview),
    /// The app takes back a submission no reviewer has picked up.
    WithdrawSubmission {
        /// The submission.
        submission: ReviewSubmissionId,
    },
    /// Packyard made an approved version available to external testers.
    FinishExternalProcessing {
        /// The version.
        version: VersionId,
    },
    /// Release an ACCEPTED version to the store.
    Release {
        /// The version.
        version: VersionId,
    },
    /// Packyard finished distributing a released version.
    FinishDistribution {
        /// The version.
        version: VersionId,
    },
    /// Subscribe an endpoint to an app's events.
    CreateWebhook(CreateWebhook),
    /// Remove a webhook, its pending deliveries and its delivery log.
    DeleteWebhook {
        /// The webhook.
        id: WebhookId,
    },
    /// Send a webhook, and only it, a test event.
    PingWebhook {
        /// The webhook.
        webhook: WebhookId,
    },
    /// Packyard's deliverer tried to POST a delivery, with this outcome.
    RecordDeliveryAttempt(RecordDeliveryAttempt),
    /// Set (Packyard, once) or replace (an operator) the secret tester tokens are signed with.
    SetTesterTokenSecret {
        /// The new secret.
        secret: TesterTokenSecret,
        /// Whether the keys before stop checking tokens at once (a leaked key); otherwise
        /// they check the tokens they signed until those could have expired.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        retire_previous: bool,
    },
    /// Record a tester token before it is signed (see [`IssueTesterToken`]).
    IssueTesterToken(IssueTesterToken),
    /// Revoke a tester token: every edge refuses it from then on.
    RevokeTesterToken {
        /// The token.
        id: TesterTokenId,
    },
    /// An edge announces itself, or announces changes after a restart (Packyard itself,
    /// through the control plane's edge registry). Idempotent per id.
    RegisterEdge(RegisterEdge),
    /// A registered edge is alive, and reports its sync progress and what it holds and served.
    EdgeHeartbeat(EdgeHeartbeat),
    /// Start a per-region rollout of an ACCEPTED store version (SPEC §7).
    StartRollout(StartRollout),
    /// Advance, pause, resume or roll back a rollout.
    ChangeRollout(ChangeRollout),
    /// Packyard's leader advances a rollout whose soak time is over (by the envelope's time).
    AutoAdvanceRollout(AutoAdvanceRollout),
    /// Packyard's leader makes the catalog's limits those of its configuration, so every
    /// replica applies the same limits whatever each node's file says.
    SetLimits {
        /// The limits.
        limits: QuotaLimits,
    },
    /// A node takes or renews a lease (Packyard itself only).
    AcquireLease(super::lease::AcquireLease),
    /// A node lets its lease go (Packyard itself only).
    ReleaseLease(super::lease::ReleaseLease),
}

/// What [`Command::CreateUser`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUser {
    /// The new user's id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Email address, unique among users.
    pub email: String,
    /// Roles to grant.
    pub roles: Vec<(AppId, Role)>,
    /// Whether the user is an operator.
    pub operator: bool,
}

/// What [`Command::SetNotifications`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetNotifications {
    /// The user.
    pub user: UserId,
    /// On or off.
    pub enabled: bool,
}

/// What [`Command::GrantRole`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRole {
    /// The user.
    pub user: UserId,
    /// The app.
    pub app: AppId,
    /// The role.
    pub role: Role,
}

/// What [`Command::RemoveRole`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveRole {
    /// The user.
    pub user: UserId,
    /// The app.
    pub app: AppId,
    /// The role to take; `None` takes every role the user holds on the app.
    pub role: Option<Role>,
}

/// What [`Command::CreateApiKey`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateApiKey {
    /// The new key's id.
    pub id: ApiKeyId,
    /// Its user.
    pub user: UserId,
    /// The BLAKE3 hash of the secret.
    pub key_hash: Blake3Hash,
}

/// What [`Command::CreateApp`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateApp {
    /// The new app's id.
    pub id: AppId,
    /// Its name.
    pub name: String,
    /// Its bundle id, unique among apps.
    pub bundle_id: String,
    /// Its primary language.
    pub primary_language: LanguageTag,
}

/// What [`Command::SetTransferInProgress`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetTransferInProgress {
    /// The app.
    pub app: AppId,
    /// Whether a transfer is under way.
    pub in_progress: bool,
}

/// What [`Command::RegisterBuild`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterBuild {
    /// The new build's id.
    pub id: BuildId,
    /// Its app.
    pub app: AppId,
    /// Its build number, unique in the app.
    pub build_number: String,
    /// Where it is available.
    pub channels: BTreeSet<BuildChannel>,
}

/// What [`Command::CreatePack`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePack {
    /// The new pack's id.
    pub id: PackId,
    /// Its app.
    pub app: AppId,
    /// Its identifier.
    pub identifier: AssetPackIdentifier,
}

/// What [`Command::CreateVersion`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateVersion {
    /// The new version's id.
    pub id: VersionId,
    /// Its pack.
    pub pack: PackId,
}

/// What [`Command::ReserveUploadFile`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveUploadFile {
    /// The new upload file's id.
    pub id: UploadFileId,
    /// Its version.
    pub version: VersionId,
    /// Its name.
    pub file_name: String,
    /// Its size in bytes.
    pub file_size: u64,
    /// What it holds.
    pub asset_type: AssetType,
    /// The key its upload URLs are signed with, chosen at random by the node that takes the
    /// request. Entries logged before uploads were signed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<UploadKey>,
}

/// What [`Command::CommitUploadFile`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitUploadFile {
    /// The upload file.
    pub id: UploadFileId,
    /// Its SHA-256.
    pub sha256: Sha256Digest,
}

/// What [`Command::ExpireUploadFile`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpireUploadFile {
    /// The upload file.
    pub id: UploadFileId,
    /// How long a reservation lasts, from the control plane's configuration.
    pub ttl_ms: u64,
}

/// What [`Command::ExpireVersion`] carries: the version and the deadlines in force, from the
/// control plane's configuration, so every replica judges the envelope's time alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpireVersion {
    /// The version.
    pub version: VersionId,
    /// How long a reservation lasts, in milliseconds.
    pub reservation_ms: u64,
    /// How long processing may take once every file is committed, in milliseconds.
    pub processing_ms: u64,
}

impl ExpireVersion {
    /// The deadlines it carries.
    pub fn deadlines(&self) -> crate::upload_expiry::Deadlines {
        crate::upload_expiry::Deadlines {
            reservation_ms: self.reservation_ms,
            processing_ms: self.processing_ms,
        }
    }
}

/// What [`Command::ProcessingSucceeded`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessingSucceeded {
    /// The version.
    pub version: VersionId,
    /// The archive's size in bytes.
    pub size: u64,
    /// Its chunks.
    pub chunk_list: ChunkList,
    /// What its manifest says.
    pub metadata: VersionMetadata,
}

/// What [`Command::ProcessingFailed`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessingFailed {
    /// The version.
    pub version: VersionId,
    /// The upload file at fault, if one is.
    pub upload_file: Option<UploadFileId>,
    /// Why, with at least one error.
    pub details: StateDetails,
}

/// What [`Command::SubmitForReview`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitForReview {
    /// The new submission's id.
    pub id: ReviewSubmissionId,
    /// The version.
    pub version: VersionId,
    /// Which review.
    pub track: ReviewTrack,
}

/// What [`Command::DecideReview`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecideReview {
    /// The submission.
    pub submission: ReviewSubmissionId,
    /// Accepted or rejected.
    pub accepted: bool,
    /// Why it was rejected; required when rejecting.
    pub reasons: Vec<String>,
}

/// What [`Command::CreateWebhook`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateWebhook {
    /// The new webhook's id.
    pub id: WebhookId,
    /// The app whose events it receives.
    pub app: AppId,
    /// Where events are POSTed: an `http://` or `https://` URL.
    pub url: String,
    /// The HMAC-SHA256 key that signs every body; at least 32 bytes, generated by the API.
    pub secret: WebhookSecret,
    /// The event types it wants; empty means every type.
    pub event_types: BTreeSet<EventType>,
}

/// What [`Command::RecordDeliveryAttempt`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordDeliveryAttempt {
    /// The delivery.
    pub delivery: DeliveryId,
    /// What the endpoint answered, or why it could not be reached.
    pub outcome: AttemptOutcome,
}

/// What [`Command::RegisterEdge`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterEdge {
    /// The edge's id.
    pub id: EdgeId,
    /// Its region.
    pub region: String,
    /// Where devices reach it.
    pub public_urls: Vec<String>,
    /// Its chunk cache's size in bytes.
    pub capacity_bytes: u64,
}

/// What [`Command::EdgeHeartbeat`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeHeartbeat {
    /// The edge's id.
    pub id: EdgeId,
    /// The last catalog index it applied.
    pub applied_index: u64,
    /// The bytes its cache holds.
    pub cached_bytes: u64,
    /// The versions (pack, number) it holds every chunk of.
    pub ready: BTreeSet<(PackId, u32)>,
    /// Distinct devices served per version (pack, number) since it started.
    #[serde(with = "super::edge::served_pairs")]
    pub served: BTreeMap<(PackId, u32), u64>,
    /// Requests that resolved to each version (pack, number) since it started.
    #[serde(default, with = "super::edge::served_pairs")]
    pub requests: BTreeMap<(PackId, u32), u64>,
}

/// What [`Command::StartRollout`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartRollout {
    /// The new rollout's id.
    pub id: RolloutId,
    /// The version to roll out.
    pub version: VersionId,
    /// The plan: regions and percentages, widening to every region at 100 %.
    pub stages: Vec<Stage>,
    /// Seconds each stage runs before the leader advances it; `None`: by command only.
    pub soak_seconds: Option<u64>,
}

/// What [`Command::ChangeRollout`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRollout {
    /// The rollout.
    pub rollout: RolloutId,
    /// What to do.
    pub action: RolloutAction,
}

/// What [`Command::AutoAdvanceRollout`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoAdvanceRollout {
    /// The rollout.
    pub rollout: RolloutId,
    /// The index of the stage the leader saw in force.
    pub stage: u32,
}
