//! Unit tests of [`ServingState`]: snapshot, changes, resume, archive, queries.

#![allow(clippy::unwrap_used)]

use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::change::Change;
use packyard_proto::catalog::v1::watch_event::Body;

use super::{Channel, ServingState};

const EAGER: &str = r#"{"prefetch":{"installationEventTypes":["firstInstallation"]}}"#;
const LAZY: &str = r#"{"onDemand":{}}"#;

fn completed(pack: &str, ident: &str, n: u32, policy: &str) -> pb::VersionCompleted {
    let bytes = format!("{pack}-{n}").into_bytes();
    pb::VersionCompleted {
        app_id: "app1".into(),
        pack_id: pack.into(),
        asset_pack_identifier: ident.into(),
        version: n,
        size: bytes.len() as u64,
        archive_hash: blake3::hash(&bytes).as_bytes().to_vec(),
        chunks: vec![pb::Chunk {
            id: blake3::hash(&bytes).as_bytes().to_vec(),
            length: u32::try_from(bytes.len()).unwrap(),
        }],
        download_policy: Some(pb::DownloadPolicy::from(
            &serde_json::from_str::<packyard_core::DownloadPolicy>(policy)
                .expect("a download policy"),
        )),
        platforms: vec!["iOS".into()],
        language: String::new(),
    }
}

fn channel(pack: &str, channel: pb::Channel, version: u32) -> pb::ChannelUpdated {
    pb::ChannelUpdated {
        app_id: "app1".into(),
        pack_id: pack.into(),
        channel: channel.into(),
        version,
    }
}

fn app() -> pb::App {
    pb::App {
        app_id: "app1".into(),
        primary_language: "en-US".into(),
    }
}

fn changes(index: u64, items: Vec<Change>) -> pb::WatchEvent {
    pb::WatchEvent {
        index,
        body: Some(Body::Changes(pb::Changes {
            items: items
                .into_iter()
                .map(|c| pb::Change { change: Some(c) })
                .collect(),
        })),
    }
}

fn snapshot(index: u64) -> pb::WatchEvent {
    pb::WatchEvent {
        index,
        body: Some(Body::Snapshot(pb::Snapshot {
            apps: vec![app()],
            versions: vec![
                completed("p1", "level-1", 1, LAZY),
                completed("p1", "level-1", 2, EAGER),
            ],
            channels: vec![
                channel("p1", pb::Channel::Store, 1),
                channel("p1", pb::Channel::Internal, 2),
            ],
            ..Default::default()
        })),
    }
}

#[test]
fn a_snapshot_fills_apps_versions_and_channels() {
    let mut state = ServingState::new();
    assert_eq!(state.resume_from(), 0);
    let applied = state.apply(&snapshot(5));
    assert!(state.is_synced());
    assert_eq!(state.resume_from(), 6);
    assert_eq!(state.primary_language("app1").as_str(), "en-US");
    let store = state
        .channel_version("app1", Channel::Store, "level-1", None)
        .unwrap();
    assert_eq!(store.number, 1);
    assert!(state.is_public(&store));
    let internal = state
        .channel_version("app1", Channel::Internal, "level-1", None)
        .unwrap();
    assert_eq!(internal.number, 2);
    assert!(!state.is_public(&internal));
    assert!(
        state
            .channel_version("app1", Channel::External, "level-1", None)
            .is_none()
    );
    assert_eq!(state.served_packs("app1", Channel::Internal).len(), 1);
    assert_eq!(state.version("app1", "level-1", 2).unwrap().number, 2);
    assert!(state.version("app1", "level-1", 3).is_none());
    assert!(state.version("app2", "level-1", 1).is_none());
    // Version 2 is eager and served by a channel: prefetched.
    assert_eq!(applied.to_prefetch.len(), 1);
    assert_eq!(applied.to_prefetch[0].number, 2);
}

#[test]
fn changes_move_pointers_and_an_overlapping_resume_changes_nothing() {
    let mut state = ServingState::new();
    state.apply(&snapshot(5));
    let e = changes(
        6,
        vec![
            Change::VersionCompleted(completed("p1", "level-1", 3, EAGER)),
            Change::ChannelUpdated(channel("p1", pb::Channel::Internal, 3)),
            Change::ChannelUpdated(channel("p1", pb::Channel::Store, 0)),
        ],
    );
    assert_eq!(state.apply(&e).to_prefetch.len(), 1);
    assert_eq!(
        state
            .channel_version("app1", Channel::Internal, "level-1", None)
            .unwrap()
            .number,
        3
    );
    assert!(
        state
            .channel_version("app1", Channel::Store, "level-1", None)
            .is_none()
    );
    // The old version is still reachable by its immutable URL, but no longer public.
    let v1 = state.version("app1", "level-1", 1).unwrap();
    assert!(!state.is_public(&v1));
    // Replayed after a reconnect: ignored.
    let again = changes(
        6,
        vec![Change::ChannelUpdated(channel("p1", pb::Channel::Store, 1))],
    );
    assert!(state.apply(&again).to_prefetch.is_empty());
    assert!(
        state
            .channel_version("app1", Channel::Store, "level-1", None)
            .is_none()
    );
    state.apply(&pb::WatchEvent {
        index: 9,
        body: Some(Body::Heartbeat(pb::Heartbeat {})),
    });
    assert_eq!(state.resume_from(), 10);
    state.saw_index(12);
    assert_eq!(state.lag(), 3);
}

