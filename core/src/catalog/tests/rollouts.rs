//! Per-region rollouts (SPEC §7): every transition, every refusal (which changes nothing),
//! the store records of the old and new version at each step (R6), the events, and what
//! edges hear.

use super::fixture::*;
use super::serving_changes::apply_and_diff;
use crate::catalog::*;
use crate::rollout::{Regions, Stage};

fn stage(regions: &[&str], percentage: u32) -> Stage {
    Stage {
        regions: Regions::from(regions.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>()),
        percentage,
    }
}

fn three_stages() -> Vec<Stage> {
    vec![
        stage(&["eu"], 10),
        stage(&["eu", "us"], 50),
        stage(&["*"], 100),
    ]
}

fn start(id: &str, version: &VersionId, stages: Vec<Stage>, soak: Option<u64>) -> Command {
    Command::StartRollout(StartRollout {
        id: RolloutId::from(id),
        version: version.clone(),
        stages,
        soak_seconds: soak,
    })
}

fn change(id: &str, action: RolloutAction) -> Command {
    Command::ChangeRollout(ChangeRollout {
        rollout: RolloutId::from(id),
        action,
    })
}

fn auto(id: &str, stage: u32) -> Command {
    Command::AutoAdvanceRollout(AutoAdvanceRollout {
        rollout: RolloutId::from(id),
        stage,
    })
}

/// Edges in `eu` and `us`, version 1 live in the store, version 2 ACCEPTED.
fn world() -> (World, PackId, VersionId, VersionId) {
    let mut w = World::new();
    for (id, region) in [("e1", "eu"), ("e2", "eu"), ("e3", "us")] {
        w.ok(
            Actor::System,
            Command::RegisterEdge(RegisterEdge {
                id: EdgeId::from(id),
                region: region.into(),
                public_urls: vec![format!("http://{id}.example.com")],
                capacity_bytes: 1 << 20,
            }),
        );
    }
    let pack = w.pack("level-2");
    let v1 = w.complete(&pack, 100);
    w.live_in_store(&v1);
    let v2 = w.complete(&pack, 120);
    w.accepted_for_store(&v2);
    (w, pack, v1, v2)
}

fn rollout(w: &World, id: &str) -> Rollout {
    w.catalog
        .rollout(&RolloutId::from(id))
        .expect("the rollout exists")
        .clone()
}

fn rollout_events(events: &[Event]) -> Vec<(Option<&str>, Option<&str>)> {
    events
        .iter()
        .filter(|e| e.kind == EventType::RolloutStateUpdated)
        .map(|e| (e.old_state.as_deref(), e.new_state.as_deref()))
        .collect()
}

#[test]
fn a_rollout_runs_stage_by_stage_and_completes_as_a_release_does() {
    let (mut w, pack, v1, v2) = world();
    let events = w.ok(user("manager"), start("r1", &v2, three_stages(), None));
    assert_eq!(rollout_events(&events), [(None, Some("RUNNING"))]);
    let e = events
        .iter()
        .find(|e| e.kind == EventType::RolloutStateUpdated)
        .unwrap();
    assert_eq!(e.instance.resource, ResourceType::Rollouts);
    assert_eq!(e.instance.id, "r1");
    assert!(
        e.detail
            .as_deref()
            .unwrap()
            .contains("stage 1 of 3 (eu at 10 %)")
    );
    let r = rollout(&w, "r1");
    assert_eq!((r.stage, r.state), (0, RolloutState::Running));
    assert_eq!(r.from.as_ref(), Some(&v1));
    // R6: one live version (the old one), the new one on its way.
    assert_eq!(w.store(&v1), AppStoreState::ReadyForDistribution);
    assert_eq!(w.store(&v2), AppStoreState::ProcessingForDistribution);
    assert_eq!(w.served(Channel::Store), [("level-2".to_owned(), 1)]);
    assert_eq!(w.catalog.active_rollout(&pack).unwrap().id.as_str(), "r1");

    let events = w.ok(user("manager"), change("r1", RolloutAction::Advance));
    assert_eq!(
        rollout_events(&events),
        [(Some("RUNNING"), Some("RUNNING"))]
    );
    assert_eq!(rollout(&w, "r1").stage, 1);
    assert_eq!(w.store(&v1), AppStoreState::ReadyForDistribution);
    assert_eq!(w.store(&v2), AppStoreState::ProcessingForDistribution);

    let events = w.ok(user("admin"), change("r1", RolloutAction::Advance));
    assert_eq!(
        rollout_events(&events),
        [(Some("RUNNING"), Some("COMPLETED"))]
    );
    let store_changes: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventType::BackgroundAssetVersionAppStoreReleaseStateUpdated)
        .map(|e| (e.instance.id.clone(), e.new_state.clone().unwrap()))
        .collect();
    assert_eq!(
        store_changes,
        [
            (v1.to_string(), "SUPERSEDED".to_owned()),
            (v2.to_string(), "READY_FOR_DISTRIBUTION".to_owned())
        ]
    );
    assert_eq!(rollout(&w, "r1").state, RolloutState::Completed);
    assert_eq!(w.served(Channel::Store), [("level-2".to_owned(), 2)]);
    assert!(w.catalog.active_rollout(&pack).is_none());
}

