//! Webhooks end to end: the admin API over HTTP on 127.0.0.1, a running deliverer, and real
//! receivers that record what they get and can fail or stall on purpose.

// Test code: a failed setup step should fail the test at once, loudly.
#![allow(clippy::unwrap_used)]

mod api_support;
mod webhook_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use api_support::{Server, error, id};
use axum::body::Bytes;
use packyard_control_plane::store::Applied;
use packyard_control_plane::webhook::{DelivererConfig, REFUSED_TARGET};
use packyard_control_plane::{CatalogStore, Clock, MemoryStore, StoreError};
use packyard_core::catalog::{
    Actor, AppId, Catalog, Command, CreateWebhook, DeliveryState, Envelope, WebhookId,
    WebhookSecret,
};
use packyard_core::quota::QuotaLimits;
use packyard_net::eventually::eventually;
use serde_json::{Value, json};
use tokio::sync::Notify;
use webhook_support::{
    Counter, PATIENCE, Receiver, deliver, deliver_configured, deliver_with, hmac_hex,
    private_targets_allowed, quick_retries, quick_retries_within, team, webhook,
};
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
    let approval = eventually("the approval is delivered", PATIENCE, async || {
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
    let log = eventually("every delivery is delivered", PATIENCE, async || {
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

    let got = eventually("the fast endpoint gets the event", PATIENCE, async || {
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
    eventually(
        "the stalled endpoint answers once released",
        PATIENCE,
        async || stalled.received().into_iter().next(),
    )
    .await;
}

#[tokio::test]
async fn one_app_never_slows_another_apps_webhooks() {
    // Case 7 of issue 13: 48 webhooks of one app at an endpoint that never answers took
    // every delivery slot of the cluster, and another app's delivery waited behind them.
    let limits = QuotaLimits {
        max_webhooks_per_app: 48,
        ..QuotaLimits::default()
    };
    let s = Server::start_configured(quick_retries_within(limits), private_targets_allowed()).await;
    let config = DelivererConfig {
        poll_interval_ms: 10,
        // Longer than the test: a request to the hanging endpoint never ends while it runs.
        request_timeout_ms: 3_600_000,
        allow_private_addresses: true,
        ..DelivererConfig::default()
    };
    let cap = config.max_concurrent_per_app;
    let _deliverer = deliver_configured(s.store.clone(), config);
    let (hanging, hanging_url) = Receiver {
        stall: Some(Arc::new(Notify::new())),
        ..Receiver::default()
    }
    .start()
    .await;
    let (answering, answering_url) = Receiver::default().start().await;
    let state = "BACKGROUND_ASSET_VERSION_STATE_UPDATED";
    let slow = s.app("com.example.slow").await;
    let other = s.app("com.example.other").await;
    for _ in 0..48 {
        webhook(&s, &s.admin, &slow, &hanging_url, &[state]).await;
    }
    webhook(&s, &s.admin, &other, &answering_url, &[state]).await;

    // The slow app's event first: its 48 deliveries take every slot they may, and hang.
    let (_, pack) = s.pack(&slow, &s.admin, "level-1").await;
    s.api.create_version(&id(&pack)).await.unwrap();
    eventually(
        "the slow app's endpoint holds requests",
        PATIENCE,
        async || (hanging.started_and_answered().0 >= cap).then_some(()),
    )
    .await;

    // Then the other app's: it is delivered while every request of the slow app hangs.
    let (_, pack) = s.pack(&other, &s.admin, "level-1").await;
    s.api.create_version(&id(&pack)).await.unwrap();
    let got = eventually(
        "the other app's delivery is received",
        PATIENCE,
        async || answering.received().into_iter().next(),
    )
    .await;
    assert_eq!(got.json()["attributes"]["newState"], "AWAITING_UPLOAD");
    let (open, answered) = hanging.started_and_answered();
    assert!(
        open >= cap && answered == 0,
        "the slow app's requests still hang: {open} open, {answered} answered"
    );
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
    eventually("ten delivery rounds as a follower", PATIENCE, async || {
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
    eventually("the owed deliveries are sent", PATIENCE, async || {
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
            "names 127.0.0.1, a loopback address",
        ),
        ("https://[::1]/hook", "names ::1, a loopback address"),
        (
            "http://127.1:9000/hook",
            "names 127.0.0.1, a loopback address",
        ),
        ("http://localhost:9000/hook", "names localhost"),
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
async fn r14_a_webhook_past_the_apps_limit_or_a_url_past_2048_bytes_gets_a_4xx_naming_it() {
    let limits = QuotaLimits {
        max_webhooks_per_app: 2,
        ..QuotaLimits::default()
    };
    let s = Server::start_with(Catalog::new(limits)).await;
    let (app, [admin, ..]) = team(&s).await;
    webhook(&s, &admin, &app, "https://hooks.example.com/1", &[]).await;
    webhook(&s, &admin, &app, "https://hooks.example.com/2", &[]).await;
    let create = |url: String| {
        json!({"data": {"type": "webhooks", "attributes": {"url": url},
            "relationships": {"app": {"data": {"type": "apps", "id": app}}}}})
    };
    let (st, v) = s
        .post(
            "/v1/webhooks",
            &admin,
            create("https://hooks.example.com/3".into()),
        )
        .await;
    assert_eq!(st, 409, "{v}");
    let detail = error(&v)["detail"].as_str().unwrap();
    assert!(detail.contains("max_webhooks_per_app"), "{detail}");

    let long = format!("https://hooks.example.com/{}", "a".repeat(2048));
    let (st, v) = s.post("/v1/webhooks", &admin, create(long)).await;
    assert_eq!(st, 422, "{v}");
    assert_eq!(error(&v)["source"]["pointer"], "/data/attributes/url");
    let detail = error(&v)["detail"].as_str().unwrap();
    assert!(detail.contains("at most 2048 bytes"), "{detail}");
}

/// Stores a webhook to `url` for `app` as a node that checked less would have stored it
/// (the catalog itself checks only the URL's form): the webhooks of before issue 13.
async fn stored_earlier(s: &Server, id: &str, app: &str, url: &str) -> WebhookId {
    let id = WebhookId::from(id);
    let command = Command::CreateWebhook(CreateWebhook {
        id: id.clone(),
        app: AppId::new(app.to_owned()),
        url: url.to_owned(),
        secret: WebhookSecret::new("s".repeat(32)),
        event_types: Default::default(),
    });
    let envelope = Envelope {
        actor: Actor::System,
        at: Clock::System.now(),
        command,
        key: None,
    };
    s.store.write(envelope).await.unwrap().unwrap();
    id
}

#[tokio::test]
async fn a_refused_target_is_never_called_and_logged_as_refused_and_nothing_more() {
    // Case 3 of issue 13: the delivery log showed connect errors, a port scanner of the
    // cluster's network. A name that resolves to loopback, and an address written short,
    // are refused at each delivery (webhooks stored before creation checked them) without
    // a connection, and the log says that and nothing of the address or port.
    let s = Server::start_with(quick_retries()).await;
    let _deliverer = deliver_with(s.store.clone(), false);
    let (counter, port) = Counter::start().await;
    let (app, [admin, _, dev, _]) = team(&s).await;
    let by_name = stored_earlier(&s, "by-name", &app, &format!("http://localhost:{port}/")).await;
    let by_address = stored_earlier(&s, "by-address", &app, &format!("http://127.1:{port}/")).await;
    let (_, v) = s.pack(&app, &dev, "level-2").await;
    s.api.create_version(&id(&v)).await.unwrap();
    for hook in [by_name, by_address] {
        let attempt = eventually("a failed attempt is logged", PATIENCE, async || {
            let (_, v) = s
                .get(&format!("/v1/webhooks/{hook}/deliveries"), &admin)
                .await;
            v["data"].as_array()?.iter().find_map(|d| {
                let attempt = d["attributes"]["attempts"].as_array()?.first()?.clone();
                Some(attempt)
            })
        })
        .await;
        assert_eq!(attempt["result"], "FAILED");
        assert_eq!(attempt["status"], Value::Null);
        assert_eq!(attempt["error"], REFUSED_TARGET, "{hook}");
        let text = attempt["error"].as_str().unwrap();
        assert!(
            !text.contains(&port.to_string()) && !text.contains("127."),
            "{text}"
        );
    }
    assert_eq!(counter.accepted(), 0, "no connection was ever made");
}
