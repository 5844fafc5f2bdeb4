//! The watch stream over real gRPC on 127.0.0.1: a snapshot for a new watcher, each log
//! entry's changes exactly once, heartbeats when quiet, and an exact resume after a
//! disconnect.

// Test helpers outside `#[test]` functions: a failed setup step should fail the test at once.
#![allow(clippy::unwrap_used)]

mod api_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use api_support::Server;
use packyard_control_plane::watch::{CutOff, WatchService};
use packyard_net::cluster::NodeRole;
use packyard_net::cluster::test_support::{TestPki, listen};
use packyard_proto::catalog::v1::catalog_watch_client::CatalogWatchClient;
use packyard_proto::catalog::v1::{self as pb, change::Change, watch_event::Body};
use tonic::Streaming;

/// The API server plus its watch stream on a second port; returns a connected client.
async fn start() -> (Server, CatalogWatchClient<tonic::transport::Channel>) {
    start_with(packyard_control_plane::watch::never_cut_off()).await
}

/// [`start`], the node's standing told by `cut_off`.
async fn start_with(cut_off: CutOff) -> (Server, CatalogWatchClient<tonic::transport::Channel>) {
    let s = Server::start().await;
    let service = WatchService::new(s.store.clone(), s.store.feed(), Duration::from_millis(200))
        .with_cut_off(cut_off);
    let pki = TestPki::new();
    let (addr, incoming) = listen(pki.node(NodeRole::Control, "1")).await;
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service.into_server())
            .serve_with_incoming(incoming),
    );
    let channel = pki
        .node(NodeRole::Edge, "test-edge")
        .channel(&addr, NodeRole::Control)
        .unwrap();
    (s, CatalogWatchClient::new(channel))
}

async fn watch(
    client: &mut CatalogWatchClient<tonic::transport::Channel>,
    from: u64,
) -> Streaming<pb::WatchEvent> {
    let request = pb::WatchRequest {
        from_index: from,
        watcher_id: "test-edge".into(),
    };
    client.watch(request).await.unwrap().into_inner()
}

/// The next event that is not a heartbeat.
async fn next_news(stream: &mut Streaming<pb::WatchEvent>) -> pb::WatchEvent {
    loop {
        let e = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .expect("the stream stays open");
        if !matches!(e.body, Some(Body::Heartbeat(_))) {
            return e;
        }
    }
}

fn items(e: &pb::WatchEvent) -> Vec<&Change> {
    match &e.body {
        Some(Body::Changes(c)) => c.items.iter().filter_map(|c| c.change.as_ref()).collect(),
        other => panic!("expected changes, got {other:?}"),
    }
}

#[tokio::test]
async fn a_new_watcher_gets_a_snapshot_then_each_entry_once_and_resumes_exactly() {
    let (s, mut client) = start().await;
    let app = s.app("com.example.watch").await;
    let pack = s.pack(&app, &s.admin, "level-2").await.1["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut stream = watch(&mut client, 0).await;
    let first = next_news(&mut stream).await;
    let Some(Body::Snapshot(snapshot)) = &first.body else {
        panic!("{first:?}")
    };
    assert_eq!(snapshot.apps.len(), 1);
    assert_eq!(snapshot.apps[0].app_id, app);
    assert!(snapshot.versions.is_empty());

    s.complete_version(&pack, &s.admin, 1_000).await;
    // First the commit of the upload: origins learn the version awaits processing.
    let e = next_news(&mut stream).await;
    assert!(e.index > first.index);
    let got = items(&e);
    assert!(
        matches!(&got[..], [Change::VersionProcessing(p)] if p.files.len() == 1 && p.files[0].size == 1_000),
        "{got:?}"
    );
    // Then the origin's report: the version is complete and internal testers get it.
    let e = next_news(&mut stream).await;
    let got = items(&e);
    assert!(
        matches!(got[0], Change::VersionCompleted(v) if v.version == 1 && v.size == 1_000),
        "{got:?}"
    );
    assert!(
        matches!(got[1], Change::ChannelUpdated(c) if c.version == 1 && c.channel == pb::Channel::Internal as i32),
        "{got:?}"
    );
    assert_eq!(got.len(), 2);
    let handled = e.index;

    // A quiet stream says so.
    let beat = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(beat.body, Some(Body::Heartbeat(_))), "{beat:?}");
    assert!(beat.index >= handled);
    drop(stream);

    // While disconnected, two more versions complete.
    s.complete_version(&pack, &s.admin, 2_000).await;
    s.complete_version(&pack, &s.admin, 3_000).await;
    let mut stream = watch(&mut client, handled + 1).await;
    let mut numbers = Vec::new();
    let mut processing = 0;
    while numbers.len() < 2 {
        let e = next_news(&mut stream).await;
        for c in items(&e) {
            match c {
                Change::VersionCompleted(v) => numbers.push(v.version),
                Change::VersionProcessing(_) => processing += 1,
                _ => {}
            }
        }
    }
    assert_eq!(processing, 2);
    assert_eq!(numbers, [2, 3], "each missed version once, in order");
}