#[test]
fn a_one_stage_plan_completes_at_once() {
    let (mut w, _, v1, v2) = world();
    let events = w.ok(
        user("manager"),
        start("r1", &v2, vec![stage(&["*"], 100)], None),
    );
    assert_eq!(rollout_events(&events), [(None, Some("COMPLETED"))]);
    assert_eq!(w.store(&v1), AppStoreState::Superseded);
    assert_eq!(w.store(&v2), AppStoreState::ReadyForDistribution);
}

#[test]
fn a_first_release_rolls_out_from_nothing() {
    let (mut w, _, _, _) = world();
    let pack = w.pack("level-3");
    let v = w.complete(&pack, 50);
    w.accepted_for_store(&v);
    w.ok(
        user("manager"),
        start("r1", &v, vec![stage(&["eu"], 50), stage(&["*"], 100)], None),
    );
    assert_eq!(rollout(&w, "r1").from, None);
    w.ok(user("manager"), change("r1", RolloutAction::Advance));
    assert_eq!(w.store(&v), AppStoreState::ReadyForDistribution);
}

#[test]
fn pause_and_resume_hold_the_stage_and_refuse_when_they_make_no_sense() {
    let (mut w, _, _, v2) = world();
    w.ok(user("manager"), start("r1", &v2, three_stages(), None));
    let refusal = w.refused(user("manager"), change("r1", RolloutAction::Resume));
    assert!(
        conflict(&refusal, None).contains("only a PAUSED rollout can be resumed"),
        "{refusal}"
    );
    let events = w.ok(user("manager"), change("r1", RolloutAction::Pause));
    assert_eq!(rollout_events(&events), [(Some("RUNNING"), Some("PAUSED"))]);
    let refusal = w.refused(user("manager"), change("r1", RolloutAction::Pause));
    assert!(
        conflict(&refusal, None).contains("already paused"),
        "{refusal}"
    );
    let refusal = w.refused(user("manager"), change("r1", RolloutAction::Advance));
    assert!(
        conflict(&refusal, None).contains("resume it before advancing"),
        "{refusal}"
    );
    assert_eq!(rollout(&w, "r1").stage, 0);
    assert_eq!(w.store(&v2), AppStoreState::ProcessingForDistribution);
    let events = w.ok(user("manager"), change("r1", RolloutAction::Resume));
    assert_eq!(rollout_events(&events), [(Some("PAUSED"), Some("RUNNING"))]);
    w.ok(user("manager"), change("r1", RolloutAction::Advance));
    assert_eq!(rollout(&w, "r1").stage, 1);
}

