//! [`Command`]: every change the catalog accepts, as the Raft log carries it.
//!
//! Creating commands carry the new record's id: the leader generates it before proposing,
//! so every replica creates the same record.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::app::BuildChannel;
use super::delivery::AttemptOutcome;
use super::event::EventType;
use super::ids::{
    ApiKeyId, AppId, BuildId, DeliveryId, EdgeId, PackId, ReviewSubmissionId, RolloutId,
    UploadFileId, UserId, VersionId, WebhookId,
};
use super::review::ReviewTrack;
use super::rollout::RolloutAction;
use super::tester_secret::TesterTokenSecret;
use super::upload_file::{AssetType, Sha256Digest};
use super::version::{StateDetails, VersionMetadata};
use super::webhook::WebhookSecret;
use crate::role::Role;
use crate::rollout::Stage;
use crate::{AssetPackIdentifier, Blake3Hash, ChunkList, LanguageTag};

/// One change to the catalog. Each is applied whole or refused whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Create a user with roles on apps.
    CreateUser {
        /// The new user's id.
        id: UserId,
        /// Display name.
        name: String,
        /// Email address, unique among users.
        email: String,
        /// Roles to grant.
        roles: Vec<(AppId, Role)>,
        /// Whether the user is an operator.
        operator: bool,
    },
    /// Turn a user's archive notifications on or off.
    SetNotifications {
        /// The user.
        user: UserId,
        /// On or off.
        enabled: bool,
    },
    /// Register an API key for a user.
    CreateApiKey {
        /// The new key's id.
        id: ApiKeyId,
        /// Its user.
        user: UserId,
        /// The BLAKE3 hash of the secret.
        key_hash: Blake3Hash,
    },
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
    CreateApp {
        /// The new app's id.
        id: AppId,
        /// Its name.
        name: String,
        /// Its bundle id, unique among apps.
        bundle_id: String,
        /// Its primary language.
        primary_language: LanguageTag,
    },
    /// Mark an app as being transferred, or clear the mark.
    SetTransferInProgress {
        /// The app.
        app: AppId,
        /// Whether a transfer is under way.
        in_progress: bool,
    },
    /// Register an app build for channels.
    RegisterBuild {
        /// The new build's id.
        id: BuildId,
        /// Its app.
        app: AppId,
        /// Its build number, unique in the app.
        build_number: String,
        /// Where it is available.
        channels: BTreeSet<BuildChannel>,
    },
    /// Create an asset pack.
    CreatePack {
        /// The new pack's id.
        id: PackId,
        /// Its app.
        app: AppId,
        /// Its identifier.
        identifier: AssetPackIdentifier,
    },
    /// Archive an asset pack, for good.
    ArchivePack {
        /// The pack.
        pack: PackId,
    },
    /// Create a pack version; the catalog numbers it.
    CreateVersion {
        /// The new version's id.
        id: VersionId,
        /// Its pack.
        pack: PackId,
    },
    /// Reserve an upload file for a version.
    ReserveUploadFile {
        /// The new upload file's id.
        id: UploadFileId,
        /// Its version.
        version: VersionId,
        /// Its name.
        file_name: String,
        /// Its size in bytes.
        file_size: u64,
        /// What it holds.
        asset_type: AssetType,
    },
    /// Mark an upload file as fully uploaded, with its checksum.
    CommitUploadFile {
        /// The upload file.
        id: UploadFileId,
        /// Its SHA-256.
        sha256: Sha256Digest,
    },
    /// Packyard fails an upload file not committed within `ttl_ms` of its reservation (and
    /// its version, `UPLOAD_EXPIRED`), freeing the quota it held.
    ExpireUploadFile {
        /// The upload file.
        id: UploadFileId,
        /// How long a reservation lasts, from the control plane's configuration.
        ttl_ms: u64,
    },
    /// Packyard's origin stored and chunked a version.
    ProcessingSucceeded {
        /// The version.
        version: VersionId,
        /// The archive's size in bytes.
        size: u64,
        /// Its chunks.
        chunk_list: ChunkList,
        /// What its manifest says.
        metadata: VersionMetadata,
    },
    /// Packyard's origin could not use a version's upload.
    ProcessingFailed {
        /// The version.
        version: VersionId,
        /// The upload file at fault, if one is.
        upload_file: Option<UploadFileId>,
        /// Why, with at least one error.
        details: StateDetails,
    },
    /// Submit a COMPLETE version for review.
    SubmitForReview {
        /// The new submission's id.
        id: ReviewSubmissionId,
        /// The version.
        version: VersionId,
        /// Which review.
        track: ReviewTrack,
    },
    /// A reviewer starts reviewing a submission.
    StartReview {
        /// The submission.
        submission: ReviewSubmissionId,
    },
    /// A reviewer accepts or rejects a submission.
    DecideReview {
        /// The submission.
        submission: ReviewSubmissionId,
        /// Accepted or rejected.
        accepted: bool,
        /// Why it was rejected; required when rejecting.
        reasons: Vec<String>,
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
    CreateWebhook {
        /// The new webhook's id.
        id: WebhookId,
        /// The app whose events it receives.
        app: AppId,
        /// Where events are POSTed: an `http://` or `https://` URL.
        url: String,
        /// The HMAC-SHA256 key that signs every body; at least 32 bytes, generated by the API.
        secret: WebhookSecret,
        /// The event types it wants; empty means every type.
        event_types: BTreeSet<EventType>,
    },
    /// Remove a webhook, its pending deliveries and its delivery log.
    DeleteWebhook {
        /// The webhook.
        id: WebhookId,
    },
    /// Packyard's deliverer tried to POST a delivery, with this outcome.
    RecordDeliveryAttempt {
        /// The delivery.
        delivery: DeliveryId,
        /// What the endpoint answered, or why it could not be reached.
        outcome: AttemptOutcome,
    },
    /// Set (Packyard, once) or replace (an operator) the secret tester tokens are signed with.
    SetTesterTokenSecret {
        /// The new secret.
        secret: TesterTokenSecret,
    },
    /// An edge announces itself, or announces changes after a restart (Packyard itself,
    /// through the control plane's edge registry). Idempotent per id.
    RegisterEdge {
        /// The edge's id.
        id: EdgeId,
        /// Its region.
        region: String,
        /// Where devices reach it.
        public_urls: Vec<String>,
        /// Its chunk cache's size in bytes.
        capacity_bytes: u64,
    },
    /// A registered edge is alive, and reports its sync progress and what it holds and served.
    EdgeHeartbeat {
        /// The edge's id.
        id: EdgeId,
        /// The last catalog index it applied.
        applied_index: u64,
        /// The bytes its cache holds.
        cached_bytes: u64,
        /// The versions (pack, number) it holds every chunk of.
        ready: BTreeSet<(PackId, u32)>,
        /// Distinct devices served per version (pack, number) since it started.
        #[serde(with = "super::edge::served_pairs")]
        served: BTreeMap<(PackId, u32), u64>,
        /// Requests that resolved to each version (pack, number) since it started.
        #[serde(default, with = "super::edge::served_pairs")]
        requests: BTreeMap<(PackId, u32), u64>,
    },
    /// Start a per-region rollout of an ACCEPTED store version (SPEC §7).
    StartRollout {
        /// The new rollout's id.
        id: RolloutId,
        /// The version to roll out.
        version: VersionId,
        /// The plan: regions and percentages, widening to every region at 100 %.
        stages: Vec<Stage>,
        /// Seconds each stage runs before the leader advances it; `None`: by command only.
        soak_seconds: Option<u64>,
    },
    /// Advance, pause, resume or roll back a rollout.
    ChangeRollout {
        /// The rollout.
        rollout: RolloutId,
        /// What to do.
        action: RolloutAction,
    },
    /// Packyard's leader advances a rollout whose soak time is over (by the envelope's time).
    AutoAdvanceRollout {
        /// The rollout.
        rollout: RolloutId,
        /// The index of the stage the leader saw in force.
        stage: u32,
    },
}
