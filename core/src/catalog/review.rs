//! [`ReviewSubmission`]: a version submitted for external beta or app-store review, and the
//! commands that submit, withdraw, start and decide it (rules R2, R4, R5, R6, and R13: whoever
//! submitted a version takes no part in its review).

use serde::{Deserialize, Serialize};

use super::command::{DecideReview, SubmitForReview};
use super::envelope::{Actor, Timestamp};
use super::event::Event;
use super::ids::{AppId, PackId, ReviewSubmissionId, VersionId};
use super::refusal::{Refusal, Rule};
use super::release::{AppStoreState, ExternalBetaState, actor_name};
use super::resource::ResourceType;
use super::{Catalog, Ctx};
use crate::role::{Action, Role};

state_enum! {
    /// Which review a version is submitted to (`track` in the admin API).
    ReviewTrack {
        /// Review for external beta testing.
        ExternalBeta = "EXTERNAL_BETA",
        /// Review for the app store.
        AppStore = "APP_STORE",
    }
}

state_enum! {
    /// Where a submission stands.
    SubmissionState {
        /// No reviewer has picked it up yet.
        WaitingForReview = "WAITING_FOR_REVIEW",
        /// A reviewer is looking at it.
        InReview = "IN_REVIEW",
        /// Approved.
        Accepted = "ACCEPTED",
        /// Rejected; `reasons` says why.
        Rejected = "REJECTED",
        /// Withdrawn by the app before a reviewer picked it up; the version may be submitted
        /// again, and no longer holds its pack's review (nor stops it being archived).
        Withdrawn = "WITHDRAWN",
    }
}

/// A review submission (`reviewSubmissions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewSubmission {
    /// Its id.
    pub id: ReviewSubmissionId,
    /// The version under review.
    pub version: VersionId,
    /// Its pack.
    pub pack: PackId,
    /// Its app.
    pub app: AppId,
    /// Which review.
    pub track: ReviewTrack,
    /// Where it stands.
    pub state: SubmissionState,
    /// Who submitted it, and when.
    pub submitted_by: Actor,
    /// When it was submitted.
    pub submitted_at: Timestamp,
    /// The reviewer who decided, once decided.
    pub decided_by: Option<Actor>,
    /// When it was decided. Defaults let older snapshots load.
    #[serde(default)]
    pub decided_at: Option<Timestamp>,
    /// The reviewer's reasons for a rejection, readable by the app's members (rule R5).
    pub reasons: Vec<String>,
}

/// Whether an external record is taken by a review (rule R2).
fn external_in_review(s: ExternalBetaState) -> bool {
    matches!(
        s,
        ExternalBetaState::WaitingForReview | ExternalBetaState::InReview
    )
}

/// Whether a store record is taken by a review (rule R6).
fn store_in_review(s: AppStoreState) -> bool {
    matches!(s, AppStoreState::WaitingForReview | AppStoreState::InReview)
}

impl Catalog {
    /// `SubmitForReview`: a COMPLETE version goes WAITING_FOR_REVIEW on `track`. External
    /// review needs a build for external testing (R4) and no other version of the pack in
    /// external review (R2); store review needs no other version in store review (R6).
    /// Submitting while another version is in external testing is how it is replaced (R3).
    pub(super) fn submit_for_review(
        &mut self,
        ctx: &Ctx,
        new: SubmitForReview,
    ) -> Result<Vec<Event>, Refusal> {
        let SubmitForReview {
            id,
            version: version_id,
            track,
        } = new;
        let version = self.find_version(&version_id)?;
        self.authorize(&ctx.actor, &version.app, Action::SubmitForReview)?;
        let pack = self.live_pack(&version.pack)?;
        self.unused(&self.submissions, &id, ResourceType::ReviewSubmissions)?;
        let records = version.records()?;
        let busy = match track {
            ReviewTrack::ExternalBeta => {
                if !matches!(
                    records.external,
                    ExternalBetaState::ReadyForBetaSubmission | ExternalBetaState::Rejected
                ) {
                    return Err(Refusal::conflict(format!(
                        "the external beta release of version {} is {}; only a version that is \
                         READY_FOR_BETA_SUBMISSION or REJECTED can be submitted",
                        version.number, records.external
                    )));
                }
                let busy = self.pack_version_where(&pack.id, |r| external_in_review(r.external));
                if !self.app_has_external_build(&version.app) {
                    return Err(Refusal::by_rule(
                        Rule::R4,
                        "this app has no build available for external testing; register a \
                         build with the EXTERNAL channel before submitting for external review",
                    ));
                }
                busy.map(|v| (Rule::R2, v))
            }
            ReviewTrack::AppStore => {
                if !matches!(
                    records.store,
                    AppStoreState::PrepareForSubmission
                        | AppStoreState::ReadyForReview
                        | AppStoreState::Rejected
                ) {
                    return Err(Refusal::conflict(format!(
                        "the app store release of version {} is {}; only a version that is \
                         PREPARE_FOR_SUBMISSION, READY_FOR_REVIEW or REJECTED can be submitted",
                        version.number, records.store
                    )));
                }
                let busy = self.pack_version_where(&pack.id, |r| store_in_review(r.store));
                busy.map(|v| (Rule::R6, v))
            }
        };
        if let Some((rule, busy)) = busy {
            let (number, state) = self.review_state(&busy, track);
            return Err(Refusal::by_rule(
                rule,
                format!(
                    "version {number} of pack {} is already {state} for {}; a pack has one \
                     version in review at a time, so wait until it is approved or rejected",
                    pack.identifier,
                    track_words(track)
                ),
            ));
        }
        let submission = ReviewSubmission {
            id: id.clone(),
            version: version_id.clone(),
            pack: pack.id.clone(),
            app: version.app.clone(),
            track,
            state: SubmissionState::WaitingForReview,
            submitted_by: ctx.actor.clone(),
            submitted_at: ctx.at,
            decided_by: None,
            decided_at: None,
            reasons: Vec::new(),
        };
        self.submissions.insert(id, submission);
        Ok(self.move_track(ctx, &version_id, track, TrackStep::Waiting))
    }