#[test]
fn rolling_back_returns_every_device_to_the_old_version_and_the_new_one_to_accepted() {
    let (mut w, pack, v1, v2) = world();
    w.ok(user("manager"), start("r1", &v2, three_stages(), None));
    w.ok(user("manager"), change("r1", RolloutAction::Advance));
    w.ok(user("manager"), change("r1", RolloutAction::Pause));
    let events = w.ok(user("manager"), change("r1", RolloutAction::RollBack));
    assert_eq!(
        rollout_events(&events),
        [(Some("PAUSED"), Some("ROLLED_BACK"))]
    );
    assert_eq!(w.store(&v1), AppStoreState::ReadyForDistribution);
    assert_eq!(w.store(&v2), AppStoreState::Accepted);
    assert!(w.catalog.active_rollout(&pack).is_none());
    for action in [
        RolloutAction::Advance,
        RolloutAction::Pause,
        RolloutAction::Resume,
        RolloutAction::RollBack,
    ] {
        let refusal = w.refused(user("manager"), change("r1", action));
        assert!(
            conflict(&refusal, None).contains("ROLLED_BACK"),
            "{refusal}"
        );
    }
    // The version may be rolled out again.
    w.ok(user("manager"), start("r2", &v2, three_stages(), None));
    assert_eq!(w.store(&v2), AppStoreState::ProcessingForDistribution);
}

#[test]
fn a_completed_rollout_neither_advances_past_its_last_stage_nor_rolls_back() {
    let (mut w, _, _, v2) = world();
    w.ok(
        user("manager"),
        start(
            "r1",
            &v2,
            vec![stage(&["eu"], 10), stage(&["*"], 100)],
            None,
        ),
    );
    w.ok(user("manager"), change("r1", RolloutAction::Advance));
    let refusal = w.refused(user("manager"), change("r1", RolloutAction::Advance));
    let detail = conflict(&refusal, None);
    assert!(
        detail.contains("COMPLETED") && detail.contains("no stage after it"),
        "{detail}"
    );
    let refusal = w.refused(user("manager"), change("r1", RolloutAction::RollBack));
    assert!(
        conflict(&refusal, None).contains("a finished rollout cannot be rolled back"),
        "{refusal}"
    );
}

#[test]
fn starting_is_refused_for_bad_plans_and_states_and_changes_nothing() {
    let (mut w, pack, v1, v2) = world();
    let field = |r: &Refusal| match r {
        Refusal::Invalid { field, .. } => field.clone(),
        other => panic!("expected an invalid field, got {other:?}"),
    };
    let r = w.refused(
        user("manager"),
        start(
            "r1",
            &v2,
            vec![stage(&["mars"], 10), stage(&["*"], 100)],
            None,
        ),
    );
    assert_eq!(field(&r), "stages[0].regions");
    assert!(r.to_string().contains("\"mars\""), "{r}");
    let r = w.refused(user("manager"), start("r1", &v2, vec![], None));
    assert_eq!(field(&r), "stages");
    let r = w.refused(
        user("manager"),
        start(
            "r1",
            &v2,
            vec![stage(&["eu"], 50), stage(&["eu"], 20)],
            None,
        ),
    );
    assert_eq!(field(&r), "stages[1].percentage");
    let r = w.refused(
        user("manager"),
        start("r1", &v2, vec![stage(&["*"], 150)], None),
    );
    assert_eq!(field(&r), "stages[0].percentage");
    let r = w.refused(user("manager"), start("r1", &v2, three_stages(), Some(0)));
    assert_eq!(field(&r), "soakSeconds");
    let r = w.refused(
        user("manager"),
        start("r1", &v2, three_stages(), Some(MAX_SOAK_SECONDS + 1)),
    );
    assert_eq!(field(&r), "soakSeconds");
    // R8: a Developer may not roll out.
    let r = w.refused(user("dev"), start("r1", &v2, three_stages(), None));
    assert_eq!(r.kind(), RefusalKind::Forbidden);
    assert!(r.to_string().contains("App Manager"), "{r}");
    let r = w.refused(user("stranger"), start("r1", &v2, three_stages(), None));
    assert_eq!(r.kind(), RefusalKind::Forbidden);
    // Only an ACCEPTED version: the live one is not.
    let r = w.refused(user("manager"), start("r1", &v1, three_stages(), None));
    assert!(
        conflict(&r, None).contains("only an ACCEPTED version"),
        "{r}"
    );
    let r = w.refused(
        user("manager"),
        start("r1", &VersionId::from("nope"), three_stages(), None),
    );
    assert_eq!(r.kind(), RefusalKind::NotFound);
    let r = w.refused(user("manager"), change("nope", RolloutAction::Pause));
    assert_eq!(r.kind(), RefusalKind::NotFound);

    // A second active rollout of the same pack (R6), whatever version it names.
    w.ok(user("manager"), start("r1", &v2, three_stages(), None));
    let r = w.refused(user("manager"), start("r1", &v2, three_stages(), None));
    assert!(conflict(&r, None).contains("already used"), "{r}");
    let v3 = w.complete(&pack, 130);
    w.accepted_for_store(&v3);
    let r = w.refused(user("manager"), start("r2", &v3, three_stages(), None));
    let detail = conflict(&r, Some(Rule::R6));
    assert!(
        detail.contains("already has rollout r1 RUNNING"),
        "{detail}"
    );
    // Nor may another version be released, or the rolled-out one finished, around it.
    let r = w.refused(user("manager"), release(&v3));
    assert!(conflict(&r, Some(Rule::R6)).contains("rollout r1"), "{r}");
    let r = w.refused(Actor::System, finish_distribution(&v2));
    assert!(conflict(&r, None).contains("the rollout decides"), "{r}");
    // R7: the pack cannot be archived mid-rollout.
    let r = w.refused(user("manager"), archive(&pack));
    assert!(conflict(&r, Some(Rule::R7)).contains("PROCESSING_FOR_DISTRIBUTION"));
    // Changing needs the role too.
    let r = w.refused(user("dev"), change("r1", RolloutAction::Pause));
    assert_eq!(r.kind(), RefusalKind::Forbidden);
}

