//! [`Rollout`]: an ACCEPTED store version released region by region, stage by stage, and
//! the commands that start, advance, pause, resume and roll it back (SPEC §7).
//!
//! The store records of both versions stay within rule R6 at every step: while a rollout is
//! active the old version A stays READY_FOR_DISTRIBUTION (the one live version, served
//! wherever the stage does not give B) and the new version B is PROCESSING_FOR_DISTRIBUTION.
//! Reaching the last stage (every region at 100 %) completes the rollout: B becomes
//! READY_FOR_DISTRIBUTION and A SUPERSEDED, exactly as a plain release does. Rolling back
//! puts B back to ACCEPTED, so it may be rolled out again; A never moved.
//!
//! Automatic advance is a command too: the leader proposes `AutoAdvanceRollout` once the
//! soak time has passed by its clock, and the catalog checks that against the time the
//! envelope carries, so every replica decides the same.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::*;
use crate::rollout::{Stage, check_stages};

/// The longest soak time: 30 days.
pub const MAX_SOAK_SECONDS: u64 = 30 * 24 * 3600;

state_enum! {
    /// Where a rollout is.
    RolloutState {
        /// Its current stage is in force; it advances by command or after the soak time.
        Running = "RUNNING",
        /// Its current stage stays in force; it does not advance until resumed.
        Paused = "PAUSED",
        /// It reached its last stage: the new version is the store version everywhere.
        Completed = "COMPLETED",
        /// It was abandoned: every device is back on the old version.
        RolledBack = "ROLLED_BACK",
    }
}

impl RolloutState {
    /// Whether the rollout still decides what devices get (running or paused).
    pub fn is_active(self) -> bool {
        matches!(self, RolloutState::Running | RolloutState::Paused)
    }
}

/// What an operator asks of a running or paused rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RolloutAction {
    /// Move to the next stage (the last completes the rollout).
    Advance,
    /// Keep the current stage in force and stop automatic advance.
    Pause,
    /// Run again; the soak time of the current stage starts over.
    Resume,
    /// Abandon the rollout: every device gets the old version again.
    RollBack,
}

impl RolloutAction {
    /// The admin API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutAction::Advance => "ADVANCE",
            RolloutAction::Pause => "PAUSE",
            RolloutAction::Resume => "RESUME",
            RolloutAction::RollBack => "ROLL_BACK",
        }
    }
}

/// A per-region rollout of one store version of one pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    /// Its id.
    pub id: RolloutId,
    /// The app.
    pub app: AppId,
    /// The pack.
    pub pack: PackId,
    /// The version devices had (READY_FOR_DISTRIBUTION when it started); none for a pack's
    /// first store release.
    pub from: Option<VersionId>,
    /// The version being rolled out.
    pub to: VersionId,
    /// The plan, checked by [`check_stages`].
    pub stages: Vec<Stage>,
    /// The index of the stage in force.
    pub stage: u32,
    /// Where it is.
    pub state: RolloutState,
    /// How long each stage runs before the leader advances it; `None`: only by command.
    pub soak_seconds: Option<u64>,
    /// Who started it.
    pub created_by: Actor,
    /// When it started.
    pub created_at: Timestamp,
    /// When the current stage came into force, or the rollout last resumed: where the soak
    /// time counts from.
    pub stage_started_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Rollout {
    /// The stage in force.
    pub fn current(&self) -> &Stage {
        let i = usize::try_from(self.stage).unwrap_or(usize::MAX);
        self.stages
            .get(i)
            .or_else(|| self.stages.last())
            .unwrap_or_else(|| unreachable!("a rollout has at least one stage"))
    }

    /// The share of `region`'s devices (percent) this rollout gives the new version now: the
    /// current stage's while it runs or is paused, all once completed, none once rolled back.
    pub fn share(&self, region: &str) -> u32 {
        match self.state {
            RolloutState::Running | RolloutState::Paused => self.current().share(region),
            RolloutState::Completed => 100,
            RolloutState::RolledBack => 0,
        }
    }

    /// Whether `region` is in the stage in force of an active rollout.
    pub fn in_stage(&self, region: &str) -> bool {
        self.state.is_active() && self.current().regions.contains(region)
    }

    /// Whether the stage in force is the last.
    pub fn at_last_stage(&self) -> bool {
        usize::try_from(self.stage).is_ok_and(|i| i + 1 >= self.stages.len())
    }

    /// When the leader should advance it by itself: running, with a soak time, before its
    /// last stage.
    pub fn auto_advance_at(&self) -> Option<Timestamp> {
        let soak = self.soak_seconds?;
        (self.state == RolloutState::Running && !self.at_last_stage())
            .then(|| Timestamp(self.stage_started_at.0.saturating_add(soak * 1000)))
    }

    /// "stage 2 of 3 (eu, us at 50 %)", for event details and messages.
    pub fn describe_stage(&self) -> String {
        format!(
            "stage {} of {} ({})",
            self.stage + 1,
            self.stages.len(),
            self.current()
        )
    }
}

