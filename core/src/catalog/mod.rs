//! The [`Catalog`]: apps, users, packs, versions, release tracks and reviews, as one pure,
//! deterministic state machine that the control plane's Raft state machine applies log entry
//! by log entry.
//!
//! [`Catalog::apply`] takes an [`Envelope`] (who, when, what) and returns the [`Event`]s it
//! caused, or a [`Refusal`]; a refused command leaves the catalog exactly as it was. Every
//! collection is a `BTreeMap`, so snapshots and event order are the same on every replica.
//!
//! One file per record type; each holds that type and the handlers of the commands that change
//! it. The commands themselves, and the payload structs they carry, are in `command.rs`: they
//! are the Raft log's format.

#[macro_use]
mod state_enum;

mod app;
mod command;
mod delivery;
mod edge;
mod envelope;
mod event;
mod ids;
pub mod lease;
mod membership;
mod pack;
mod reads;
mod refusal;
mod release;
mod resource;
mod review;
mod rollout;
mod serving;
mod serving_view;
mod tester_secret;
mod tester_token;
mod upload_file;
mod user;
mod version;
mod version_expiry;
pub mod webhook;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub use app::{App, Build, BuildChannel};
pub use command::{
    AutoAdvanceRollout, ChangeRollout, Command, CommitUploadFile, CreateApiKey, CreateApp,
    CreatePack, CreateUser, CreateVersion, CreateWebhook, DecideReview, EdgeHeartbeat,
    ExpireUploadFile, ExpireVersion, GrantRole, ProcessingFailed, ProcessingSucceeded,
    RecordDeliveryAttempt, RegisterBuild, RegisterEdge, RemoveRole, ReserveUploadFile,
    SetNotifications, SetTransferInProgress, StartRollout, SubmitForReview,
};
pub use delivery::{Attempt, AttemptOutcome, Delivery, DeliveryState, WebhookPolicy};
pub use edge::{
    Edge, EdgeStatus, MAX_EDGE_ID_LEN, MAX_PUBLIC_URLS, MAX_REGION_LEN, check_region,
    check_registration, edge_status,
};
pub use envelope::{Actor, Envelope, Timestamp};
pub use event::{Event, EventType, Instance};
pub use ids::{
    ApiKeyId, AppId, BuildId, DeliveryId, EdgeId, EventId, PackId, ReviewSubmissionId, RolloutId,
    TesterTokenId, UploadFileId, UserId, VersionId, WebhookId,
};
pub use lease::{AcquireLease, Lease, ReleaseLease};
pub use pack::{Archival, Pack, set_archived};
pub use reads::read_action;
pub use refusal::{Refusal, RefusalKind, Rule};
pub use release::{AppStoreState, ExternalBetaState, InternalBetaState, ReleaseRecords};
pub use resource::ResourceType;
pub use review::{ReviewSubmission, ReviewTrack, SubmissionState};
pub use rollout::{MAX_SOAK_SECONDS, Rollout, RolloutAction, RolloutState};
pub use serving::{Channel, CompletedVersion, ServedVersion};
pub use serving_view::{ClusterView, CommittedFile, ServingChange, ServingView};
pub use tester_secret::{MAX_PREVIOUS_KEYS, TesterTokenSecret};
pub use tester_token::{IssueTesterToken, TesterToken, issue_action};
pub use upload_file::{
    AssetType, MAX_MANIFEST_FILE_BYTES, Sha256Digest, UploadFile, UploadFileState,
};
pub use user::{ApiKey, KEY_USE_RESOLUTION_MS, User};
pub use version::{
    StateDetail, StateDetails, Version, VersionContent, VersionMetadata, VersionState,
};
pub use webhook::{Webhook, WebhookSecret};

use crate::Blake3Hash;
use crate::quota::{self, QuotaLimits};
use crate::role::{self, Action};

