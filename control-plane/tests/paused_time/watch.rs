//! Watch-stream heartbeats: a quiet stream says it is alive exactly once per heartbeat
//! period, and every entry sent starts the quiet period over. The service is called
//! in-process; its stream is read as a client would read it.

use std::time::Duration;

use packyard_control_plane::watch::WatchService;
use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::catalog_watch_server::CatalogWatch;
use packyard_proto::catalog::v1::watch_event::Body;
use tokio::time::Instant;
use tokio_stream::StreamExt as _;

use crate::fixture::World;

/// As on a node.
const HEARTBEAT: Duration = Duration::from_secs(5);

fn kind(event: &pb::WatchEvent) -> &'static str {
    match event.body {
        Some(Body::Heartbeat(_)) => "heartbeat",
        Some(Body::Snapshot(_)) => "snapshot",
        Some(_) => "changes",
        None => "nothing",
    }
}

#[tokio::test(start_paused = true)]
async fn a_quiet_watch_stream_heartbeats_every_5_seconds_counted_from_the_last_event_it_sent() {
    let mut w = World::new().await;
    let pack = w.pack("level-2").await;
    let version = w.version(&pack).await;
    let file = w.reserve(&version).await;
    let service = WatchService::new(w.store.clone(), w.store.feed(), HEARTBEAT);
    let request = tonic::Request::new(pb::WatchRequest {
        from_index: 0,
        ..pb::WatchRequest::default()
    });
    let mut stream = service.watch(request).await.unwrap().into_inner();
    let started = Instant::now();
    let mut next = async || {
        let event = stream.next().await.unwrap().unwrap();
        (kind(&event), started.elapsed(), event.index)
    };
    let index = w.store.feed().last_index();
    assert_eq!(next().await, ("snapshot", Duration::ZERO, index));

    // Nothing happens: one heartbeat per period, at the index the node has applied.
    assert_eq!(next().await, ("heartbeat", HEARTBEAT, index));
    assert_eq!(next().await, ("heartbeat", 2 * HEARTBEAT, index));

    // An entry (the upload committed: the version is PROCESSING) two seconds later is sent
    // at once, and the next heartbeat is a full period
    // after it, not at the old rhythm.
    tokio::time::advance(Duration::from_secs(2)).await;
    w.commit(&file).await;
    let sent = 2 * HEARTBEAT + Duration::from_secs(2);
    assert_eq!(next().await, ("changes", sent, index + 1));
    assert_eq!(next().await, ("heartbeat", sent + HEARTBEAT, index + 1));
}
