//! [`ReleaseRecords`]: the three release tracks of a COMPLETE version (SPEC §2), and the
//! steps that finish a release once its review is over.
//!
//! `release` and the two `finish_*` steps are separate small functions on purpose: staged
//! per-region rollouts call them per stage.

use serde::{Deserialize, Serialize};

use super::envelope::Actor;
use super::event::{Event, EventType};
use super::ids::{PackId, VersionId};
use super::refusal::{Refusal, Rule};
use super::resource::ResourceType;
use super::{Catalog, Ctx};
use crate::role::Action;

state_enum! {
    /// The internal beta track: always the newest COMPLETE version (rule R1).
    InternalBetaState {
        /// Internal testers get this version.
        ReadyForTesting = "READY_FOR_TESTING",
        /// A newer version took its place.
        Superseded = "SUPERSEDED",
    }
}

state_enum! {
    /// The external beta track: reviewed before external testers get it (rules R2, R3, R4).
    ExternalBetaState {
        /// May be submitted for external beta review.
        ReadyForBetaSubmission = "READY_FOR_BETA_SUBMISSION",
        /// Submitted; no reviewer has picked it up yet.
        WaitingForReview = "WAITING_FOR_REVIEW",
        /// A reviewer is looking at it.
        InReview = "IN_REVIEW",
        /// The reviewer rejected it; it may be submitted again.
        Rejected = "REJECTED",
        /// Approved; being made available to external testers.
        ProcessingForTesting = "PROCESSING_FOR_TESTING",
        /// External testers get this version.
        ReadyForTesting = "READY_FOR_TESTING",
        /// Another version took its place in external testing.
        Superseded = "SUPERSEDED",
    }
}

state_enum! {
    /// The app-store track (rule R6).
    AppStoreState {
        /// May be submitted for app-store review.
        PrepareForSubmission = "PREPARE_FOR_SUBMISSION",
        /// Staged for submission alongside an app version.
        ReadyForReview = "READY_FOR_REVIEW",
        /// Submitted; no reviewer has picked it up yet.
        WaitingForReview = "WAITING_FOR_REVIEW",
        /// A reviewer is looking at it.
        InReview = "IN_REVIEW",
        /// Approved; may be released.
        Accepted = "ACCEPTED",
        /// The reviewer rejected it; it may be submitted again.
        Rejected = "REJECTED",
        /// Released; being distributed to edges.
        ProcessingForDistribution = "PROCESSING_FOR_DISTRIBUTION",
        /// Every device on the store channel gets this version.
        ReadyForDistribution = "READY_FOR_DISTRIBUTION",
        /// Another version took its place in the store.
        Superseded = "SUPERSEDED",
    }
}

/// The release records of one COMPLETE version, one per track. They are created together when
/// the version completes, and share the version's id in the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRecords {
    /// `backgroundAssetVersionInternalBetaReleases`.
    pub internal: InternalBetaState,
    /// `backgroundAssetVersionExternalBetaReleases`.
    pub external: ExternalBetaState,
    /// `backgroundAssetVersionAppStoreReleases`.
    pub store: AppStoreState,
}

impl ReleaseRecords {
    /// The records of a version that has just completed.
    pub fn new() -> Self {
        Self {
            internal: InternalBetaState::ReadyForTesting,
            external: ExternalBetaState::ReadyForBetaSubmission,
            store: AppStoreState::PrepareForSubmission,
        }
    }

    /// Whether every track has moved past this version (rule R9: it no longer uses quota).
    pub fn superseded_everywhere(&self) -> bool {
        self.internal == InternalBetaState::Superseded
            && self.external == ExternalBetaState::Superseded
            && self.store == AppStoreState::Superseded
    }
}

impl Default for ReleaseRecords {
    fn default() -> Self {
        Self::new()
    }
}

impl Catalog {
    /// `FinishExternalProcessing`: an approved version becomes the one external testers get;
    /// the one they had becomes SUPERSEDED (rule R3).
    pub(super) fn finish_external_processing(
        &mut self,
        ctx: &Ctx,
        version: &VersionId,
    ) -> Result<Vec<Event>, Refusal> {
        self.require_system(&ctx.actor)?;
        self.ready_for_external_testing(ctx, version)
    }

    /// An approved external beta version (PROCESSING_FOR_TESTING) becomes the one external
    /// testers get, superseding the one they had: what `FinishExternalProcessing` does, and
    /// what accepting an external beta submission does in the same command.
    pub(super) fn ready_for_external_testing(
        &mut self,
        ctx: &Ctx,
        version: &VersionId,
    ) -> Result<Vec<Event>, Refusal> {
        let v = self.find_version(version)?;
        self.live_pack(&v.pack)?;
        let records = v.records()?;
        if records.external != ExternalBetaState::ProcessingForTesting {
            return Err(Refusal::conflict(format!(
                "the external beta release of version {} is {}; only a version approved for \
                 external testing (PROCESSING_FOR_TESTING) can become ready for testing",
                v.number, records.external
            )));
        }
        let previous = self.pack_version_where(&v.pack, |r| {
            r.external == ExternalBetaState::ReadyForTesting
        });
        let mut events = Vec::new();
        if let Some(old) = previous {
            events.extend(self.set_external(ctx, &old, ExternalBetaState::Superseded));
        }
        events.extend(self.set_external(ctx, version, ExternalBetaState::ReadyForTesting));
        Ok(events)
    }