    /// `StartReview`: a reviewer picks up a waiting submission.
    pub(super) fn start_review(
        &mut self,
        ctx: &Ctx,
        id: &ReviewSubmissionId,
    ) -> Result<Vec<Event>, Refusal> {
        let submission = self.find_submission(id)?;
        self.authorize(&ctx.actor, &submission.app, Action::Review)?;
        four_eyes(submission, &ctx.actor)?;
        if submission.state != SubmissionState::WaitingForReview {
            return Err(Refusal::conflict(format!(
                "review submission {id} is {}; only a WAITING_FOR_REVIEW submission can start",
                submission.state
            )));
        }
        let (version, track) = (submission.version.clone(), submission.track);
        if let Some(s) = self.submissions.get_mut(id) {
            s.state = SubmissionState::InReview;
        }
        Ok(self.move_track(ctx, &version, track, TrackStep::InReview))
    }

    /// `WithdrawSubmission`: whoever may submit the app's versions takes a submission back
    /// while it waits for a reviewer (once one has picked it up, it is theirs to decide). The
    /// version's record on the track goes back to where a submission starts, so the version
    /// can be submitted again and the pack can be archived.
    pub(super) fn withdraw_submission(
        &mut self,
        ctx: &Ctx,
        id: &ReviewSubmissionId,
    ) -> Result<Vec<Event>, Refusal> {
        let submission = self.find_submission(id)?;
        self.authorize(&ctx.actor, &submission.app, Action::SubmitForReview)?;
        if submission.state != SubmissionState::WaitingForReview {
            return Err(Refusal::conflict(format!(
                "review submission {id} is {}; only a WAITING_FOR_REVIEW submission can be \
                 withdrawn (a reviewer decides one IN_REVIEW)",
                submission.state
            )));
        }
        let (version, track) = (submission.version.clone(), submission.track);
        if let Some(s) = self.submissions.get_mut(id) {
            s.state = SubmissionState::Withdrawn;
            s.decided_by = Some(ctx.actor.clone());
            s.decided_at = Some(ctx.at);
        }
        let detail = format!("withdrawn by {}", actor_name(self, &ctx.actor));
        let mut events = self.move_track(ctx, &version, track, TrackStep::Withdrawn);
        for event in &mut events {
            event.detail = Some(detail.clone());
        }
        Ok(events)
    }

