//! Edges register and heartbeat over gRPC: the reply carries the lease, the catalog index
//! and the tester token secret; operators see the fleet by region, UP or DOWN by the lease;
//! bad requests are refused naming what is wrong.

// Test helpers outside `#[test]` functions: a failed setup step should fail the test at once.
#![allow(clippy::unwrap_used)]

mod api_support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api_support::{Server, error, id};
use packyard_control_plane::api::ApiConfig;
use packyard_control_plane::edge_registry::EdgeRegistryService;
use packyard_core::catalog::Catalog;
use packyard_core::quota::QuotaLimits;
use packyard_core::tester_token::{BetaChannel, TokenVerifier};
use packyard_net::cluster::NodeRole;
use packyard_net::cluster::test_support::{TestPki, listen};
use packyard_net::eventually::eventually;
use packyard_proto::catalog::v1::edge_registry_client::EdgeRegistryClient;
use packyard_proto::catalog::v1::{self as pb};
use serde_json::{Value, json};
use tonic::Code;
use tonic::transport::Channel;

/// The registry's address, and a CA to make each edge's certificate with.
struct Edges {
    pki: TestPki,
    addr: String,
}

impl Edges {
    /// A client presenting the certificate of edge `id`.
    fn client(&self, id: &str) -> EdgeRegistryClient<Channel> {
        let channel = self
            .pki
            .node(NodeRole::Edge, id)
            .channel(&self.addr, NodeRole::Control)
            .unwrap();
        EdgeRegistryClient::new(channel)
    }

    /// Registers as the edge the request names.
    async fn register(
        &mut self,
        request: pb::RegisterEdgeRequest,
    ) -> Result<tonic::Response<pb::RegisterEdgeReply>, tonic::Status> {
        self.client(&request.edge_id).register(request).await
    }

    /// Heartbeats as the edge the request names.
    async fn heartbeat(
        &mut self,
        request: pb::HeartbeatRequest,
    ) -> Result<tonic::Response<pb::HeartbeatReply>, tonic::Status> {
        self.client(&request.edge_id).heartbeat(request).await
    }
}

async fn start(lease_ms: u32) -> (Server, Edges) {
    let config = ApiConfig {
        edge_lease_ms: lease_ms,
        ..ApiConfig::new("http://origin.test:9000")
    };
    let s = Server::start_configured(Catalog::new(QuotaLimits::default()), config).await;
    let pki = TestPki::new();
    let (addr, incoming) = listen(pki.node(NodeRole::Control, "1")).await;
    let service = EdgeRegistryService::new(s.store.clone(), s.store.feed(), lease_ms);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service.into_server())
            .serve_with_incoming(incoming),
    );
    (s, Edges { pki, addr })
}

fn registration(id: &str, region: &str, urls: &[&str]) -> pb::RegisterEdgeRequest {
    pb::RegisterEdgeRequest {
        edge_id: id.into(),
        region: region.into(),
        public_urls: urls.iter().map(|u| (*u).to_owned()).collect(),
        cache_capacity_bytes: 1 << 30,
    }
}

fn heartbeat(id: &str, applied_index: u64, ready: &[(&str, u32)]) -> pb::HeartbeatRequest {
    let refs: Vec<pb::VersionRef> = ready
        .iter()
        .map(|(pack, version)| pb::VersionRef {
            pack_id: (*pack).into(),
            version: *version,
        })
        .collect();
    pb::HeartbeatRequest {
        edge_id: id.into(),
        applied_index,
        cached_bytes: 4_096,
        served: refs
            .iter()
            .map(|r| pb::VersionServed {
                version: Some(r.clone()),
                devices: 3,
                requests: 5,
            })
            .collect(),
        ready: refs,
    }
}

/// The edge with `id` in a `GET /v1/edges` listing.
fn listed<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("edge {id} is not listed: {doc}"))
}

