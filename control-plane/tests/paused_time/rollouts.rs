//! The leader's soak timer (`advance_due_rollouts`): a rollout moves to its next stage at the
//! first tick once its soak time has passed, never at a tick before.

use std::time::Duration;

use packyard_control_plane::rollout_advancer::advance_due_rollouts;
use packyard_core::catalog::{
    AutoAdvanceRollout, Catalog, Command, RolloutId, RolloutState, StartRollout, Timestamp,
};
use packyard_core::rollout::{Regions, Stage};

use crate::fixture::{START, World, operator, shutdown};

/// How often the timer looks, as on a node.
const TICK: Duration = Duration::from_secs(1);

/// Three hours.
const SOAK: Duration = Duration::from_secs(3 * 3_600);

fn stage(regions: &[&str], percentage: u32) -> Stage {
    Stage {
        regions: Regions::from(regions.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>()),
        percentage,
    }
}

/// The stage in force and the state of rollout `id`.
fn progress(id: &RolloutId) -> impl Fn(&Catalog) -> (u32, RolloutState, Timestamp) + Clone + use<> {
    let id = id.clone();
    move |c| {
        let r = c.rollout(&id).unwrap();
        (r.stage, r.state, r.stage_started_at)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_three_hour_soak_advances_each_stage_at_the_tick_three_hours_after_it_began_not_one_before()
 {
    let mut w = World::new().await;
    w.edge("e1", "eu").await;
    w.edge("e2", "us").await;
    let pack = w.pack("level-2").await;
    let version = w.accepted_version(&pack).await;
    let rollout = RolloutId::from("r1");
    w.ok(
        operator(),
        Command::StartRollout(StartRollout {
            id: rollout.clone(),
            version,
            stages: vec![
                stage(&["eu"], 10),
                stage(&["eu", "us"], 50),
                stage(&["*"], 100),
            ],
            soak_seconds: Some(SOAK.as_secs()),
        }),
    )
    .await;
    assert_eq!(
        w.read(progress(&rollout)).await,
        (0, RolloutState::Running, START)
    );

    let (_stop, stopped) = shutdown();
    tokio::spawn(advance_due_rollouts(w.task_store(), w.clock, TICK, stopped));
    // The first tick fires at once: nothing is due yet.
    w.task_has_read(1).await;

    // One tick before the soak time is over: still soaking at stage 1.
    w.advance_until_task_reads(SOAK - TICK).await;
    assert_eq!(
        w.read(progress(&rollout)).await,
        (0, RolloutState::Running, START)
    );

    // The tick at which it is over: stage 2, which began at that very tick.
    w.advance_until_task_reads(TICK).await;
    assert_eq!(w.elapsed(), SOAK);
    let stage_two_began = Timestamp(START.0 + millis(SOAK));
    w.until("the rollout reaches stage 2", {
        let p = progress(&rollout);
        move |c| p(c).0 == 1
    })
    .await;
    assert_eq!(
        w.read(progress(&rollout)).await,
        (1, RolloutState::Running, stage_two_began)
    );

    // Stage 2 soaks again from its own start: not at one tick before, at its end.
    w.advance_until_task_reads(SOAK - TICK).await;
    assert_eq!(
        w.read(progress(&rollout)).await,
        (1, RolloutState::Running, stage_two_began)
    );
    w.advance_until_task_reads(TICK).await;
    assert_eq!(w.elapsed(), 2 * SOAK);
    w.until("the rollout completes", {
        let p = progress(&rollout);
        move |c| p(c).1 == RolloutState::Completed
    })
    .await;
    assert_eq!(w.read(progress(&rollout)).await.0, 2);
    // It proposed exactly two advances, each at the tick its stage's soak ended.
    assert_eq!(
        w.task_proposals(),
        [
            (millis(SOAK), advance(&rollout, 0)),
            (2 * millis(SOAK), advance(&rollout, 1))
        ]
    );
}

/// What the timer proposes to take `rollout` past `stage`.
fn advance(rollout: &RolloutId, stage: u32) -> Command {
    Command::AutoAdvanceRollout(AutoAdvanceRollout {
        rollout: rollout.clone(),
        stage,
    })
}
