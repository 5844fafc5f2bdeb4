//! What the API and the edges read from the [`Catalog`]: records by id, listings in a stable
//! order, used bytes, and key lookups. None of these changes anything.

use super::*;
use crate::tester_token::BetaChannel;

impl Catalog {
    /// The quota limits.
    pub fn limits(&self) -> &QuotaLimits {
        &self.limits
    }

    /// An app's used bytes (rule R9): over its live packs, the sum of each one's largest
    /// eligible version.
    pub fn used_bytes(&self, app: &AppId) -> u64 {
        quota::app_used_bytes(
            self.packs_of(app)
                .filter(|p| !p.is_archived())
                .map(|p| self.pack_used_bytes(p)),
        )
    }

    /// A pack's used bytes; 0 once archived.
    pub fn pack_used(&self, pack: &PackId) -> u64 {
        self.packs
            .get(pack)
            .filter(|p| !p.is_archived())
            .map_or(0, |p| self.pack_used_bytes(p))
    }

    /// A user.
    pub fn user(&self, id: &UserId) -> Option<&User> {
        self.users.get(id)
    }

    /// Every user, in id order.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    /// The user a live (not revoked) API key with this secret hash belongs to.
    pub fn user_by_key_hash(&self, hash: &Blake3Hash) -> Option<&User> {
        let key = self.api_keys.get(self.key_index.get(hash)?)?;
        self.users.get(&key.user)
    }

    /// The live (not revoked) key whose secret hashes to `hash`.
    pub fn live_key_by_hash(&self, hash: &Blake3Hash) -> Option<&ApiKey> {
        self.api_keys.get(self.key_index.get(hash)?)
    }

    /// An API key.
    pub fn api_key(&self, id: &ApiKeyId) -> Option<&ApiKey> {
        self.api_keys.get(id)
    }

    /// An app.
    pub fn app(&self, id: &AppId) -> Option<&App> {
        self.apps.get(id)
    }

    /// Every app, in id order.
    pub fn apps(&self) -> impl Iterator<Item = &App> {
        self.apps.values()
    }

    /// A build.
    pub fn build(&self, id: &BuildId) -> Option<&Build> {
        self.builds.get(id)
    }

    /// The builds of an app, in id order.
    pub fn builds_of<'a>(&'a self, app: &'a AppId) -> impl Iterator<Item = &'a Build> {
        self.builds.values().filter(move |b| &b.app == app)
    }

    /// A pack.
    pub fn pack(&self, id: &PackId) -> Option<&Pack> {
        self.packs.get(id)
    }

    /// The packs of an app, live and archived, in creation order.
    pub fn packs_of(&self, app: &AppId) -> impl Iterator<Item = &Pack> {
        self.apps
            .get(app)
            .into_iter()
            .flat_map(|a| a.packs.iter())
            .filter_map(|p| self.packs.get(p))
    }

    /// A version.
    pub fn version(&self, id: &VersionId) -> Option<&Version> {
        self.versions.get(id)
    }

    /// The versions of a pack, oldest (number 1) first.
    pub fn versions_of(&self, pack: &PackId) -> impl Iterator<Item = &Version> {
        self.packs
            .get(pack)
            .into_iter()
            .flat_map(|p| p.versions.iter())
            .filter_map(|v| self.versions.get(v))
    }

    /// An upload file.
    pub fn upload_file(&self, id: &UploadFileId) -> Option<&UploadFile> {
        self.upload_files.get(id)
    }

    /// A review submission, with the reviewer's reasons once rejected.
    pub fn submission(&self, id: &ReviewSubmissionId) -> Option<&ReviewSubmission> {
        self.submissions.get(id)
    }

    /// The review submissions of a version, in id order.
    pub fn submissions_of(&self, version: &VersionId) -> impl Iterator<Item = &ReviewSubmission> {
        self.submissions
            .values()
            .filter(move |s| &s.version == version)
    }