#[tokio::test]
async fn edges_register_heartbeat_and_show_up_or_down_by_region() {
    let lease_ms = 400;
    let (s, mut edges) = start(lease_ms).await;
    let app = s.app("com.example.edges").await;
    let (_, pack) = s.pack(&app, &s.admin, "level-2").await;
    let pack = id(&pack);
    s.complete_version(&pack, &s.admin, 10).await;

    let a = edges
        .register(registration(
            "edge-a",
            "eu-west-1",
            &["https://a.example.com"],
        ))
        .await
        .unwrap()
        .into_inner();
    let b = edges
        .register(registration(
            "edge-b",
            "us-east-1",
            &["http://10.0.0.2:8080"],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.lease_ms, lease_ms);
    assert_eq!(
        b.catalog_index,
        a.catalog_index + 1,
        "each registration is one entry"
    );
    assert_eq!(b.catalog_index, s.store.feed().last_index());

    // The public keys in the reply check a token minted through the admin API, offline, and
    // nothing in them signs: they are exactly the public keys the catalog holds.
    let (st, v) = s
        .post(
            "/v1/testerTokens",
            &s.admin,
            json!({"data": {"type": "testerTokens", "attributes": {"channel": "INTERNAL"},
                "relationships": {"app": {"data": {"type": "apps", "id": app}}}}}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let token = v["data"]["attributes"]["token"].as_str().unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let keys = TokenVerifier::from_bytes(&a.tester_token_keys).unwrap();
    assert!(keys.verify(token, &app, BetaChannel::Internal, now).is_ok());
    assert_eq!(a.tester_token_keys, b.tester_token_keys);
    assert_eq!(
        a.tester_token_keys.len(),
        40,
        "one generation and one 32-byte public key"
    );
    let signer = packyard_control_plane::CatalogStore::read(&s.store, |c| c.tester_token_signer())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(keys.keys(), [signer.public_key()]);

    // Once both leases have run out (edge-b registered last, so its lease ends last), only
    // edge-a says it is alive. The exact lease boundaries are checked on paused time
    // (tests/paused_time/edges.rs); here the fleet is watched until it shows them.
    let doc = eventually("both leases run out", Duration::from_secs(20), async || {
        let (st, doc) = s.get("/v1/edges", &s.admin).await;
        assert_eq!(st, 200, "{doc}");
        if listed(&doc, "edge-b")["attributes"]["state"] == "DOWN" {
            Ok(doc)
        } else {
            Err(doc)
        }
    })
    .await;
    assert_eq!(
        listed(&doc, "edge-a")["attributes"]["state"],
        "DOWN",
        "{doc}"
    );
    let reply = edges
        .heartbeat(heartbeat("edge-a", b.catalog_index, &[(&pack, 1)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.lease_ms, lease_ms);

    let (st, doc) = s.get("/v1/edges", &s.admin).await;
    assert_eq!(st, 200, "{doc}");
    let ea = listed(&doc, "edge-a");
    assert_eq!(ea["type"], "edges");
    let attrs = &ea["attributes"];
    assert_eq!(attrs["state"], "UP", "{ea}");
    assert_eq!(attrs["region"], "eu-west-1");
    assert_eq!(attrs["publicUrls"], json!(["https://a.example.com"]));
    assert_eq!(attrs["capacityBytes"], 1u64 << 30);
    assert_eq!(attrs["cachedBytes"], 4_096);
    assert_eq!(attrs["appliedIndex"], b.catalog_index);
    // Applied after the index it reported: the tester token issued (tokens are recorded in
    // the log) and edge-a's own heartbeat.
    assert_eq!(attrs["lagEntries"], 2);
    assert_eq!(
        attrs["readyVersions"],
        json!([{"backgroundAsset": pack, "version": 1}])
    );
    assert_eq!(
        attrs["servedDevices"],
        json!([{"backgroundAsset": pack, "version": 1, "devices": 3, "requests": 5}])
    );
    assert!(attrs["lastHeartbeatDate"].as_str().unwrap().ends_with('Z'));
    assert!(attrs["registeredDate"].as_str().unwrap().ends_with('Z'));
    let eb = listed(&doc, "edge-b");
    assert_eq!(eb["attributes"]["state"], "DOWN", "{eb}");
    assert_eq!(eb["attributes"]["lastHeartbeatDate"], Value::Null);

    let (st, one) = s.get("/v1/edges/edge-b", &s.admin).await;
    assert_eq!(st, 200, "{one}");
    assert_eq!(one["data"]["attributes"]["region"], "us-east-1");
    let (st, missing) = s.get("/v1/edges/edge-z", &s.admin).await;
    assert_eq!(st, 404, "{missing}");

    let (st, regions) = s.get("/v1/regions", &s.admin).await;
    assert_eq!(st, 200, "{regions}");
    let names: Vec<&Value> = regions["data"].as_array().unwrap().iter().collect();
    assert_eq!(names.len(), 2, "{regions}");
    assert_eq!(names[0]["id"], "eu-west-1");
    assert_eq!(names[0]["attributes"]["upCount"], 1);
    assert_eq!(names[0]["attributes"]["downCount"], 0);
    assert_eq!(
        names[0]["relationships"]["edges"]["data"],
        json!([{"type": "edges", "id": "edge-a"}])
    );
    assert_eq!(names[1]["id"], "us-east-1");
    assert_eq!(names[1]["attributes"]["upCount"], 0);
    assert_eq!(names[1]["attributes"]["downCount"], 1);

    // An edge that moves says so by registering again.
    edges
        .register(registration(
            "edge-b",
            "eu-west-1",
            &["http://10.0.0.2:8080"],
        ))
        .await
        .unwrap();
    let (_, regions) = s.get("/v1/regions", &s.admin).await;
    assert_eq!(regions["data"].as_array().unwrap().len(), 1, "{regions}");
    assert_eq!(regions["data"][0]["attributes"]["upCount"], 2);
}

#[tokio::test]
async fn only_operators_see_the_fleet() {
    let (s, _) = start(30_000).await;
    let app = s.app("com.example.fleet").await;
    let holder = s.member(&app, "ACCOUNT_HOLDER", "holder@example.com").await;
    for path in ["/v1/edges", "/v1/edges/edge-a", "/v1/regions"] {
        let (st, doc) = s.get(path, &holder).await;
        assert_eq!(st, 403, "{path}: {doc}");
        let detail = error(&doc)["detail"].as_str().unwrap();
        assert!(
            detail.contains("only an operator may see the edge fleet"),
            "{detail}"
        );
    }
    let (st, doc) = s.get("/v1/edges", &s.admin).await;
    assert_eq!(st, 200);
    assert_eq!(doc["data"], json!([]));
    let (st, doc) = s
        .raw(
            reqwest::Method::POST,
            "/v1/edges",
            Some(&s.admin),
            Vec::new(),
        )
        .await;
    assert_eq!(st, 405, "{doc}");
}

#[tokio::test]
async fn bad_registrations_and_heartbeats_are_refused_naming_the_problem() {
    let (s, mut edges) = start(30_000).await;
    let cases = [
        (
            registration("e", "EU_west", &["https://e.example.com"]),
            "region: \"EU_west\" contains 'E'; a region name is 1 to 63 characters of a-z",
        ),
        (
            registration("e", "-eu", &["https://e.example.com"]),
            "region",
        ),
        (registration("e", "eu", &[]), "public_urls: is empty"),
        (
            registration("e", "eu", &["https://e.example.com", "ftp://e.example.com"]),
            "public_urls[1]: must start with http:// or https://",
        ),
    ];
    for (request, said) in cases {
        let status = edges.register(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().contains(said),
            "{said}: {}",
            status.message()
        );
    }

    let status = edges
        .heartbeat(heartbeat("edge-a", 1, &[]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(
        status.message().contains("must call EdgeRegistry.Register"),
        "{}",
        status.message()
    );

    edges
        .register(registration("edge-a", "eu", &["https://a.example.com"]))
        .await
        .unwrap();
    let bad_heartbeats = [
        (
            heartbeat("edge-a", 1, &[("p1", 0)]),
            "ready[0].version: is 0",
        ),
        (
            heartbeat("edge-a", 1, &[("", 1)]),
            "ready[0].pack_id: is empty",
        ),
        (
            heartbeat("edge-a", 1, &[("p1", 1), ("p1", 1)]),
            "served[1]: repeats",
        ),
    ];
    for (request, said) in bad_heartbeats {
        let status = edges.heartbeat(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().contains(said),
            "{said}: {}",
            status.message()
        );
    }
    let (_, doc) = s.get("/v1/edges", &s.admin).await;
    assert_eq!(
        doc["data"].as_array().unwrap().len(),
        1,
        "only edge-a: {doc}"
    );
    assert_eq!(
        doc["data"][0]["attributes"]["lastHeartbeatDate"],
        Value::Null
    );
}

#[tokio::test]
async fn an_edge_registers_and_heartbeats_only_as_itself() {
    let (s, edges) = start(30_000).await;
    let mut impostor = edges.client("edge-b");
    let status = impostor
        .register(registration("edge-a", "eu", &["https://a.example.com"]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(
        status
            .message()
            .contains("cannot speak for edge \"edge-a\""),
        "{}",
        status.message()
    );
    edges
        .client("edge-a")
        .register(registration("edge-a", "eu", &["https://a.example.com"]))
        .await
        .unwrap();
    let status = impostor
        .heartbeat(heartbeat("edge-a", 1, &[]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let (_, doc) = s.get("/v1/edges", &s.admin).await;
    let ids: Vec<&str> = doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["edge-a"], "the impostor registered nothing: {doc}");
}
