//! Edge leases: an edge is UP in the admin API while its last registration or heartbeat is
//! at most one lease old by the node's clock, and DOWN a millisecond later. The edge registry
//! and the admin API are called in-process (no socket), on the same clock.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use metrics_exporter_prometheus::PrometheusBuilder;
use packyard_control_plane::ControlMetrics;
use packyard_control_plane::api::{ApiConfig, router};
use packyard_control_plane::edge_registry::EdgeRegistryService;
use packyard_net::cluster::{Caller, Identity, NodeRole};
use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::edge_registry_server::EdgeRegistry;
use serde_json::Value;
use tower::ServiceExt as _;

use crate::fixture::World;

/// The lease, as on a node by default.
const LEASE_MS: u32 = 30_000;

/// A gRPC request as the edge `edge` makes it, admitted as that edge.
fn as_edge<T>(edge: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.extensions_mut().insert(Caller(Identity {
        role: NodeRole::Edge,
        id: edge.into(),
    }));
    request
}

struct Fleet {
    w: World,
    registry: EdgeRegistryService<packyard_control_plane::MemoryStore>,
    api: axum::Router,
}

impl Fleet {
    async fn new() -> Self {
        let w = World::new().await;
        let registry =
            EdgeRegistryService::new(w.store.clone(), w.store.feed(), LEASE_MS).with_clock(w.clock);
        let config = ApiConfig {
            edge_lease_ms: LEASE_MS,
            clock: w.clock,
            ..ApiConfig::new("http://origin.test:9000")
        };
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let metrics = ControlMetrics::new(Arc::new(recorder), Arc::new(move || handle.render()));
        let api = router(w.store.clone(), w.store.feed(), config, metrics);
        Self { w, registry, api }
    }

    async fn register(&self, edge: &str) {
        let request = pb::RegisterEdgeRequest {
            edge_id: edge.into(),
            region: "eu-west-1".into(),
            public_urls: vec![format!("https://{edge}.example.com")],
            cache_capacity_bytes: 1 << 30,
        };
        self.registry
            .register(as_edge(edge, request))
            .await
            .unwrap();
    }

    async fn heartbeat(&self, edge: &str) {
        let request = pb::HeartbeatRequest {
            edge_id: edge.into(),
            applied_index: 0,
            cached_bytes: 0,
            ..pb::HeartbeatRequest::default()
        };
        self.registry
            .heartbeat(as_edge(edge, request))
            .await
            .unwrap();
    }

    /// What `GET /v1/edges/{edge}` says of its state.
    async fn state(&self, edge: &str) -> String {
        let request = Request::get(format!("/v1/edges/{edge}"))
            .header("authorization", format!("Bearer {}", self.w.key))
            .body(Body::empty())
            .unwrap();
        let response = self.api.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let doc: Value = serde_json::from_slice(&body).unwrap();
        doc["data"]["attributes"]["state"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

#[tokio::test(start_paused = true)]
async fn an_edge_is_up_until_exactly_one_lease_after_its_last_sign_of_life_and_down_a_millisecond_later()
 {
    let lease = Duration::from_millis(u64::from(LEASE_MS));
    let one_ms = Duration::from_millis(1);
    let f = Fleet::new().await;
    f.register("e1").await;
    assert_eq!(f.state("e1").await, "UP");

    // Its registration is its sign of life until its first heartbeat.
    tokio::time::advance(lease).await;
    assert_eq!(f.state("e1").await, "UP");
    tokio::time::advance(one_ms).await;
    assert_eq!(f.state("e1").await, "DOWN");

    // A heartbeat brings it back, for one lease from the heartbeat.
    f.heartbeat("e1").await;
    assert_eq!(f.state("e1").await, "UP");
    tokio::time::advance(lease).await;
    assert_eq!(f.state("e1").await, "UP");
    tokio::time::advance(one_ms).await;
    assert_eq!(f.state("e1").await, "DOWN");
    assert_eq!(f.w.elapsed(), 2 * (lease + one_ms));
}