impl Catalog {
    /// `StartRollout`: an ACCEPTED store version starts distribution at the plan's first
    /// stage. Refused while another rollout of the pack is active or another version is
    /// being distributed (rule R6), for a plan [`check_stages`] refuses, and for a soak time
    /// of 0 or beyond [`MAX_SOAK_SECONDS`]. A one-stage plan completes at once.
    pub(super) fn start_rollout(
        &mut self,
        ctx: &Ctx,
        new: StartRollout,
    ) -> Result<Vec<Event>, Refusal> {
        self.unused(&self.rollouts, &new.id, ResourceType::Rollouts)?;
        let v = self.find_version(&new.version)?;
        self.authorize(&ctx.actor, &v.app, Action::RollOut)?;
        let pack = self.live_pack(&v.pack)?;
        let records = v.records()?;
        if let Some(active) = self.active_rollout(&v.pack) {
            return Err(Refusal::by_rule(
                Rule::R6,
                format!(
                    "pack {} already has rollout {} {} (version {} at {}); roll it back or let \
                     it complete before starting another",
                    pack.identifier,
                    active.id,
                    active.state,
                    self.number_of(&active.to),
                    active.describe_stage()
                ),
            ));
        }
        if records.store != AppStoreState::Accepted {
            return Err(Refusal::conflict(format!(
                "the app store release of version {} is {}; only an ACCEPTED version can be \
                 rolled out",
                v.number, records.store
            )));
        }
        let distributing = self.pack_version_where(&v.pack, |r| {
            r.store == AppStoreState::ProcessingForDistribution
        });
        if let Some(other) = distributing {
            return Err(Refusal::by_rule(
                Rule::R6,
                format!(
                    "version {} of pack {} is already being distributed \
                     (PROCESSING_FOR_DISTRIBUTION); one version is released at a time",
                    self.number_of(&other),
                    pack.identifier
                ),
            ));
        }
        match new.soak_seconds {
            Some(0) => {
                return Err(Refusal::invalid(
                    "soakSeconds",
                    "is 0; leave it out to advance only by command, or give the seconds each \
                     stage runs before it advances by itself",
                ));
            }
            Some(s) if s > MAX_SOAK_SECONDS => {
                return Err(Refusal::invalid(
                    "soakSeconds",
                    format!("is {s}; at most {MAX_SOAK_SECONDS} (30 days)"),
                ));
            }
            _ => {}
        }
        check_stages(&new.stages, &self.regions())
            .map_err(|e| Refusal::invalid(&e.field, e.reason))?;
        let (app, pack_id) = (v.app.clone(), v.pack.clone());
        let from =
            self.pack_version_where(&pack_id, |r| r.store == AppStoreState::ReadyForDistribution);
        let rollout = Rollout {
            id: new.id.clone(),
            app,
            pack: pack_id,
            from,
            to: new.version.clone(),
            stages: new.stages,
            stage: 0,
            state: RolloutState::Running,
            soak_seconds: new.soak_seconds,
            created_by: ctx.actor.clone(),
            created_at: ctx.at,
            stage_started_at: ctx.at,
            updated_at: ctx.at,
        };
        let last = rollout.at_last_stage();
        self.rollouts.insert(new.id.clone(), rollout);
        let mut events: Vec<Event> = self
            .set_store(ctx, &new.version, AppStoreState::ProcessingForDistribution)
            .into_iter()
            .collect();
        if last {
            events.extend(self.complete_rollout(ctx, &new.id));
        }
        events.extend(self.rollout_event(ctx, &new.id, None));
        Ok(events)
    }