#[tokio::test]
async fn archiving_reaches_watchers_and_a_late_snapshot_leaves_the_pack_out() {
    let (s, mut client) = start().await;
    let app = s.app("com.example.archive-watch").await;
    let pack = s.pack(&app, &s.admin, "old-pack").await.1["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.complete_version(&pack, &s.admin, 10).await;
    let mut stream = watch(&mut client, 0).await;
    let Some(Body::Snapshot(snapshot)) = next_news(&mut stream).await.body else {
        panic!()
    };
    assert_eq!(snapshot.versions.len(), 1);
    assert_eq!(snapshot.channels.len(), 1);

    let (status, v) = s
        .patch(
            &format!("/v1/backgroundAssets/{pack}"),
            &s.admin,
            serde_json::json!({"data": {"type": "backgroundAssets", "id": pack, "attributes": {"archived": true}}}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let e = next_news(&mut stream).await;
    assert!(
        matches!(items(&e)[..], [Change::PackArchived(a)] if a.pack_id == pack),
        "{e:?}"
    );

    let mut late = watch(&mut client, 0).await;
    let Some(Body::Snapshot(snapshot)) = next_news(&mut late).await.body else {
        panic!()
    };
    assert!(snapshot.versions.is_empty() && snapshot.channels.is_empty());
    assert_eq!(snapshot.archived_pack_ids, [pack]);
}

#[tokio::test]
async fn each_rollout_step_reaches_watchers_and_a_late_snapshot_carries_the_active_rollout() {
    use packyard_control_plane::CatalogStore;
    use packyard_core::catalog::{Actor, Command, EdgeId, Envelope, RegisterEdge, Timestamp};
    use serde_json::json;

    let (s, mut client) = start().await;
    let app = s.app("com.example.rollout-watch").await;
    let reviewer = s.member(&app, "REVIEWER", "rev@example.com").await;
    let register = Command::RegisterEdge(RegisterEdge {
        id: EdgeId::from("eu-1"),
        region: "eu".into(),
        public_urls: vec!["http://eu-1.example.com".into()],
        capacity_bytes: 1 << 20,
    });
    let envelope = Envelope {
        actor: Actor::System,
        at: Timestamp(1),
        command: register,
        key: None,
    };
    s.store.write(envelope).await.unwrap().unwrap();
    let pack = s.pack(&app, &s.admin, "level-2").await.1["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let version = s.complete_version(&pack, &s.admin, 100).await;
    let (_, sub) = s.submit(&version, &s.admin, "APP_STORE").await;
    let sub = sub["data"]["id"].as_str().unwrap().to_owned();
    for state in ["IN_REVIEW", "ACCEPTED"] {
        s.review(&sub, &reviewer, json!({"state": state})).await;
    }
    let mut stream = watch(&mut client, 0).await;
    let first = next_news(&mut stream).await;
    assert!(matches!(first.body, Some(Body::Snapshot(_))));

    let (status, v) = s
        .post(
            "/v1/rollouts",
            &s.admin,
            json!({"data": {"type": "rollouts",
                "attributes": {"stages": [{"regions": ["eu"], "percentage": 25},
                                          {"regions": ["*"], "percentage": 100}]},
                "relationships": {"backgroundAssetVersion": {
                    "data": {"type": "backgroundAssetVersions", "id": version}}}}}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let rollout = v["data"]["id"].as_str().unwrap().to_owned();
    let e = next_news(&mut stream).await;
    let got = items(&e);
    let [Change::Rollout(r)] = &got[..] else {
        panic!("{got:?}")
    };
    assert_eq!(
        (r.rollout_id.as_str(), r.pack_id.as_str()),
        (rollout.as_str(), pack.as_str())
    );
    assert_eq!((r.from_version, r.to_version, r.current_stage), (0, 1, 0));
    assert_eq!(r.state, pb::RolloutState::Running as i32);
    assert_eq!(r.stages[0].regions, ["eu"]);
    assert_eq!(r.stages[0].percent, 25);
    assert_eq!(r.stages[1].regions, ["*"]);

    // A watcher starting now gets the active rollout in its snapshot.
    let mut late = watch(&mut client, 0).await;
    let Some(Body::Snapshot(snapshot)) = next_news(&mut late).await.body else {
        panic!()
    };
    assert_eq!(snapshot.rollouts.len(), 1);
    assert_eq!(snapshot.rollouts[0].rollout_id, rollout);

    // The last stage completes it: the store channel moves and the rollout ends, in one entry.
    let (status, v) = s
        .patch(
            &format!("/v1/rollouts/{rollout}"),
            &s.admin,
            json!({"data": {"type": "rollouts", "id": rollout, "attributes": {"action": "ADVANCE"}}}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let e = next_news(&mut stream).await;
    let got = items(&e);
    assert!(
        matches!(&got[..], [Change::ChannelUpdated(c), Change::Rollout(r)]
            if c.channel == pb::Channel::Store as i32 && c.version == 1
                && r.state == pb::RolloutState::Completed as i32),
        "{got:?}"
    );
}

#[tokio::test]
async fn a_node_cut_off_from_the_majority_ends_its_streams_and_refuses_new_watchers() {
    let cut = Arc::new(AtomicBool::new(false));
    let standing = Arc::clone(&cut);
    let (_s, mut client) = start_with(Arc::new(move || {
        let why = standing
            .load(Ordering::SeqCst)
            .then(|| "this node knows no leader".to_owned());
        Box::pin(async move { why })
    }))
    .await;
    let mut stream = watch(&mut client, 0).await;
    assert!(matches!(
        next_news(&mut stream).await.body,
        Some(Body::Snapshot(_))
    ));

    cut.store(true, Ordering::SeqCst);
    // The open stream ends at its next heartbeat, saying why and where to go.
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("the stream ends within 10 s")
        {
            Ok(Some(e)) => assert!(matches!(e.body, Some(Body::Heartbeat(_))), "{e:?}"),
            Ok(None) => panic!("the stream ended without saying why"),
            Err(status) => break status,
        }
    };
    assert_eq!(ended.code(), tonic::Code::Unavailable);
    assert!(ended.message().contains("knows no leader"), "{ended:?}");
    assert!(
        ended.message().contains("another control-plane member"),
        "{ended:?}"
    );
    let request = pb::WatchRequest {
        from_index: 0,
        watcher_id: "test-edge".into(),
    };
    let refused = client.watch(request.clone()).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable);

    cut.store(false, Ordering::SeqCst);
    let mut back = client.watch(request).await.unwrap().into_inner();
    assert!(matches!(
        next_news(&mut back).await.body,
        Some(Body::Snapshot(_))
    ));
}