/// Everything the control plane knows about apps and their packs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    limits: QuotaLimits,
    users: BTreeMap<UserId, User>,
    api_keys: BTreeMap<ApiKeyId, ApiKey>,
    /// Live keys by secret hash, for authenticating requests.
    key_index: BTreeMap<Blake3Hash, ApiKeyId>,
    apps: BTreeMap<AppId, App>,
    builds: BTreeMap<BuildId, Build>,
    packs: BTreeMap<PackId, Pack>,
    versions: BTreeMap<VersionId, Version>,
    upload_files: BTreeMap<UploadFileId, UploadFile>,
    submissions: BTreeMap<ReviewSubmissionId, ReviewSubmission>,
    // Webhooks and their outbox. Defaults let a snapshot from before webhooks load.
    #[serde(default)]
    webhook_policy: WebhookPolicy,
    #[serde(default)]
    webhooks: BTreeMap<WebhookId, Webhook>,
    /// Every delivery still pending, and each webhook's newest finished ones, in the order
    /// they were queued (their ids are zero-padded counters).
    #[serde(default)]
    deliveries: BTreeMap<DeliveryId, Delivery>,
    /// How many events have been emitted: the number in the newest event id.
    #[serde(default)]
    next_event: u64,
    /// How many deliveries have been queued: the number in the newest delivery id.
    #[serde(default)]
    next_delivery: u64,
    /// What tester tokens are signed with; set at bootstrap.
    #[serde(default)]
    tester_token_secret: Option<TesterTokenSecret>,
    /// How many times the tester token secret was set: 1 for the first, one more at each
    /// rotation. Edges compare it with the one their secret came with. Defaults let older
    /// snapshots load.
    #[serde(default)]
    tester_token_generation: u64,
    /// Keys rotated out that still check the tokens they signed.
    #[serde(default)]
    tester_token_previous: Vec<tester_secret::PreviousTokenKey>,
    /// Tester tokens issued that have not expired (swept when the next one is issued).
    #[serde(default)]
    tester_tokens: BTreeMap<TesterTokenId, TesterToken>,
    /// The edge fleet, as the edges last reported. Defaults let older snapshots load.
    #[serde(default)]
    edges: BTreeMap<EdgeId, Edge>,
    /// Per-region rollouts, active and finished. Defaults let older snapshots load.
    #[serde(default)]
    rollouts: BTreeMap<RolloutId, Rollout>,
    /// Duties nodes hold for a time (which origin processes a version, which collects
    /// garbage); see [`lease`]. Defaults let older snapshots load.
    #[serde(default)]
    leases: BTreeMap<String, lease::Lease>,
}

/// Who applies a command, and when; handed to every command handler.
struct Ctx {
    actor: Actor,
    at: Timestamp,
}

impl Ctx {
    /// An event caused by this command, notifying nobody yet.
    fn event(
        &self,
        kind: EventType,
        app: AppId,
        resource: ResourceType,
        id: &str,
        old_state: Option<&str>,
        new_state: Option<&str>,
    ) -> Event {
        Event {
            // Given by `Catalog::publish` once the command has succeeded.
            id: EventId::new(""),
            kind,
            app,
            instance: Instance {
                resource,
                id: id.to_owned(),
            },
            old_state: old_state.map(str::to_owned),
            new_state: new_state.map(str::to_owned),
            timestamp: self.at,
            by: self.actor.clone(),
            detail: None,
            notify: Vec::new(),
        }
    }
}