    /// `DecideReview`: the reviewer accepts or rejects. Acceptance tells every Admin of the
    /// app (R5); rejection needs reasons, which are kept for the app's members to read.
    pub(super) fn decide_review(
        &mut self,
        ctx: &Ctx,
        decision: DecideReview,
    ) -> Result<Vec<Event>, Refusal> {
        let DecideReview {
            submission: id,
            accepted,
            reasons,
        } = decision;
        let submission = self.find_submission(&id)?;
        self.authorize(&ctx.actor, &submission.app, Action::Review)?;
        four_eyes(submission, &ctx.actor)?;
        if submission.state != SubmissionState::InReview {
            return Err(Refusal::conflict(format!(
                "review submission {id} is {}; start the review (IN_REVIEW) before deciding it",
                submission.state
            )));
        }
        let reasons: Vec<String> = reasons
            .into_iter()
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect();
        self.check_text("reasons", reasons.iter().map(String::len).sum())?;
        if !accepted && reasons.is_empty() {
            return Err(Refusal::invalid(
                "reasons",
                "is empty; a rejection needs at least one reason its developers can act on",
            ));
        }
        let (version, track, app) = (
            submission.version.clone(),
            submission.track,
            submission.app.clone(),
        );
        let reviewer = actor_name(self, &ctx.actor);
        let (state, step, detail, notify) = if accepted {
            let admins = self.members_with(&app, |roles| roles.contains(&Role::Admin));
            let detail = format!("approved by {reviewer}");
            (
                SubmissionState::Accepted,
                TrackStep::Accepted,
                detail,
                admins,
            )
        } else {
            let detail = format!("rejected by {reviewer}: {}", reasons.join("; "));
            (
                SubmissionState::Rejected,
                TrackStep::Rejected,
                detail,
                Vec::new(),
            )
        };
        // An accepted external beta build goes to external testers in the same command (no
        // separate processing step for beta builds): check now what that needs, so nothing
        // changes unless all of it can.
        let to_testers = accepted && track == ReviewTrack::ExternalBeta;
        if to_testers {
            let pack = self.find_version(&version)?.pack.clone();
            self.live_pack(&pack)?;
        }
        if let Some(s) = self.submissions.get_mut(&id) {
            s.state = state;
            s.decided_by = Some(ctx.actor.clone());
            s.decided_at = Some(ctx.at);
            s.reasons = reasons;
        }
        let mut events = self.move_track(ctx, &version, track, step);
        for event in &mut events {
            event.detail = Some(detail.clone());
            event.notify.clone_from(&notify);
        }
        if to_testers {
            events.extend(self.ready_for_external_testing(ctx, &version)?);
        }
        Ok(events)
    }

    /// Moves a version's record on `track` one review step.
    fn move_track(
        &mut self,
        ctx: &Ctx,
        version: &VersionId,
        track: ReviewTrack,
        step: TrackStep,
    ) -> Vec<Event> {
        let event = match track {
            ReviewTrack::ExternalBeta => {
                let to = match step {
                    TrackStep::Waiting => ExternalBetaState::WaitingForReview,
                    TrackStep::InReview => ExternalBetaState::InReview,
                    TrackStep::Accepted => ExternalBetaState::ProcessingForTesting,
                    TrackStep::Rejected => ExternalBetaState::Rejected,
                    TrackStep::Withdrawn => ExternalBetaState::ReadyForBetaSubmission,
                };
                self.set_external(ctx, version, to)
            }
            ReviewTrack::AppStore => {
                let to = match step {
                    TrackStep::Waiting => AppStoreState::WaitingForReview,
                    TrackStep::InReview => AppStoreState::InReview,
                    TrackStep::Accepted => AppStoreState::Accepted,
                    TrackStep::Rejected => AppStoreState::Rejected,
                    TrackStep::Withdrawn => AppStoreState::PrepareForSubmission,
                };
                self.set_store(ctx, version, to)
            }
        };
        event.into_iter().collect()
    }

    /// A version's number and its state on `track`, for messages.
    fn review_state(&self, version: &VersionId, track: ReviewTrack) -> (u32, &'static str) {
        let Some(v) = self.versions.get(version) else {
            return (0, "unknown");
        };
        let state = match (&v.releases, track) {
            (Some(r), ReviewTrack::ExternalBeta) => r.external.as_str(),
            (Some(r), ReviewTrack::AppStore) => r.store.as_str(),
            (None, _) => v.state.as_str(),
        };
        (v.number, state)
    }

    fn find_submission(&self, id: &ReviewSubmissionId) -> Result<&ReviewSubmission, Refusal> {
        self.submissions
            .get(id)
            .ok_or_else(|| Refusal::not_found(ResourceType::ReviewSubmissions, id))
    }
}

/// Refuses `actor` taking part in the review of a version they submitted (rule R13), whatever
/// roles they hold: a Reviewer who is also the app's App Manager reviews others' work only.
fn four_eyes(submission: &ReviewSubmission, actor: &Actor) -> Result<(), Refusal> {
    if submission.submitted_by == *actor {
        return Err(Refusal::denied(
            Rule::R13,
            format!(
                "you submitted review submission {} yourself; another Reviewer must review it",
                submission.id
            ),
        ));
    }
    Ok(())
}

/// A review step, the same on both tracks.
#[derive(Clone, Copy)]
enum TrackStep {
    Waiting,
    InReview,
    Accepted,
    Rejected,
    Withdrawn,
}

fn track_words(track: ReviewTrack) -> &'static str {
    match track {
        ReviewTrack::ExternalBeta => "external beta review",
        ReviewTrack::AppStore => "app store review",
    }
}