#[test]
fn a_version_released_without_a_rollout_blocks_a_rollout_until_distributed() {
    let (mut w, pack, _, v2) = world();
    w.ok(user("manager"), release(&v2));
    let v3 = w.complete(&pack, 130);
    w.accepted_for_store(&v3);
    let r = w.refused(user("manager"), start("r1", &v3, three_stages(), None));
    assert!(
        conflict(&r, Some(Rule::R6)).contains("already being distributed"),
        "{r}"
    );
}

#[test]
fn automatic_advance_waits_out_the_soak_time_carried_by_the_envelope() {
    let (mut w, _, _, v2) = world();
    w.ok(user("manager"), start("r1", &v2, three_stages(), Some(60)));
    let r = rollout(&w, "r1");
    let due = r.auto_advance_at().unwrap();
    assert_eq!(due.0, r.stage_started_at.0 + 60_000);
    assert!(w.catalog.due_rollouts(Timestamp(due.0 - 1)).is_empty());
    assert_eq!(w.catalog.due_rollouts(due), [(RolloutId::from("r1"), 0)]);
    // Too early by the envelope's time: refused, nothing changes.
    let early = w.refused(Actor::System, auto("r1", 0));
    assert!(
        conflict(&early, None).contains("soaks at stage 1 of 3"),
        "{early}"
    );
    // Only Packyard itself advances by the clock.
    let r = w.refused(user("manager"), auto("r1", 0));
    assert_eq!(r.kind(), RefusalKind::Forbidden);
    let at = |w: &mut World, t: u64, actor: Actor, command: Command| {
        w.catalog.apply(Envelope {
            actor,
            at: Timestamp(t),
            command,
            key: None,
        })
    };
    let events = at(&mut w, due.0, Actor::System, auto("r1", 0)).unwrap();
    assert_eq!(
        rollout_events(&events),
        [(Some("RUNNING"), Some("RUNNING"))]
    );
    assert_eq!(rollout(&w, "r1").stage, 1);
    // A second proposal for the stage already left is refused.
    let before = w.catalog.clone();
    let again = at(&mut w, due.0 + 1, Actor::System, auto("r1", 0)).unwrap_err();
    assert!(
        conflict(&again, None).contains("advanced already"),
        "{again}"
    );
    assert_eq!(w.catalog, before);
    // Paused: no automatic advance, and resuming starts the soak over.
    at(
        &mut w,
        due.0 + 2,
        user("manager"),
        change("r1", RolloutAction::Pause),
    )
    .unwrap();
    assert!(w.catalog.due_rollouts(Timestamp(u64::MAX)).is_empty());
    let before = w.catalog.clone();
    at(&mut w, due.0 + 200_000, Actor::System, auto("r1", 1)).unwrap_err();
    assert_eq!(w.catalog, before);
    at(
        &mut w,
        due.0 + 300_000,
        user("manager"),
        change("r1", RolloutAction::Resume),
    )
    .unwrap();
    let resumed = rollout(&w, "r1");
    assert_eq!(resumed.auto_advance_at().unwrap().0, due.0 + 360_000);
    at(&mut w, due.0 + 360_000, Actor::System, auto("r1", 1)).unwrap();
    assert_eq!(rollout(&w, "r1").state, RolloutState::Completed);
    assert!(w.catalog.due_rollouts(Timestamp(u64::MAX)).is_empty());
}