#[test]
fn archiving_drops_every_version_and_pointer_and_later_news_of_the_pack() {
    let mut state = ServingState::new();
    state.apply(&snapshot(5));
    state.apply(&changes(
        6,
        vec![Change::PackArchived(pb::PackArchived {
            app_id: "app1".into(),
            pack_id: "p1".into(),
        })],
    ));
    assert!(state.version("app1", "level-1", 1).is_none());
    assert!(state.served_packs("app1", Channel::Store).is_empty());
    assert!(state.served_versions().is_empty());
    state.apply(&changes(
        7,
        vec![
            Change::VersionCompleted(completed("p1", "level-1", 3, LAZY)),
            Change::ChannelUpdated(channel("p1", pb::Channel::Internal, 3)),
        ],
    ));
    assert!(state.version("app1", "level-1", 3).is_none());
    assert!(state.served_packs("app1", Channel::Internal).is_empty());
}

#[test]
fn a_malformed_version_is_not_served_and_a_new_snapshot_replaces_everything() {
    let mut state = ServingState::new();
    let mut bad = completed("p2", "level-2", 1, LAZY);
    bad.size += 1;
    state.apply(&changes(1, vec![Change::VersionCompleted(bad)]));
    assert!(state.version("app1", "level-2", 1).is_none());
    state.apply(&changes(
        2,
        vec![Change::VersionCompleted(completed(
            "p2", "level-2", 1, LAZY,
        ))],
    ));
    assert!(state.version("app1", "level-2", 1).is_some());
    state.apply(&snapshot(10));
    assert!(state.version("app1", "level-2", 1).is_none());
    assert!(state.version("app1", "level-1", 1).is_some());
}

fn rollout(stages: &[(&[&str], u32)], stage: u32, state: pb::RolloutState) -> pb::Rollout {
    pb::Rollout {
        rollout_id: "r1".into(),
        app_id: "app1".into(),
        pack_id: "p1".into(),
        from_version: 1,
        to_version: 3,
        stages: stages
            .iter()
            .map(|(regions, percent)| pb::RolloutStage {
                regions: regions.iter().map(|r| (*r).to_owned()).collect(),
                percent: *percent,
            })
            .collect(),
        current_stage: stage,
        state: state.into(),
    }
}

const PLAN: &[(&[&str], u32)] = &[(&["eu"], 30), (&["eu", "us"], 60), (&["*"], 100)];

/// A snapshot of `snapshot(5)` plus (lazy) version 3 rolling out at `stage` of [`PLAN`].
fn rolling_out(region: &str, stage: u32) -> (ServingState, crate::state::Applied) {
    let mut state = ServingState::for_region(region);
    let Some(Body::Snapshot(mut s)) = snapshot(5).body else {
        unreachable!()
    };
    s.versions.push(completed("p1", "level-1", 3, LAZY));
    s.rollouts
        .push(rollout(PLAN, stage, pb::RolloutState::Running));
    let applied = state.apply(&pb::WatchEvent {
        index: 5,
        body: Some(Body::Snapshot(s)),
    });
    (state, applied)
}

fn store_number(state: &ServingState, device: Option<&str>) -> u32 {
    state
        .channel_version("app1", Channel::Store, "level-1", device)
        .unwrap()
        .number
}

fn manifest_number(state: &ServingState, device: Option<&str>) -> u32 {
    let versions = state.device_versions("app1", Channel::Store, device);
    assert_eq!(versions.len(), 1);
    versions[0].number
}

#[test]
fn a_rollout_gives_the_new_version_to_the_devices_its_stage_picks_in_this_region() {
    let devices: Vec<String> = (0..2_000).map(|i| format!("device-{i}")).collect();
    let (eu, _) = rolling_out("eu", 0);
    let (us, _) = rolling_out("us", 0);
    let mut new_in_eu = 0;
    for d in &devices {
        let bucket = packyard_core::rollout::bucket("app1", "p1", d);
        let expected = if bucket < 3_000 { 3 } else { 1 };
        assert_eq!(store_number(&eu, Some(d)), expected, "{d} in eu");
        assert_eq!(
            manifest_number(&eu, Some(d)),
            expected,
            "the manifest agrees for {d}"
        );
        assert_eq!(store_number(&us, Some(d)), 1, "us is not in stage 1");
        new_in_eu += usize::from(expected == 3);
    }
    assert!(
        (450..750).contains(&new_in_eu),
        "{new_in_eu} of 2000 at 30 %"
    );
    // No device id: the version the region serves to 100 %.
    assert_eq!(store_number(&eu, None), 1);
    // Both versions are public while the rollout runs; the channels beside store are untouched.
    let v3 = eu.version("app1", "level-1", 3).unwrap();
    assert!(eu.is_public(&v3));
    assert!(us.is_public(&v3));
    assert_eq!(
        eu.channel_version("app1", Channel::Internal, "level-1", Some("device-1"))
            .unwrap()
            .number,
        2
    );
    let held: Vec<u32> = eu.served_versions().iter().map(|v| v.number).collect();
    assert!(held.contains(&3), "{held:?}");
}

