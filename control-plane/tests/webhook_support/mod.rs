//! Webhook endpoints for tests: receivers on 127.0.0.1 that record what they get and can
//! fail or hang on purpose, a listener that only counts connections, a deliverer to run, and
//! the API calls that set webhooks up.

// Each test binary that includes this module uses a different subset of it.
#![allow(dead_code)]
// Test support: a failed setup step should fail the test at once, loudly.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use packyard_control_plane::CatalogStore;
use packyard_control_plane::api::ApiConfig;
use packyard_control_plane::webhook::{Deliverer, DelivererConfig, HttpTransport};
use packyard_core::catalog::{Catalog, WebhookPolicy};
use packyard_core::quota::QuotaLimits;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

use crate::api_support::{Server, id};

/// How long any awaited condition may take before the test fails. Generous: the machine may
/// be busy; nothing here measures speed.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// One request a receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// The status it answered.
    pub(crate) status: u16,
}

impl Received {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers.get(name).unwrap().to_str().unwrap()
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
pub(crate) struct ReceiverState {
    /// Answer 503 to the first this-many tries of each delivery.
    pub(crate) fail_first: usize,
    tries: BTreeMap<String, usize>,
    /// Requests that arrived, answered or not.
    started: usize,
    /// Requests answered, in order.
    received: Vec<Received>,
}

/// A webhook endpoint on 127.0.0.1 that records every request.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    pub(crate) state: Arc<Mutex<ReceiverState>>,
    /// When set, requests wait to be notified before they are answered.
    pub(crate) stall: Option<Arc<Notify>>,
}

impl Receiver {
    pub(crate) async fn start(self) -> (Self, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let router = Router::new()
            .route("/hook", post(receive))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (self, url)
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// How many requests arrived, and how many of them were answered.
    pub(crate) fn started_and_answered(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap();
        (state.started, state.received.len())
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.state.lock().unwrap().started += 1;
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

/// A catalog whose retries start at 50 ms, so retry tests take a fraction of a second.
pub(crate) fn quick_retries() -> Catalog {
    quick_retries_within(QuotaLimits::default())
}

/// [`quick_retries`], with these limits.
pub(crate) fn quick_retries_within(limits: QuotaLimits) -> Catalog {
    Catalog::new(limits).with_webhook_policy(WebhookPolicy {
        first_retry_ms: 50,
        max_retry_ms: 1_000,
        ..WebhookPolicy::default()
    })
}

/// Runs a deliverer over `store` polling every 10 ms until the returned sender is dropped.
/// The receivers of these tests listen on 127.0.0.1, which only an operator may allow.
pub(crate) fn deliver<S: CatalogStore>(store: S) -> oneshot::Sender<()> {
    deliver_with(store, true)
}

/// [`deliver`], with private addresses allowed or not.
pub(crate) fn deliver_with<S: CatalogStore>(
    store: S,
    allow_private_addresses: bool,
) -> oneshot::Sender<()> {
    deliver_configured(
        store,
        DelivererConfig {
            poll_interval_ms: 10,
            request_timeout_ms: 15_000,
            allow_private_addresses,
            ..DelivererConfig::default()
        },
    )
}

/// Runs a deliverer over `store` with `config` until the returned sender is dropped.
pub(crate) fn deliver_configured<S: CatalogStore>(
    store: S,
    config: DelivererConfig,
) -> oneshot::Sender<()> {
    let (stop, stopped) = oneshot::channel::<()>();
    let transport = HttpTransport::new(&config).unwrap();
    tokio::spawn(Deliverer::new(store, transport, config).run(async {
        let _ = stopped.await;
    }));
    stop
}

/// API settings with webhooks to private addresses allowed, as an operator may allow them.
pub(crate) fn private_targets_allowed() -> ApiConfig {
    ApiConfig {
        allow_private_webhook_targets: true,
        ..ApiConfig::new("http://origin.test:9000")
    }
}

/// Creates a webhook through the API; returns its id and secret.
pub(crate) async fn webhook(
    s: &Server,
    key: &str,
    app: &str,
    url: &str,
    types: &[&str],
) -> (String, String) {
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

pub(crate) fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// An app with an Admin, an App Manager, a Developer and a Reviewer; returns the app and
/// their keys in that order.
pub(crate) async fn team(s: &Server) -> (String, [String; 4]) {
    let app = s.app("com.example.game").await;
    let admin = s.member(&app, "ADMIN", "admin@example.com").await;
    let manager = s.member(&app, "APP_MANAGER", "mgr@example.com").await;
    let dev = s.member(&app, "DEVELOPER", "dev@example.com").await;
    let reviewer = s.member(&app, "REVIEWER", "rev@example.com").await;
    (app, [admin, manager, dev, reviewer])
}

/// A listener on 127.0.0.1 that accepts connections, counts them and closes them: what a
/// webhook that must never be sent to points at.
#[derive(Clone, Default)]
pub(crate) struct Counter {
    accepted: Arc<AtomicUsize>,
}

impl Counter {
    /// Starts counting; returns the counter and the port it listens on.
    pub(crate) async fn start() -> (Self, u16) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let counter = Self::default();
        let accepted = Arc::clone(&counter.accepted);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        (counter, port)
    }

    /// Connections accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}