#[test]
fn without_a_soak_time_a_rollout_never_advances_by_itself() {
    let (mut w, _, _, v2) = world();
    w.ok(user("manager"), start("r1", &v2, three_stages(), None));
    assert!(w.catalog.due_rollouts(Timestamp(u64::MAX)).is_empty());
    let r = w.refused(Actor::System, auto("r1", 0));
    assert!(
        conflict(&r, None).contains("does not advance by itself"),
        "{r}"
    );
}

#[test]
fn edges_hear_every_step_and_a_snapshot_carries_active_rollouts() {
    let (mut w, pack, _, v2) = world();
    let changes = apply_and_diff(
        &mut w,
        user("manager"),
        start("r1", &v2, three_stages(), None),
    );
    assert!(
        matches!(
            &changes[..],
            [ServingChange::Rollout {
                from: Some(1),
                to: 2,
                stage: 0,
                state: RolloutState::Running,
                ..
            }]
        ),
        "{changes:?}"
    );
    let snapshot = w.catalog.serving_snapshot();
    assert!(
        snapshot
            .iter()
            .any(|c| matches!(c, ServingChange::Rollout { pack: p, stage: 0, .. } if p == &pack)),
        "{snapshot:?}"
    );
    let changes = apply_and_diff(&mut w, user("manager"), change("r1", RolloutAction::Pause));
    assert!(
        matches!(
            &changes[..],
            [ServingChange::Rollout {
                state: RolloutState::Paused,
                ..
            }]
        ),
        "{changes:?}"
    );
    w.ok(user("manager"), change("r1", RolloutAction::Resume));
    w.ok(user("manager"), change("r1", RolloutAction::Advance));
    let changes = apply_and_diff(
        &mut w,
        user("manager"),
        change("r1", RolloutAction::Advance),
    );
    assert!(
        matches!(
            &changes[..],
            [
                ServingChange::ChannelUpdated {
                    channel: Channel::Store,
                    number: Some(2),
                    ..
                },
                ServingChange::Rollout {
                    state: RolloutState::Completed,
                    stage: 2,
                    ..
                }
            ]
        ),
        "{changes:?}"
    );
    assert!(
        !w.catalog
            .serving_snapshot()
            .iter()
            .any(|c| matches!(c, ServingChange::Rollout { .. })),
        "a finished rollout is not in snapshots"
    );
}

mod random_steps {
    //! Random sequences of rollout commands, interleaved with the release, review and archive
    //! commands that touch the same store track, from many actors: a refused command changes
    //! nothing, R6 holds after every step, an active rollout's versions are where R6 wants
    //! them, and edges following the watch stream end where a fresh snapshot starts.

    use proptest::prelude::*;

    use super::super::serving_changes::{EdgeModel, views};
    use super::*;

    fn plan(n: usize) -> Vec<Stage> {
        match n % 5 {
            0 => vec![stage(&["*"], 100)],
            1 => three_stages(),
            2 => vec![
                stage(&["us"], 20),
                stage(&["eu", "us"], 20),
                stage(&["*"], 100),
            ],
            3 => vec![stage(&["mars"], 10), stage(&["*"], 100)],
            _ => vec![stage(&["eu"], 60), stage(&["eu"], 30), stage(&["*"], 100)],
        }
    }

