//! Webhooks end to end: the admin API over HTTP on 127.0.0.1, a running deliverer, and real
//! receivers that record what they get and can fail or stall on purpose.

// Test code: a failed setup step should fail the test at once, loudly.
#![allow(clippy::unwrap_used)]

mod api_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_support::{Server, error, id};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use packyard_control_plane::api::ApiConfig;
use packyard_control_plane::store::Applied;
use packyard_control_plane::webhook::{Deliverer, DelivererConfig, HttpTransport};
use packyard_control_plane::{CatalogStore, MemoryStore, StoreError};
use packyard_core::catalog::{Catalog, DeliveryState, Envelope, WebhookId, WebhookPolicy};
use packyard_core::quota::QuotaLimits;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

/// How long any awaited condition may take before the test fails. Generous: the machine may
/// be busy; nothing here measures speed.
const PATIENCE: Duration = Duration::from_secs(20);

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
    /// The status it answered.
    status: u16,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).unwrap().to_str().unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct ReceiverState {
    /// Answer 503 to the first this-many tries of each delivery.
    fail_first: usize,
    tries: BTreeMap<String, usize>,
    received: Vec<Received>,
}

/// A webhook endpoint on 127.0.0.1 that records every request.
#[derive(Clone, Default)]
struct Receiver {
    state: Arc<Mutex<ReceiverState>>,
    /// When set, requests wait for `release` before they are answered.
    stall: Option<Arc<Notify>>,
}

impl Receiver {
    async fn start(self) -> (Self, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let router = Router::new()
            .route("/hook", post(receive))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (self, url)
    }

    fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if let Some(gate) = &r.stall {
        gate.notified().await;
    }
    let mut state = r.state.lock().unwrap();
    let delivery = headers
        .get("x-packyard-delivery")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let tries = state.tries.entry(delivery).or_default();
    *tries += 1;
    let status = if *tries <= state.fail_first {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    state.received.push(Received {
        headers,
        body,
        status: status.as_u16(),
    });
    status
}

/// Waits until `check` gives a value, polling; fails the test after [`PATIENCE`].
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A catalog whose retries start at 50 ms, so retry tests take a fraction of a second.
fn quick_retries() -> Catalog {
    Catalog::new(QuotaLimits::default()).with_webhook_policy(WebhookPolicy {
        first_retry_ms: 50,
        max_retry_ms: 1_000,
        ..WebhookPolicy::default()
    })
}

/// Runs a deliverer over `store` polling every 10 ms until the returned sender is dropped.
/// The receivers of these tests listen on 127.0.0.1, which only an operator may allow.
fn deliver<S: CatalogStore>(store: S) -> oneshot::Sender<()> {
    deliver_with(store, true)
}

/// [`deliver`], with private addresses allowed or not.
fn deliver_with<S: CatalogStore>(store: S, allow_private_addresses: bool) -> oneshot::Sender<()> {
    let (stop, stopped) = oneshot::channel::<()>();
    let config = DelivererConfig {
        poll_interval_ms: 10,
        request_timeout_ms: 15_000,
        allow_private_addresses,
        ..DelivererConfig::default()
    };
    let transport = HttpTransport::new(&config).unwrap();
    tokio::spawn(Deliverer::new(store, transport, config).run(async {
        let _ = stopped.await;
    }));
    stop
}

/// API settings with webhooks to private addresses allowed, as an operator may allow them.
fn private_targets_allowed() -> ApiConfig {
    ApiConfig {
        allow_private_webhook_targets: true,
        ..ApiConfig::new("http://origin.test:9000")
    }
}

/// Creates a webhook through the API; returns its id and secret.
async fn webhook(s: &Server, key: &str, app: &str, url: &str, types: &[&str]) -> (String, String) {
    let (st, v) = s
        .post(
            "/v1/webhooks",
            key,
            json!({"data": {"type": "webhooks",
                "attributes": {"url": url, "eventTypes": types},
                "relationships": {"app": {"data": {"type": "apps", "id": app}}}}}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let secret = v["data"]["attributes"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    (id(&v), secret)
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// An app with an Admin, an App Manager, a Developer and a Reviewer; returns the app and
/// their keys in that order.
async fn team(s: &Server) -> (String, [String; 4]) {
    let app = s.app("com.example.game").await;
    let admin = s.member(&app, "ADMIN", "admin@example.com").await;
    let manager = s.member(&app, "APP_MANAGER", "mgr@example.com").await;
    let dev = s.member(&app, "DEVELOPER", "dev@example.com").await;
    let reviewer = s.member(&app, "REVIEWER", "rev@example.com").await;
    (app, [admin, manager, dev, reviewer])
}

#[tokio::test]
async fn r5_an_approval_reaches_the_webhook_signed_after_retries_with_backoff() {
    let s = Server::start_configured(quick_retries(), private_targets_allowed()).await;
    let _deliverer = deliver(s.store.clone());
    let receiver = Receiver::default();
    receiver.state.lock().unwrap().fail_first = 2;
    let (receiver, url) = receiver.start().await;
    let (app, [admin, manager, dev, reviewer]) = team(&s).await;
    let external = "BACKGROUND_ASSET_VERSION_EXTERNAL_BETA_RELEASE_STATE_UPDATED";
    let (hook, secret) = webhook(&s, &admin, &app, &url, &[external]).await;
    assert!(secret.len() >= 32);

    // The approval, through the API.
    let (st, v) = s
        .post(
            "/v1/builds",
            &manager,
            json!({"data": {"type": "builds",
                "attributes": {"buildNumber": "100", "channels": ["EXTERNAL"]},
                "relationships": {"app": {"data": {"type": "apps", "id": app}}}}}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (_, v) = s.pack(&app, &dev, "level-2").await;
    let version = s.complete_version(&id(&v), &dev, 1000).await;
    let (st, v) = s.submit(&version, &manager, "EXTERNAL_BETA").await;
    assert_eq!(st, 201, "{v}");
    let submission = id(&v);
    for state in ["IN_REVIEW", "ACCEPTED"] {
        let (st, v) = s
            .review(&submission, &reviewer, json!({"state": state}))
            .await;
        assert_eq!(st, 200, "{v}");
    }

    // The receiver gets the approval, after two refusals.
    let approval = eventually("the approval is delivered", async || {
        receiver.received().into_iter().find(|r| {
            r.status == 200 && r.json()["attributes"]["newState"] == "PROCESSING_FOR_TESTING"
        })
    })
    .await;
    let body = approval.json();
    assert_eq!(body["type"], external);
    assert!(body["id"].as_str().unwrap().starts_with("evt-"));
    assert_eq!(body["attributes"]["oldState"], "IN_REVIEW");
    assert_eq!(
        body["relationships"]["instance"],
        json!({"type": "backgroundAssetVersionExternalBetaReleases", "id": version})
    );
    assert_eq!(approval.header("content-type"), "application/json");
    assert_eq!(approval.header("x-packyard-event"), external);

    // Every request is signed with the secret shown at creation, and every retry of a
    // delivery carries the same bytes.
    let mut bodies: BTreeMap<String, Vec<Bytes>> = BTreeMap::new();
    for r in receiver.received() {
        let expected = format!("sha256={}", hmac_hex(&secret, &r.body));
        assert_eq!(r.header("x-packyard-signature"), expected);
        let delivery = r.header("x-packyard-delivery").to_owned();
        bodies.entry(delivery).or_default().push(r.body.clone());
    }
    for tries in bodies.values() {
        assert!(tries.windows(2).all(|w| w[0] == w[1]));
    }

    // The delivery log, through the API: each delivery failed twice, then was delivered.
    let path = format!("/v1/webhooks/{hook}/deliveries");
    let log = eventually("every delivery is delivered", async || {
        let (st, v) = s.get(&path, &admin).await;
        assert_eq!(st, 200, "{v}");
        let log = v["data"].as_array().unwrap().clone();
        // Created on completion, submitted, in review, approved, then READY_FOR_TESTING.
        let done = log.len() == 5 && log.iter().all(|d| d["attributes"]["state"] == "DELIVERED");
        done.then_some(log)
    })
    .await;
    for d in &log {
        let results: Vec<(&str, &Value)> = d["attributes"]["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["result"].as_str().unwrap(), &a["status"]))
            .collect();
        assert_eq!(
            results,
            [
                ("FAILED", &json!(503)),
                ("FAILED", &json!(503)),
                ("DELIVERED", &json!(200))
            ],
            "{d}"
        );
        assert_eq!(d["attributes"]["eventType"], external);
        assert_eq!(d["attributes"]["nextAttemptDate"], Value::Null);
    }
    assert_eq!(
        log[1]["attributes"]["eventId"], body["id"],
        "newest first: the approval comes second, before READY_FOR_TESTING"
    );

    // The retries waited for the backoff: 50 ms after the first failure, 100 after the second.
    let hook_id = WebhookId::new(hook.clone());
    let gaps: Vec<(u64, u64)> = s
        .store
        .read(move |c| {
            c.deliveries_of(&hook_id)
                .map(|d| {
                    let at: Vec<u64> = d.attempts.iter().map(|a| a.at.0).collect();
                    (at[1] - at[0], at[2] - at[1])
                })
                .collect()
        })
        .await
        .unwrap();
    for (first, second) in gaps {
        assert!(first >= 50 && second >= 100, "{first} ms, {second} ms");
    }
}

#[tokio::test]
async fn a_slow_endpoint_does_not_hold_back_another() {
    let s = Server::start_configured(quick_retries(), private_targets_allowed()).await;
    let _deliverer = deliver(s.store.clone());
    let gate = Arc::new(Notify::new());
    let (stalled, stalled_url) = Receiver {
        stall: Some(Arc::clone(&gate)),
        ..Receiver::default()
    }
    .start()
    .await;
    let (fast, fast_url) = Receiver::default().start().await;
    let (app, [admin, _, dev, _]) = team(&s).await;
    let created = "BACKGROUND_ASSET_VERSION_INTERNAL_BETA_RELEASE_CREATED";
    webhook(&s, &admin, &app, &stalled_url, &[created]).await;
    webhook(&s, &admin, &app, &fast_url, &[created]).await;
    let (_, v) = s.pack(&app, &dev, "level-2").await;
    s.complete_version(&id(&v), &dev, 1000).await;

    let got = eventually("the fast endpoint gets the event", async || {
        fast.received().into_iter().next()
    })
    .await;
    assert_eq!(got.json()["type"], created);
    assert!(
        stalled.received().is_empty(),
        "the stalled one has not answered yet"
    );
    gate.notify_waiters();
    gate.notify_one();
    eventually("the stalled endpoint answers once released", async || {
        stalled.received().into_iter().next()
    })
    .await;
}

/// A store that says whether it leads as the test tells it, and counts how often it was
/// asked (each delivery round asks once).
#[derive(Clone)]
struct Switchable {
    inner: MemoryStore,
    leader: Arc<AtomicBool>,
    asked: Arc<AtomicUsize>,
}

impl CatalogStore for Switchable {
    async fn write_at(&self, envelope: Envelope) -> Result<(u64, Applied), StoreError> {
        self.inner.write_at(envelope).await
    }

    async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        self.inner.read(f).await
    }

    async fn read_local<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        self.inner.read_local(f).await
    }

    async fn read_applied<R, F>(&self, index: u64, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        self.inner.read_applied(index, f).await
    }

    async fn is_leader(&self) -> bool {
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.leader.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_node_sends_nothing_while_it_does_not_lead_and_what_is_owed_once_it_does() {
    let s = Server::start_configured(quick_retries(), private_targets_allowed()).await;
    let leader = Arc::new(AtomicBool::new(false));
    let asked = Arc::new(AtomicUsize::new(0));
    let follower = Switchable {
        inner: s.store.clone(),
        leader: Arc::clone(&leader),
        asked: Arc::clone(&asked),
    };
    let _deliverer = deliver(follower);
    let (receiver, url) = Receiver::default().start().await;
    let (app, [admin, _, dev, _]) = team(&s).await;
    let (hook, _) = webhook(
        &s,
        &admin,
        &app,
        &url,
        &["BACKGROUND_ASSET_VERSION_STATE_UPDATED"],
    )
    .await;
    let (_, v) = s.pack(&app, &dev, "level-2").await;
    s.complete_version(&id(&v), &dev, 1000).await;

    // Ten delivery rounds after the deliveries exist, as a follower: nothing is sent,
    // everything stays owed.
    let after = asked.load(Ordering::SeqCst);
    eventually("ten delivery rounds as a follower", async || {
        (asked.load(Ordering::SeqCst) >= after + 10).then_some(())
    })
    .await;
    assert!(receiver.received().is_empty());
    let hook_id = WebhookId::new(hook);
    let states = move |c: &Catalog| -> Vec<DeliveryState> {
        c.deliveries_of(&hook_id).map(|d| d.state).collect()
    };
    let owed = s.store.read(states.clone()).await.unwrap();
    assert_eq!(owed, [DeliveryState::Pending; 3]);

    // This node becomes the leader: it sends what the catalog says is owed.
    leader.store(true, Ordering::SeqCst);
    eventually("the owed deliveries are sent", async || {
        let done = s.store.read(states.clone()).await.unwrap();
        (done == [DeliveryState::Delivered; 3]).then_some(())
    })
    .await;
    let states: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| r.json()["attributes"]["newState"].clone())
        .collect();
    assert_eq!(
        states,
        [
            json!("AWAITING_UPLOAD"),
            json!("PROCESSING"),
            json!("COMPLETE")
        ]
    );
}

#[tokio::test]
async fn webhook_endpoints_follow_the_api_conventions() {
    let s = Server::start().await;
    let (app, [admin, _, dev, _]) = team(&s).await;
    let (hook, _) = webhook(&s, &admin, &app, "https://hooks.example.com/x", &[]).await;

    let (st, v) = s.get(&format!("/v1/webhooks/{hook}"), &admin).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v["data"]["attributes"]["url"],
        "https://hooks.example.com/x"
    );
    assert_eq!(v["data"]["attributes"]["eventTypes"], json!([]));
    assert!(
        v["data"]["attributes"].get("secret").is_none(),
        "shown once only"
    );
    let (st, v) = s.get(&format!("/v1/apps/{app}/webhooks"), &admin).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data"][0]["id"], hook.as_str());

    // R8: a Developer may not see or create webhooks.
    let (st, v) = s.get(&format!("/v1/webhooks/{hook}"), &dev).await;
    assert_eq!(st, 403, "{v}");
    let (st, _) = s.get(&format!("/v1/apps/{app}/webhooks"), &dev).await;
    assert_eq!(st, 403);
    let (st, v) = s
        .post(
            "/v1/webhooks",
            &dev,
            json!({"data": {"type": "webhooks", "attributes": {"url": "https://a.example/"},
                "relationships": {"app": {"data": {"type": "apps", "id": app}}}}}),
        )
        .await;
    assert_eq!(st, 403, "{v}");

    // A URL that is not http(s) is a 422 pointing at it; an unknown event type a 400.
    let (st, v) = s
        .post(
            "/v1/webhooks",
            &admin,
            json!({"data": {"type": "webhooks", "attributes": {"url": "ftp://a.example/"},
                "relationships": {"app": {"data": {"type": "apps", "id": app}}}}}),
        )
        .await;
    assert_eq!(st, 422, "{v}");
    assert_eq!(error(&v)["source"]["pointer"], "/data/attributes/url");
    let (st, v) = s
        .post(
            "/v1/webhooks",
            &admin,
            json!({"data": {"type": "webhooks",
                "attributes": {"url": "https://a.example/", "eventTypes": ["NOPE"]},
                "relationships": {"app": {"data": {"type": "apps", "id": app}}}}}),
        )
        .await;
    assert_eq!(st, 400, "{v}");
    assert_eq!(
        error(&v)["source"]["pointer"],
        "/data/attributes/eventTypes/0"
    );

    let (st, v) = s.delete(&format!("/v1/webhooks/{hook}"), &admin).await;
    assert_eq!(st, 204, "{v}");
    let (st, _) = s.get(&format!("/v1/webhooks/{hook}"), &admin).await;
    assert_eq!(st, 404);
    let (st, _) = s
        .get(&format!("/v1/webhooks/{hook}/deliveries"), &admin)
        .await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn a_webhook_to_an_internal_address_is_refused_by_default() {
    let s = Server::start().await;
    let (app, [admin, ..]) = team(&s).await;
    for (url, why) in [
        (
            "http://127.0.0.1:9000/hook",
            "127.0.0.1 is a loopback address",
        ),
        ("https://[::1]/hook", "::1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.0.0.7:8443/x", "private"),
    ] {
        let (st, v) = s
            .post(
                "/v1/webhooks",
                &admin,
                json!({"data": {"type": "webhooks", "attributes": {"url": url},
                    "relationships": {"app": {"data": {"type": "apps", "id": app}}}}}),
            )
            .await;
        assert_eq!(st, 422, "{url}: {v}");
        let detail = error(&v)["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains(why), "{url}: {detail}");
        assert!(detail.contains("allow_private_addresses"), "{detail}");
    }
    let (_, v) = s.get(&format!("/v1/apps/{app}/webhooks"), &admin).await;
    assert_eq!(
        v["data"].as_array().unwrap().len(),
        0,
        "nothing was stored: {v}"
    );
}

#[tokio::test]
async fn a_webhook_whose_host_resolves_to_loopback_is_never_called() {
    // The name passes at creation (it could resolve anywhere); what it resolves to when the
    // delivery is sent decides, and localhost is the cluster's own machine.
    let s = Server::start_with(quick_retries()).await;
    let _deliverer = deliver_with(s.store.clone(), false);
    let (receiver, url) = Receiver::default().start().await;
    let url = url.replace("127.0.0.1", "localhost");
    let (app, [admin, _, dev, _]) = team(&s).await;
    let (hook, _) = webhook(&s, &admin, &app, &url, &[]).await;
    let (_, v) = s.pack(&app, &dev, "level-2").await;
    s.complete_version(&id(&v), &dev, 1000).await;
    let attempt = eventually("a failed attempt is logged", async || {
        let (_, v) = s
            .get(&format!("/v1/webhooks/{hook}/deliveries"), &admin)
            .await;
        v["data"].as_array()?.iter().find_map(|d| {
            let error = d["attributes"]["attempts"].as_array()?.first()?["error"].as_str()?;
            Some(error.to_owned())
        })
    })
    .await;
    assert!(
        attempt.contains("localhost resolves only to addresses in the cluster's own network"),
        "{attempt}"
    );
    assert!(
        receiver.received().is_empty(),
        "the endpoint was never called"
    );
}