impl Catalog {
    /// An empty catalog with these quota limits.
    pub fn new(limits: QuotaLimits) -> Self {
        Self {
            limits,
            users: BTreeMap::new(),
            api_keys: BTreeMap::new(),
            key_index: BTreeMap::new(),
            apps: BTreeMap::new(),
            builds: BTreeMap::new(),
            packs: BTreeMap::new(),
            versions: BTreeMap::new(),
            upload_files: BTreeMap::new(),
            submissions: BTreeMap::new(),
            webhook_policy: WebhookPolicy::default(),
            webhooks: BTreeMap::new(),
            deliveries: BTreeMap::new(),
            next_event: 0,
            next_delivery: 0,
            tester_token_secret: None,
            tester_token_generation: 0,
            tester_token_previous: Vec::new(),
            tester_tokens: BTreeMap::new(),
            edges: BTreeMap::new(),
            rollouts: BTreeMap::new(),
            leases: BTreeMap::new(),
        }
    }

    /// This catalog with another webhook retry and retention policy.
    pub fn with_webhook_policy(mut self, policy: WebhookPolicy) -> Self {
        self.webhook_policy = policy;
        self
    }

    /// Applies one command: all of it, returning the events it caused, or none of it. Every
    /// event gets its id here, and a delivery for each webhook that wants it.
    pub fn apply(&mut self, envelope: Envelope) -> Result<Vec<Event>, Refusal> {
        let Envelope {
            actor,
            at,
            command,
            key,
        } = envelope;
        if let Some(key) = &key {
            self.check_key(&actor, key)?;
        }
        let ctx = Ctx { actor, at };
        let app = self.app_of(&command);
        let before = app.as_ref().map(|a| self.used_bytes(a));
        let mut events = self.dispatch(&ctx, command)?;
        if let (Some(app), Some(before)) = (app, before) {
            let after = self.used_bytes(&app);
            if self.limits.crosses_warning(before, after) {
                events.push(self.quota_warning(&ctx, app, after));
            }
        }
        self.publish(&mut events);
        Ok(events)
    }

    /// Hands the command to its handler: the payload whole, or a one-field command's value.
    fn dispatch(&mut self, ctx: &Ctx, command: Command) -> Result<Vec<Event>, Refusal> {
        use Command as C;
        match command {
            C::CreateUser(new) => self.create_user(ctx, new),
            C::SetNotifications(set) => self.set_notifications(ctx, set),
            C::GrantRole(grant) => self.grant_role(ctx, grant),
            C::RemoveRole(remove) => self.remove_role(ctx, remove),
            C::CreateApiKey(new) => self.create_api_key(ctx, new),
            C::RevokeApiKey { id } => self.revoke_api_key(ctx, &id),
            C::TouchApiKey { id } => self.touch_api_key(ctx, &id),
            C::CreateApp(new) => self.create_app(ctx, new),
            C::SetTransferInProgress(set) => self.set_transfer_in_progress(ctx, set),
            C::RegisterBuild(new) => self.register_build(ctx, new),
            C::CreatePack(new) => self.create_pack(ctx, new),
            C::ArchivePack { pack } => self.archive_pack(ctx, &pack),
            C::CreateVersion(new) => self.create_version(ctx, new),
            C::ReserveUploadFile(new) => self.reserve_upload_file(ctx, new),
            C::CommitUploadFile(commit) => self.commit_upload_file(ctx, commit),
            C::ExpireUploadFile(expire) => self.expire_upload_file(ctx, expire),
            C::ExpireVersion(expire) => self.expire_version(ctx, expire),
            C::ProcessingSucceeded(report) => self.processing_succeeded(ctx, report),
            C::ProcessingFailed(report) => self.processing_failed(ctx, report),
            C::SubmitForReview(new) => self.submit_for_review(ctx, new),
            C::StartReview { submission } => self.start_review(ctx, &submission),
            C::WithdrawSubmission { submission } => self.withdraw_submission(ctx, &submission),
            C::DecideReview(decision) => self.decide_review(ctx, decision),
            C::FinishExternalProcessing { version } => {
                self.finish_external_processing(ctx, &version)
            }
            C::Release { version } => self.release(ctx, &version),
            C::FinishDistribution { version } => self.finish_distribution(ctx, &version),
            C::CreateWebhook(new) => self.create_webhook(ctx, new),
            C::DeleteWebhook { id } => self.delete_webhook(ctx, &id),
            C::PingWebhook { webhook } => self.ping_webhook(ctx, &webhook),
            C::RecordDeliveryAttempt(attempt) => self.record_delivery_attempt(ctx, attempt),
            C::SetTesterTokenSecret {
                secret,
                retire_previous,
            } => self.set_tester_token_secret(ctx, secret, retire_previous),
            C::IssueTesterToken(new) => self.issue_tester_token(ctx, new),
            C::RevokeTesterToken { id } => self.revoke_tester_token(ctx, &id),
            C::RegisterEdge(registration) => self.register_edge(ctx, registration),
            C::EdgeHeartbeat(report) => self.edge_heartbeat(ctx, report),
            C::StartRollout(new) => self.start_rollout(ctx, new),
            C::ChangeRollout(change) => self.change_rollout(ctx, change),
            C::AutoAdvanceRollout(advance) => self.auto_advance_rollout(ctx, advance),
            C::SetLimits { limits } => self.set_limits(ctx, limits),
            C::AcquireLease(take) => self.acquire_lease(ctx, take),
            C::ReleaseLease(release) => self.release_lease(ctx, release),
        }
    }