    fn check_r6(w: &World, pack: &PackId) -> Result<(), TestCaseError> {
        let records: Vec<(VersionId, AppStoreState)> = w
            .catalog
            .versions_of(pack)
            .filter_map(|v| Some((v.id.clone(), v.releases.as_ref()?.store)))
            .collect();
        let live = records
            .iter()
            .filter(|(_, s)| *s == AppStoreState::ReadyForDistribution)
            .count();
        prop_assert!(live <= 1, "{records:?}");
        let active: Vec<&Rollout> = w
            .catalog
            .rollouts()
            .filter(|r| r.state.is_active())
            .collect();
        prop_assert!(active.len() <= 1);
        for r in active {
            let state = |v: &VersionId| records.iter().find(|(id, _)| id == v).map(|(_, s)| *s);
            prop_assert_eq!(state(&r.to), Some(AppStoreState::ProcessingForDistribution));
            if let Some(from) = &r.from {
                prop_assert_eq!(state(from), Some(AppStoreState::ReadyForDistribution));
            }
            prop_assert!(
                r.stage as usize + 1 < r.stages.len(),
                "an active rollout is before its last stage"
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn random_rollout_steps_keep_r6_and_refusals_change_nothing(
            steps in proptest::collection::vec((0u8..13, 0usize..16, 0usize..16, any::<bool>()), 1..120)
        ) {
            let (mut w, pack, v1, v2) = world();
            let v3 = w.complete(&pack, 130);
            let mut edge = EdgeModel::default();
            edge.follow(&w.catalog.serving_snapshot());
            let versions = [v2, v3, v1];
            let actors = ["manager", "admin", "holder", "dev", "reviewer", "stranger"];
            for (i, (kind, a, b, flag)) in steps.into_iter().enumerate() {
                let ids: Vec<RolloutId> = w.catalog.rollouts().map(|r| r.id.clone()).collect();
                let rollout = ids
                    .iter()
                    .rev()
                    .nth(a % 3)
                    .cloned()
                    .unwrap_or_else(|| RolloutId::from("none"));
                let version = versions[a % 3].clone();
                let someone = if b % 5 == 4 { user(actors[a % actors.len()]) } else { user("manager") };
                let submissions: Vec<ReviewSubmissionId> = versions
                    .iter()
                    .flat_map(|v| w.catalog.submissions_of(v).map(|s| s.id.clone()))
                    .collect();
                let submission = submissions
                    .get(b % submissions.len().max(1))
                    .cloned()
                    .unwrap_or_else(|| ReviewSubmissionId::from("none"));
                let (actor, command) = match kind {
                    0..=2 => (
                        someone,
                        start(&format!("r{i}"), &version, plan(b), [None, Some(1), Some(0)][a % 3]),
                    ),
                    3..=5 => {
                        let action = [
                            RolloutAction::Advance,
                            RolloutAction::Pause,
                            RolloutAction::Resume,
                            RolloutAction::RollBack,
                        ][b % 4];
                        (someone, change(rollout.as_str(), action))
                    }
                    6 => {
                        let current = w.catalog.rollout(&rollout).map_or(0, |r| r.stage);
                        let seen = if flag { current } else { current.saturating_sub(1) };
                        let who = if b % 5 == 4 { user("manager") } else { Actor::System };
                        (who, auto(rollout.as_str(), seen))
                    }
                    7 => (someone, release(&version)),
                    8 => (Actor::System, finish_distribution(&version)),
                    9 if b % 4 == 0 => (user("manager"), archive(&pack)),
                    9 | 10 => (
                        user("manager"),
                        submit(&ReviewSubmissionId::new(format!("s{i}")), &version, ReviewTrack::AppStore),
                    ),
                    11 => (user("reviewer"), super::super::fixture::start(&submission)),
                    _ => (user("reviewer"), decide(&submission, flag || b % 3 != 0, vec!["why".into()])),
                };
                let before = w.catalog.clone();
                let touched = w.catalog.serving_app(&command);
                let views_before = views(&w.catalog);
                let result = w.run(actor, command);
                if result.is_err() {
                    prop_assert_eq!(&w.catalog, &before);
                }
                check_r6(&w, &pack)?;
                let views_after = views(&w.catalog);
                if let Some((app, after)) = touched.as_ref().and_then(|a| Some((a, views_after.get(a)?))) {
                    edge.follow(&w.catalog.serving_changes(views_before.get(app), after));
                }
            }
            let mut fresh = EdgeModel::default();
            fresh.follow(&w.catalog.serving_snapshot());
            prop_assert_eq!(edge, fresh);
        }
    }
}