    /// The review submissions of every version of an app, in id order.
    pub fn app_submissions<'a>(
        &'a self,
        app: &'a AppId,
    ) -> impl Iterator<Item = &'a ReviewSubmission> {
        self.submissions.values().filter(move |s| &s.app == app)
    }

    /// Whether `actor` may read `app`'s resources of type `what` (rule R8): the app exists
    /// (else the refusal is "not found"), and the caller may do [`read_action`] of `what`
    /// on it (else the refusal names the roles that may). A Reviewer's reading of versions
    /// submitted for review is [`may_see_version`](Self::may_see_version)'s.
    pub fn may_read(&self, actor: &Actor, app: &AppId, what: ResourceType) -> Result<(), Refusal> {
        self.app(app)
            .ok_or_else(|| Refusal::not_found(ResourceType::Apps, app))?;
        self.permits(actor, app, read_action(what))
    }

    /// Whether `actor` may see `version`: members of its app may; so may a Reviewer once it
    /// has been submitted for review (rule R8). The refusal is the member check's.
    pub fn may_see_version(&self, actor: &Actor, version: &Version) -> Result<(), Refusal> {
        let Err(refusal) = self.permits(actor, &version.app, Action::View) else {
            return Ok(());
        };
        let submitted = self.submissions_of(&version.id).next().is_some();
        if submitted
            && self
                .permits(actor, &version.app, Action::ViewUnderReview)
                .is_ok()
        {
            return Ok(());
        }
        Err(refusal)
    }

    /// The webhook retry and retention policy.
    pub fn webhook_policy(&self) -> &WebhookPolicy {
        &self.webhook_policy
    }

    /// A webhook.
    pub fn webhook(&self, id: &WebhookId) -> Option<&Webhook> {
        self.webhooks.get(id)
    }

    /// The webhooks of an app, in id order.
    pub fn webhooks_of<'a>(&'a self, app: &'a AppId) -> impl Iterator<Item = &'a Webhook> {
        self.webhooks.values().filter(move |w| &w.app == app)
    }

    /// A delivery.
    pub fn delivery(&self, id: &DeliveryId) -> Option<&Delivery> {
        self.deliveries.get(id)
    }

    /// A webhook's delivery log, oldest first: every pending delivery and the newest
    /// finished ones.
    pub fn deliveries_of<'a>(
        &'a self,
        webhook: &'a WebhookId,
    ) -> impl Iterator<Item = &'a Delivery> {
        self.deliveries
            .values()
            .filter(move |d| &d.webhook == webhook)
    }

    /// The webhook deliveries still pending, and when the oldest of their events happened:
    /// how far behind the deliverer is, for the backlog gauges.
    pub fn webhook_backlog(&self) -> (usize, Option<Timestamp>) {
        let pending = self
            .deliveries
            .values()
            .filter(|d| d.state == DeliveryState::Pending);
        pending.fold((0, None), |(count, oldest), d| {
            let at = d.event.timestamp;
            (count + 1, Some(oldest.map_or(at, |o: Timestamp| o.min(at))))
        })
    }

    /// The pending deliveries due at `now`, oldest first: what the leader's deliverer sends.
    pub fn due_deliveries(&self, now: Timestamp) -> Vec<&Delivery> {
        self.deliveries
            .values()
            .filter(|d| d.state == DeliveryState::Pending && d.next_attempt_at <= now)
            .collect()
    }
}

/// The action reading an app's resources of type `what` needs (rule R8): what members see
/// with `View`; webhooks (their URLs and delivery logs) are their managers'; tester tokens
/// are seen by whoever may issue them (per channel after that, with [`issue_action`]).
pub fn read_action(what: ResourceType) -> Action {
    match what {
        ResourceType::Webhooks | ResourceType::WebhookDeliveries => Action::ManageWebhooks,
        ResourceType::TesterTokens => issue_action(BetaChannel::Internal),
        _ => Action::View,
    }
}
