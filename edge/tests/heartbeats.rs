//! The edge's registration and heartbeats on paused Tokio time, against an edge registry of
//! the test's own served by tonic over an in-memory connection: no socket is opened and
//! nothing waits in real time, so each call's time is exact.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use packyard_catalog_client::{CatalogClient, Stop};
use packyard_edge::served::ServedCounter;
use packyard_edge::state::ServingState;
use packyard_edge::sync::{Registration, RegistrationInfo, TokenKeys};
use packyard_net::cluster::{Members, NodeRole};
use packyard_proto::catalog::v1 as pb;
use pb::edge_registry_server::{EdgeRegistry, EdgeRegistryServer};
use support::MemorySource;
use tokio::time::Instant;
use tonic::transport::{Endpoint, Server, Uri};
use tonic::{Request, Response, Status};

/// What the registry answers, and every call it took with its time since `start`.
struct Script {
    start: Instant,
    /// The lease each heartbeat reply names, in order; the last one repeats.
    leases_ms: Vec<u32>,
    /// The heartbeat (counted from 1) answered NOT_FOUND: the registry forgot the edge.
    forget_at: Option<usize>,
    /// Registrations refused UNAVAILABLE before one is taken.
    refuse: usize,
    calls: Vec<(&'static str, Duration)>,
    heartbeats: usize,
}

#[derive(Clone)]
struct Registry(Arc<Mutex<Script>>);

impl Registry {
    fn calls(&self) -> Vec<(&'static str, Duration)> {
        self.0.lock().unwrap().calls.clone()
    }
}

#[tonic::async_trait]
impl EdgeRegistry for Registry {
    async fn register(
        &self,
        _: Request<pb::RegisterEdgeRequest>,
    ) -> Result<Response<pb::RegisterEdgeReply>, Status> {
        let mut s = self.0.lock().unwrap();
        let at = s.start.elapsed();
        s.calls.push(("register", at));
        if s.refuse > 0 {
            s.refuse -= 1;
            return Err(Status::unavailable("no leader yet"));
        }
        Ok(Response::new(pb::RegisterEdgeReply {
            lease_ms: 30_000,
            catalog_index: 0,
            tester_token_keys: packyard_core::tester_token::TokenVerifier::new(&[
                packyard_core::tester_token::TokenSigner::from_seed(1, &[7; 32]).public_key(),
            ])
            .to_bytes(),
            tester_token_generation: 1,
        }))
    }

    async fn heartbeat(
        &self,
        _: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatReply>, Status> {
        let mut s = self.0.lock().unwrap();
        let at = s.start.elapsed();
        s.calls.push(("heartbeat", at));
        s.heartbeats += 1;
        if s.forget_at == Some(s.heartbeats) {
            return Err(Status::not_found("no such edge"));
        }
        let lease_ms = s
            .leases_ms
            .get(s.heartbeats - 1)
            .or(s.leases_ms.last())
            .copied()
            .unwrap_or(30_000);
        Ok(Response::new(pb::HeartbeatReply { lease_ms }))
    }

    async fn token_secret(
        &self,
        _: Request<pb::TokenSecretRequest>,
    ) -> Result<Response<pb::TokenSecretReply>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

/// Starts the edge's registration against a registry answering as `leases_ms`, `forget_at`
/// and `refuse` say, over one in-memory connection.
async fn start(leases_ms: Vec<u32>, forget_at: Option<usize>, refuse: usize) -> (Registry, Stop) {
    let registry = Registry(Arc::new(Mutex::new(Script {
        start: Instant::now(),
        leases_ms,
        forget_at,
        refuse,
        calls: Vec::new(),
        heartbeats: 0,
    })));
    let (client_io, server_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(
        Server::builder()
            .add_service(EdgeRegistryServer::new(registry.clone()))
            .serve_with_incoming(tokio_stream::once(Ok::<_, std::io::Error>(server_io))),
    );
    let mut client_io = Some(client_io);
    let channel = Endpoint::try_from("http://registry.test")
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let io = client_io.take();
            async move {
                io.map(TokioIo::new)
                    .ok_or_else(|| std::io::Error::other("the one connection is in use"))
            }
        }))
        .await
        .unwrap();
    let members = Members::from_channels(NodeRole::Control, vec![("registry".into(), channel)]);
    let registration = Registration {
        client: CatalogClient::from_members(members),
        info: RegistrationInfo {
            edge_id: "eu-1".into(),
            region: "eu".into(),
            public_urls: vec!["https://eu-1.test".into()],
            cache_capacity_bytes: 16 << 20,
        },
        secret: TokenKeys::new(),
        state: Arc::new(RwLock::new(ServingState::new())),
        chunks: support::memory_chunks(MemorySource::with(&[])),
        served: ServedCounter::new(),
        saved: None,
    };
    let stop = Stop::new();
    tokio::spawn(registration.run(stop.clone()));
    (registry, stop)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[tokio::test(start_paused = true)]
async fn an_edge_heartbeats_every_third_of_its_lease_and_follows_the_lease_each_reply_names() {
    // Leased 30 s at registration and by the first heartbeat, 9 s from the second on.
    let (registry, stop) = start(vec![30_000, 9_000], None, 0).await;
    tokio::time::sleep(Duration::from_millis(26_500)).await;
    stop.stop();
    assert_eq!(
        registry.calls(),
        [
            ("register", secs(0)),
            ("heartbeat", secs(10)),
            ("heartbeat", secs(20)),
            ("heartbeat", secs(23)),
            ("heartbeat", secs(26)),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_edge_the_registry_forgot_registers_again_at_once_and_heartbeats_from_there() {
    let (registry, stop) = start(vec![30_000], Some(2), 0).await;
    tokio::time::sleep(Duration::from_millis(40_500)).await;
    stop.stop();
    assert_eq!(
        registry.calls(),
        [
            ("register", secs(0)),
            ("heartbeat", secs(10)),
            ("heartbeat", secs(20)),
            ("register", secs(20)),
            ("heartbeat", secs(30)),
            ("heartbeat", secs(40)),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_registration_is_retried_on_the_shared_backoff_then_heartbeats_begin() {
    let (registry, stop) = start(vec![30_000], None, 3).await;
    tokio::time::sleep(secs(15)).await;
    stop.stop();
    let calls = registry.calls();
    let names: Vec<&str> = calls.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        ["register", "register", "register", "register", "heartbeat"],
        "{calls:?}"
    );
    // 200 ms doubling, each delay plus up to as much again of jitter.
    let mut nominal = Duration::from_millis(200);
    for pair in calls[..4].windows(2) {
        let gap = pair[1].1 - pair[0].1;
        assert!(
            gap >= nominal && gap <= nominal * 2,
            "a retry {gap:?} after the last, for a nominal {nominal:?}: {calls:?}"
        );
        nominal *= 2;
    }
    assert_eq!(calls[4].1 - calls[3].1, secs(10), "{calls:?}");
}