    /// `ChangeRollout`: an operator's advance, pause, resume or roll back.
    pub(super) fn change_rollout(
        &mut self,
        ctx: &Ctx,
        change: ChangeRollout,
    ) -> Result<Vec<Event>, Refusal> {
        let (id, action) = (&change.rollout, change.action);
        let r = self.find_rollout(id)?;
        self.authorize(&ctx.actor, &r.app, Action::RollOut)?;
        let refuse = |why: String| {
            Err(Refusal::conflict(format!(
                "rollout {id} is {}; {why}",
                r.state
            )))
        };
        let finished = match r.state {
            RolloutState::Completed => Some(format!(
                "its last stage ({}) is in force and there is no stage after it",
                r.describe_stage()
            )),
            RolloutState::RolledBack => Some(
                "it was abandoned; start a new rollout to release the version again".to_owned(),
            ),
            RolloutState::Running | RolloutState::Paused => None,
        };
        if let Some(why) = finished {
            let what = match action {
                RolloutAction::Advance => "it cannot advance",
                RolloutAction::Pause => "it cannot be paused",
                RolloutAction::Resume => "it cannot be resumed",
                RolloutAction::RollBack => "a finished rollout cannot be rolled back",
            };
            return refuse(format!("{what}: {why}"));
        }
        let old = r.state;
        match (action, r.state) {
            (RolloutAction::Advance, RolloutState::Paused) => {
                refuse("resume it before advancing it".into())
            }
            (RolloutAction::Pause, RolloutState::Paused) => refuse("it is already paused".into()),
            (RolloutAction::Resume, RolloutState::Running) => {
                refuse("only a PAUSED rollout can be resumed".into())
            }
            (RolloutAction::Advance, _) => Ok(self.advance(ctx, id)),
            (RolloutAction::Pause | RolloutAction::Resume, _) => {
                let to = if action == RolloutAction::Pause {
                    RolloutState::Paused
                } else {
                    RolloutState::Running
                };
                if let Some(r) = self.rollouts.get_mut(id) {
                    r.state = to;
                    r.updated_at = ctx.at;
                    if to == RolloutState::Running {
                        r.stage_started_at = ctx.at;
                    }
                }
                Ok(self.rollout_event(ctx, id, Some(old)).into_iter().collect())
            }
            (RolloutAction::RollBack, _) => {
                let to = r.to.clone();
                if let Some(r) = self.rollouts.get_mut(id) {
                    r.state = RolloutState::RolledBack;
                    r.updated_at = ctx.at;
                }
                let mut events: Vec<Event> = self
                    .set_store(ctx, &to, AppStoreState::Accepted)
                    .into_iter()
                    .collect();
                events.extend(self.rollout_event(ctx, id, Some(old)));
                Ok(events)
            }
        }
    }

    /// `AutoAdvanceRollout`: Packyard's leader advances a running rollout whose soak time is
    /// over by the envelope's time. `stage` is the stage the leader saw, so a proposal made
    /// twice advances once.
    pub(super) fn auto_advance_rollout(
        &mut self,
        ctx: &Ctx,
        advance: AutoAdvanceRollout,
    ) -> Result<Vec<Event>, Refusal> {
        let (id, stage) = (&advance.rollout, advance.stage);
        self.require_system(&ctx.actor)?;
        let r = self.find_rollout(id)?;
        if r.stage != stage {
            return Err(Refusal::conflict(format!(
                "rollout {id} is at {}, not stage {}; it advanced already",
                r.describe_stage(),
                stage + 1
            )));
        }
        let Some(due) = r.auto_advance_at() else {
            return Err(Refusal::conflict(format!(
                "rollout {id} is {} at {} without a soak time to wait out; it does not \
                 advance by itself",
                r.state,
                r.describe_stage()
            )));
        };
        if ctx.at < due {
            return Err(Refusal::conflict(format!(
                "rollout {id} soaks at {} until {}",
                r.describe_stage(),
                due.to_rfc3339()
            )));
        }
        Ok(self.advance(ctx, id))
    }