    /// The app whose quota a command may change, if it names one that exists.
    fn app_of(&self, command: &Command) -> Option<AppId> {
        use Command as C;
        let version_app = |v: &VersionId| self.versions.get(v).map(|v| v.app.clone());
        match command {
            C::ArchivePack { pack } => self.packs.get(pack).map(|p| p.app.clone()),
            C::ProcessingSucceeded(ProcessingSucceeded { version, .. })
            | C::FinishExternalProcessing { version }
            | C::FinishDistribution { version }
            | C::StartRollout(StartRollout { version, .. }) => version_app(version),
            C::DecideReview(DecideReview { submission, .. }) => {
                self.submissions.get(submission).map(|s| s.app.clone())
            }
            C::ChangeRollout(ChangeRollout { rollout, .. })
            | C::AutoAdvanceRollout(AutoAdvanceRollout { rollout, .. }) => {
                self.rollouts.get(rollout).map(|r| r.app.clone())
            }
            _ => None,
        }
    }

    fn quota_warning(&self, ctx: &Ctx, app: AppId, used: u64) -> Event {
        let admins = self.members_with(&app, |roles| roles.contains(&role::Role::Admin));
        let mut event = ctx.event(
            EventType::QuotaWarning,
            app.clone(),
            ResourceType::Apps,
            app.as_str(),
            None,
            None,
        );
        event.detail = Some(format!(
            "this app uses {used} of its {} bytes ({}% or more); archive packs you no longer \
             need to make room",
            self.limits.max_bytes, self.limits.warn_ratio_percent
        ));
        event.notify = admins;
        event
    }

    // ----- permissions -----

    /// Whether `actor` may do `action` on `app` (rule R8), for reads the API serves. Operators
    /// and Packyard itself may do everything but review; reviewing needs the Reviewer role.
    pub fn permits(&self, actor: &Actor, app: &AppId, action: Action) -> Result<(), Refusal> {
        self.authorize(actor, app, action)
    }

    fn authorize(&self, actor: &Actor, app: &AppId, action: Action) -> Result<(), Refusal> {
        let user = match actor {
            Actor::System if action == Action::Review => {
                return Err(Refusal::forbidden(action));
            }
            Actor::System => return Ok(()),
            Actor::User(id) => self.find_user(id)?,
        };
        if action == Action::Report {
            return Err(Refusal::forbidden(action));
        }
        if user.operator && action != Action::Review {
            return Ok(());
        }
        let roles = user.roles.get(app).into_iter().flatten();
        if role::allowed(roles, action) {
            Ok(())
        } else {
            Err(Refusal::forbidden(action))
        }
    }