    /// `Release`: an ACCEPTED store version starts distribution.
    pub(super) fn release(
        &mut self,
        ctx: &Ctx,
        version: &VersionId,
    ) -> Result<Vec<Event>, Refusal> {
        let v = self.find_version(version)?;
        self.authorize(&ctx.actor, &v.app, Action::Release)?;
        self.live_pack(&v.pack)?;
        let records = v.records()?;
        if records.store != AppStoreState::Accepted {
            return Err(Refusal::conflict(format!(
                "the app store release of version {} is {}; only an ACCEPTED version can be \
                 released",
                v.number, records.store
            )));
        }
        if let Some(r) = self.active_rollout(&v.pack) {
            return Err(Refusal::by_rule(
                Rule::R6,
                format!(
                    "rollout {} of this pack is {} at {}; roll it back or let it complete \
                     before releasing another version",
                    r.id,
                    r.state,
                    r.describe_stage()
                ),
            ));
        }
        let event = self.set_store(ctx, version, AppStoreState::ProcessingForDistribution);
        Ok(event.into_iter().collect())
    }

    /// `FinishDistribution`: a released version becomes the one the store serves; the one it
    /// served becomes SUPERSEDED (rule R6).
    pub(super) fn finish_distribution(
        &mut self,
        ctx: &Ctx,
        version: &VersionId,
    ) -> Result<Vec<Event>, Refusal> {
        self.require_system(&ctx.actor)?;
        let v = self.find_version(version)?;
        self.live_pack(&v.pack)?;
        let records = v.records()?;
        if records.store != AppStoreState::ProcessingForDistribution {
            return Err(Refusal::conflict(format!(
                "the app store release of version {} is {}; only a released version \
                 (PROCESSING_FOR_DISTRIBUTION) can become ready for distribution",
                v.number, records.store
            )));
        }
        if let Some(r) = self.active_rollout(&v.pack) {
            return Err(Refusal::conflict(format!(
                "version {} is being rolled out by rollout {} ({}); the rollout decides when \
                 it is distributed everywhere",
                v.number,
                r.id,
                r.describe_stage()
            )));
        }
        let pack = v.pack.clone();
        Ok(self.distribute(ctx, &pack, version))
    }

    /// `version` becomes the one the store serves everywhere; the one it served becomes
    /// SUPERSEDED (rule R6). Callers have checked that it is PROCESSING_FOR_DISTRIBUTION.
    pub(super) fn distribute(
        &mut self,
        ctx: &Ctx,
        pack: &PackId,
        version: &VersionId,
    ) -> Vec<Event> {
        let previous =
            self.pack_version_where(pack, |r| r.store == AppStoreState::ReadyForDistribution);
        let mut events = Vec::new();
        if let Some(old) = previous {
            events.extend(self.set_store(ctx, &old, AppStoreState::Superseded));
        }
        events.extend(self.set_store(ctx, version, AppStoreState::ReadyForDistribution));
        events
    }

    /// Moves a version's external record to `to`, if the version has records (callers have
    /// checked that it does).
    pub(super) fn set_external(
        &mut self,
        ctx: &Ctx,
        version: &VersionId,
        to: ExternalBetaState,
    ) -> Option<Event> {
        let (app, from) =
            self.with_records(version, |r| std::mem::replace(&mut r.external, to).as_str())?;
        Some(ctx.event(
            EventType::BackgroundAssetVersionExternalBetaReleaseStateUpdated,
            app,
            ResourceType::BackgroundAssetVersionExternalBetaReleases,
            version.as_str(),
            Some(from),
            Some(to.as_str()),
        ))
    }

    /// Moves a version's store record to `to`, if the version has records (callers have
    /// checked that it does).
    pub(super) fn set_store(
        &mut self,
        ctx: &Ctx,
        version: &VersionId,
        to: AppStoreState,
    ) -> Option<Event> {
        let (app, from) =
            self.with_records(version, |r| std::mem::replace(&mut r.store, to).as_str())?;
        Some(ctx.event(
            EventType::BackgroundAssetVersionAppStoreReleaseStateUpdated,
            app,
            ResourceType::BackgroundAssetVersionAppStoreReleases,
            version.as_str(),
            Some(from),
            Some(to.as_str()),
        ))
    }
}

/// Says who did something, for event details.
pub(super) fn actor_name(catalog: &Catalog, actor: &Actor) -> String {
    match actor {
        Actor::System => "Packyard".to_owned(),
        Actor::User(id) => match catalog.user(id) {
            Some(u) => format!("{} ({})", u.name, u.id),
            None => id.to_string(),
        },
    }
}
