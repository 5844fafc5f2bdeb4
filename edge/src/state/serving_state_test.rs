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
        download_policy_json: policy.into(),
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
        .channel_version("app1", Channel::Store, "level-1")
        .unwrap();
    assert_eq!(store.number, 1);
    assert!(state.is_public(&store));
    let internal = state
        .channel_version("app1", Channel::Internal, "level-1")
        .unwrap();
    assert_eq!(internal.number, 2);
    assert!(!state.is_public(&internal));
    assert!(
        state
            .channel_version("app1", Channel::External, "level-1")
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
            .channel_version("app1", Channel::Internal, "level-1")
            .unwrap()
            .number,
        3
    );
    assert!(
        state
            .channel_version("app1", Channel::Store, "level-1")
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
            .channel_version("app1", Channel::Store, "level-1")
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