#[test]
fn advancing_only_ever_adds_devices_and_the_end_of_a_rollout_hands_back_to_the_store_channel() {
    let (mut state, _) = rolling_out("eu", 0);
    let devices: Vec<String> = (0..500).map(|i| format!("d{i}")).collect();
    let before: Vec<u32> = devices
        .iter()
        .map(|d| store_number(&state, Some(d)))
        .collect();
    state.apply(&changes(
        6,
        vec![Change::Rollout(rollout(PLAN, 1, pb::RolloutState::Running))],
    ));
    for (d, old) in devices.iter().zip(&before) {
        let now = store_number(&state, Some(d));
        assert!(*old == 1 || now == 3, "{d} lost the new version");
    }
    // Paused: the stage stays in force.
    state.apply(&changes(
        7,
        vec![Change::Rollout(rollout(PLAN, 1, pb::RolloutState::Paused))],
    ));
    let paused: Vec<u32> = devices
        .iter()
        .map(|d| store_number(&state, Some(d)))
        .collect();
    assert!(paused.contains(&3) && paused.contains(&1));
    // Rolled back: everyone is on the store channel's version again.
    state.apply(&changes(
        8,
        vec![Change::Rollout(rollout(
            PLAN,
            1,
            pb::RolloutState::RolledBack,
        ))],
    ));
    assert!(devices.iter().all(|d| store_number(&state, Some(d)) == 1));
    let v3 = state.version("app1", "level-1", 3).unwrap();
    assert!(!state.is_public(&v3));
    assert!(state.rollout("p1").is_none());
}

#[test]
fn a_rollout_that_will_reach_this_region_prefetches_its_version_at_once() {
    // Stage 1 covers eu only, yet us prefetches: stage 2 will include it.
    let (_, applied) = rolling_out("us", 0);
    let numbers: Vec<u32> = applied.to_prefetch.iter().map(|v| v.number).collect();
    assert!(numbers.contains(&3), "{numbers:?}");
    let mut state = ServingState::for_region("ap");
    state.apply(&snapshot(5));
    state.apply(&changes(
        6,
        vec![Change::VersionCompleted(completed(
            "p1", "level-1", 3, LAZY,
        ))],
    ));
    // A plan that never names ap (as an edge may see mid-way) does not prefetch there.
    let applied = state.apply(&changes(
        7,
        vec![Change::Rollout(rollout(
            &[(&["eu"], 30), (&["eu", "us"], 100)],
            0,
            pb::RolloutState::Running,
        ))],
    ));
    assert!(applied.to_prefetch.is_empty());
}

#[test]
fn a_first_release_lists_the_pack_only_for_the_devices_it_reaches() {
    let mut state = ServingState::for_region("eu");
    state.apply(&snapshot(5));
    let mut first = rollout(PLAN, 0, pb::RolloutState::Running);
    first.pack_id = "p2".into();
    first.from_version = 0;
    first.to_version = 1;
    state.apply(&changes(
        6,
        vec![
            Change::VersionCompleted(completed("p2", "level-2", 1, LAZY)),
            Change::Rollout(first),
        ],
    ));
    let reached = (0..200)
        .map(|i| format!("d{i}"))
        .find(|d| packyard_core::rollout::bucket("app1", "p2", d) < 3_000)
        .unwrap();
    let missed = (0..200)
        .map(|i| format!("d{i}"))
        .find(|d| packyard_core::rollout::bucket("app1", "p2", d) >= 3_000)
        .unwrap();
    assert_eq!(
        state
            .device_versions("app1", Channel::Store, Some(&reached))
            .len(),
        2
    );
    assert_eq!(
        state
            .device_versions("app1", Channel::Store, Some(&missed))
            .len(),
        1
    );
    assert!(
        state
            .channel_version("app1", Channel::Store, "level-2", Some(&missed))
            .is_none()
    );
}

#[test]
fn a_snapshot_keeps_the_region() {
    let (mut state, _) = rolling_out("eu", 0);
    state.apply(&snapshot(20));
    assert_eq!(state.region(), "eu");
    assert!(
        state.rollout("p1").is_none(),
        "the new snapshot has no rollout"
    );
}