    /// Moves a running rollout to its next stage, completing it at the last.
    fn advance(&mut self, ctx: &Ctx, id: &RolloutId) -> Vec<Event> {
        let Some(r) = self.rollouts.get_mut(id) else {
            return Vec::new();
        };
        let old = r.state;
        r.stage += 1;
        r.stage_started_at = ctx.at;
        r.updated_at = ctx.at;
        let mut events = Vec::new();
        if r.at_last_stage() {
            events.extend(self.complete_rollout(ctx, id));
        }
        events.extend(self.rollout_event(ctx, id, Some(old)));
        events
    }

    /// The last stage is in force: the new version becomes the store version and the old one
    /// SUPERSEDED (R6), as a plain release ends.
    fn complete_rollout(&mut self, ctx: &Ctx, id: &RolloutId) -> Vec<Event> {
        let Some(r) = self.rollouts.get_mut(id) else {
            return Vec::new();
        };
        r.state = RolloutState::Completed;
        let (to, pack) = (r.to.clone(), r.pack.clone());
        self.distribute(ctx, &pack, &to)
    }

    /// The `ROLLOUT_STATE_UPDATED` event of a rollout that was in `old` (none when it was
    /// just started), naming the stage in force.
    fn rollout_event(&self, ctx: &Ctx, id: &RolloutId, old: Option<RolloutState>) -> Option<Event> {
        let r = self.rollouts.get(id)?;
        let mut event = ctx.event(
            EventType::RolloutStateUpdated,
            r.app.clone(),
            ResourceType::Rollouts,
            id.as_str(),
            old.map(RolloutState::as_str),
            Some(r.state.as_str()),
        );
        let from = r
            .from
            .as_ref()
            .map_or_else(|| "nothing".to_owned(), |v| self.number_of(v).to_string());
        event.detail = Some(format!(
            "version {} (from {from}) at {}",
            self.number_of(&r.to),
            r.describe_stage()
        ));
        Some(event)
    }

    fn find_rollout(&self, id: &RolloutId) -> Result<&Rollout, Refusal> {
        self.rollouts
            .get(id)
            .ok_or_else(|| Refusal::not_found(ResourceType::Rollouts, id))
    }

    fn number_of(&self, version: &VersionId) -> u32 {
        self.versions.get(version).map_or(0, |v| v.number)
    }

    /// The running or paused rollout of `pack`, if one is.
    pub fn active_rollout(&self, pack: &PackId) -> Option<&Rollout> {
        self.rollouts
            .values()
            .find(|r| &r.pack == pack && r.state.is_active())
    }

    /// A rollout.
    pub fn rollout(&self, id: &RolloutId) -> Option<&Rollout> {
        self.rollouts.get(id)
    }

    /// Every rollout, in id order.
    pub fn rollouts(&self) -> impl Iterator<Item = &Rollout> {
        self.rollouts.values()
    }

    /// The rollouts of an app, active and finished, in id order.
    pub fn rollouts_of<'a>(&'a self, app: &'a AppId) -> impl Iterator<Item = &'a Rollout> {
        self.rollouts.values().filter(move |r| &r.app == app)
    }

    /// The running rollouts whose soak time is over at `now`, with the stage each is at:
    /// what the leader proposes `AutoAdvanceRollout` for.
    pub fn due_rollouts(&self, now: Timestamp) -> Vec<(RolloutId, u32)> {
        self.rollouts
            .values()
            .filter(|r| r.auto_advance_at().is_some_and(|due| due <= now))
            .map(|r| (r.id.clone(), r.stage))
            .collect()
    }

    /// Every region that has an edge (up or down): the names rollout plans may use.
    pub fn regions(&self) -> BTreeSet<String> {
        self.edges.values().map(|e| e.region.clone()).collect()
    }
}
