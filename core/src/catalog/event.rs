//! [`Event`]: what applying a command changed, for webhooks, notifications and edges.

use serde::{Deserialize, Serialize};

use super::envelope::{Actor, Timestamp};
use super::ids::{AppId, EventId, UserId};
use super::resource::ResourceType;

/// The webhook event types of SPEC §5, serialized exactly as spelled there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    /// A version's state changed (`AWAITING_UPLOAD` → `PROCESSING` → `COMPLETE`/`FAILED`).
    BackgroundAssetVersionStateUpdated,
    /// A version got its internal beta release (rule R1).
    BackgroundAssetVersionInternalBetaReleaseCreated,
    /// A version's external beta release changed state.
    BackgroundAssetVersionExternalBetaReleaseStateUpdated,
    /// A version's app-store release changed state.
    BackgroundAssetVersionAppStoreReleaseStateUpdated,
    /// A pack was archived (rule R7).
    BackgroundAssetArchived,
    /// A per-region rollout changed state.
    RolloutStateUpdated,
    /// An app's used bytes crossed the warning ratio of its quota (rule R9).
    QuotaWarning,
    /// A test event someone who manages a webhook sent to it, and to it only.
    WebhookPing,
}

impl EventType {
    /// The SPEC spelling, as serialized (`BACKGROUND_ASSET_ARCHIVED` …).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::BackgroundAssetVersionStateUpdated => {
                "BACKGROUND_ASSET_VERSION_STATE_UPDATED"
            }
            EventType::BackgroundAssetVersionInternalBetaReleaseCreated => {
                "BACKGROUND_ASSET_VERSION_INTERNAL_BETA_RELEASE_CREATED"
            }
            EventType::BackgroundAssetVersionExternalBetaReleaseStateUpdated => {
                "BACKGROUND_ASSET_VERSION_EXTERNAL_BETA_RELEASE_STATE_UPDATED"
            }
            EventType::BackgroundAssetVersionAppStoreReleaseStateUpdated => {
                "BACKGROUND_ASSET_VERSION_APP_STORE_RELEASE_STATE_UPDATED"
            }
            EventType::BackgroundAssetArchived => "BACKGROUND_ASSET_ARCHIVED",
            EventType::RolloutStateUpdated => "ROLLOUT_STATE_UPDATED",
            EventType::QuotaWarning => "QUOTA_WARNING",
            EventType::WebhookPing => "WEBHOOK_PING",
        }
    }

    /// Every event type, in declaration order.
    pub const ALL: [EventType; 8] = [
        EventType::BackgroundAssetVersionStateUpdated,
        EventType::BackgroundAssetVersionInternalBetaReleaseCreated,
        EventType::BackgroundAssetVersionExternalBetaReleaseStateUpdated,
        EventType::BackgroundAssetVersionAppStoreReleaseStateUpdated,
        EventType::BackgroundAssetArchived,
        EventType::RolloutStateUpdated,
        EventType::QuotaWarning,
        EventType::WebhookPing,
    ];
}

/// The record an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// Its kind; a release record's kind names its track.
    #[serde(rename = "type")]
    pub resource: ResourceType,
    /// Its id; a release record has its version's id.
    pub id: String,
}

/// One change, as webhooks publish it, plus whom to notify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Its id, from the catalog's event counter: the same on every replica, so a receiver
    /// can recognise an event delivered twice.
    pub id: EventId,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The app it happened in.
    pub app: AppId,
    /// The record it happened to.
    pub instance: Instance,
    /// The state before, if the record had one.
    pub old_state: Option<String>,
    /// The state after, if it has one.
    pub new_state: Option<String>,
    /// When the command was accepted.
    pub timestamp: Timestamp,
    /// Who caused it.
    pub by: Actor,
    /// A sentence for people, when the states alone do not say it (who archived a pack, why
    /// a review was rejected, how full the quota is).
    pub detail: Option<String>,
    /// Users to tell by email or push, beyond the webhooks: the Admins on an approval (R5) or
    /// a quota warning (R9), members who enabled notifications on an archive (R7).
    pub notify: Vec<UserId>,
}