    /// `SetLimits`: Packyard's leader brings the limits in line with its configuration. Only
    /// Packyard itself; limits that could never admit anything are refused.
    fn set_limits(&mut self, ctx: &Ctx, limits: QuotaLimits) -> Result<Vec<Event>, Refusal> {
        self.require_system(&ctx.actor)?;
        limits
            .validate()
            .map_err(|e| Refusal::invalid("limits", e.to_string()))?;
        self.limits = limits;
        Ok(Vec::new())
    }

    fn require_system(&self, actor: &Actor) -> Result<(), Refusal> {
        match actor {
            Actor::System => Ok(()),
            Actor::User(_) => Err(Refusal::forbidden(Action::Report)),
        }
    }

    /// Users holding a role on `app` that `pick` accepts, in id order.
    fn members_with(
        &self,
        app: &AppId,
        pick: impl Fn(&BTreeSet<role::Role>) -> bool,
    ) -> Vec<UserId> {
        self.users
            .values()
            .filter(|u| u.roles.get(app).is_some_and(|r| !r.is_empty() && pick(r)))
            .map(|u| u.id.clone())
            .collect()
    }

    // ----- lookups that refuse -----

    fn unused<K: Ord + std::fmt::Display, V>(
        &self,
        map: &BTreeMap<K, V>,
        id: &K,
        resource: ResourceType,
    ) -> Result<(), Refusal> {
        if map.contains_key(id) {
            return Err(Refusal::conflict(format!(
                "id {id} is already used by another {resource} record; use a new id"
            )));
        }
        Ok(())
    }

    fn find_app(&self, id: &AppId) -> Result<&App, Refusal> {
        self.apps
            .get(id)
            .ok_or_else(|| Refusal::not_found(ResourceType::Apps, id))
    }

    fn find_pack(&self, id: &PackId) -> Result<&Pack, Refusal> {
        self.packs
            .get(id)
            .ok_or_else(|| Refusal::not_found(ResourceType::BackgroundAssets, id))
    }

    /// The pack, refusing an archived one: nothing about it changes any more.
    fn live_pack(&self, id: &PackId) -> Result<&Pack, Refusal> {
        let pack = self.find_pack(id)?;
        if pack.is_archived() {
            return Err(Refusal::by_rule(
                Rule::R7,
                format!(
                    "pack {} is archived; an archived pack and its versions never change again",
                    pack.identifier
                ),
            ));
        }
        Ok(pack)
    }

    fn find_version(&self, id: &VersionId) -> Result<&Version, Refusal> {
        self.versions
            .get(id)
            .ok_or_else(|| Refusal::not_found(ResourceType::BackgroundAssetVersions, id))
    }

    /// The newest version of `pack` whose release records satisfy `pick`.
    fn pack_version_where(
        &self,
        pack: &PackId,
        pick: impl Fn(&ReleaseRecords) -> bool,
    ) -> Option<VersionId> {
        let pack = self.packs.get(pack)?;
        pack.versions.iter().rev().find_map(|id| {
            let v = self.versions.get(id)?;
            v.releases.as_ref().filter(|r| pick(r)).map(|_| id.clone())
        })
    }

    /// Changes a version's release records; returns its app and what `change` returns, or
    /// `None` if the version has no records.
    fn with_records<R>(
        &mut self,
        version: &VersionId,
        change: impl FnOnce(&mut ReleaseRecords) -> R,
    ) -> Option<(AppId, R)> {
        let v = self.versions.get_mut(version)?;
        let out = change(v.releases.as_mut()?);
        Some((v.app.clone(), out))
    }

    fn pack_used_bytes(&self, pack: &Pack) -> u64 {
        quota::pack_used_bytes(
            pack.versions
                .iter()
                .filter_map(|v| self.versions.get(v))
                .map(|v| (v.size().unwrap_or(0), v.counts_toward_quota())),
        )
    }
}

#[cfg(test)]
mod tests;
