//! Webhooks: the outbox the catalog fills in the same apply as the events (R5, R7), the
//! retry schedule, idempotent attempt records and the bounded delivery log.

use super::fixture::*;
use crate::catalog::webhook::{payload, sign};
use crate::catalog::*;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn create(id: &str, url: &str, secret: &str, types: &[EventType]) -> Command {
    create_in(&app(), id, url, secret, types)
}

fn create_in(app: &AppId, id: &str, url: &str, secret: &str, types: &[EventType]) -> Command {
    Command::CreateWebhook(CreateWebhook {
        id: WebhookId::from(id),
        app: app.clone(),
        url: url.to_owned(),
        secret: WebhookSecret::new(secret),
        event_types: types.iter().copied().collect(),
    })
}

/// A webhook on the app created by its Admin, for `types` (empty: every type).
fn hook(w: &mut World, id: &str, types: &[EventType]) -> WebhookId {
    w.ok(
        user("admin"),
        create(id, "https://hooks.example.com/packyard", SECRET, types),
    );
    WebhookId::from(id)
}

fn log(w: &World, webhook: &WebhookId) -> Vec<Delivery> {
    w.catalog.deliveries_of(webhook).cloned().collect()
}

fn failed(delivery: &DeliveryId, status: Option<u16>) -> Command {
    Command::RecordDeliveryAttempt(RecordDeliveryAttempt {
        delivery: delivery.clone(),
        outcome: AttemptOutcome::Failed {
            status,
            error: "the endpoint answered 503".into(),
        },
    })
}

fn delivered(delivery: &DeliveryId) -> Command {
    Command::RecordDeliveryAttempt(RecordDeliveryAttempt {
        delivery: delivery.clone(),
        outcome: AttemptOutcome::Delivered { status: 204 },
    })
}

/// A world with one webhook for every event type and pending deliveries for it; returns the
/// last one: the app-store release record that a new COMPLETE version gets.
fn one_pending() -> (World, WebhookId, DeliveryId) {
    let mut w = World::new();
    let h = hook(&mut w, "hook-1", &[]);
    let pack = w.pack("level-2");
    w.complete(&pack, 100);
    let pending: Vec<Delivery> = log(&w, &h);
    let last = pending.last().expect("a delivery was queued").id.clone();
    (w, h, last)
}

#[test]
fn r5_approval_is_delivered_to_the_apps_webhooks() {
    let mut w = World::new();
    w.build(&[BuildChannel::External]);
    let h = hook(
        &mut w,
        "hook-1",
        &[EventType::BackgroundAssetVersionExternalBetaReleaseStateUpdated],
    );
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let s = w.submit(&v, ReviewTrack::ExternalBeta);
    let events = w.decide(&s, true);
    let approval = &events[0];
    assert_eq!(
        approval.new_state.as_deref(),
        Some("PROCESSING_FOR_TESTING")
    );

    let queued = log(&w, &h);
    let last = &queued[queued.len() - 2];
    assert_eq!(
        last.event, *approval,
        "the delivery carries the emitted event"
    );
    assert_eq!(last.state, DeliveryState::Pending);
    assert_eq!(last.next_attempt_at, approval.timestamp, "due at once");
    assert!(w.catalog.due_deliveries(approval.timestamp).contains(&last));
    // Only the external-beta record's states: created on completion, submitted, in
    // review, approved, and ready for testing (the approval's own follow-up).
    let states: Vec<_> = queued
        .iter()
        .map(|d| d.event.new_state.as_deref().unwrap())
        .collect();
    assert_eq!(
        states,
        [
            "READY_FOR_BETA_SUBMISSION",
            "WAITING_FOR_REVIEW",
            "IN_REVIEW",
            "PROCESSING_FOR_TESTING",
            "READY_FOR_TESTING"
        ]
    );
}

#[test]
fn r7_archive_is_delivered_to_the_apps_webhooks() {
    let mut w = World::new();
    let h = hook(&mut w, "hook-1", &[EventType::BackgroundAssetArchived]);
    let pack = w.pack("level-2");
    w.complete(&pack, 100);
    assert!(log(&w, &h).is_empty(), "no archive yet");
    let events = w.ok(user("manager"), archive(&pack));
    let queued = log(&w, &h);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].event, events[0]);
    let body = payload(&queued[0].event);
    assert_eq!(body["type"], "BACKGROUND_ASSET_ARCHIVED");
    assert_eq!(
        body["relationships"]["instance"]["type"],
        "backgroundAssets"
    );
    assert_eq!(body["relationships"]["instance"]["id"], pack.as_str());
}

#[test]
fn every_event_gets_the_next_id_from_the_catalogs_counter() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.processing(&pack, 100);
    let events = w.ok(Actor::System, succeeded(&v, 100));
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    // Creating the version (→ AWAITING_UPLOAD) and committing its upload (→ PROCESSING)
    // emitted the first two; completing it emits four (its state and its three tracks).
    assert_eq!(
        ids,
        [
            "evt-000000000003",
            "evt-000000000004",
            "evt-000000000005",
            "evt-000000000006"
        ]
    );
    let refusal = w.refused(Actor::System, succeeded(&v, 100));
    assert_eq!(refusal.kind(), RefusalKind::Conflict);
    let more = w.ok(user("manager"), archive(&pack));
    assert_eq!(
        more[0].id.as_str(),
        "evt-000000000007",
        "a refusal uses no id"
    );
}

#[test]
fn a_webhook_gets_only_its_apps_events_of_the_types_it_asked_for() {
    let mut w = World::new();
    let all = hook(&mut w, "all", &[]);
    let versions = hook(
        &mut w,
        "versions",
        &[EventType::BackgroundAssetVersionStateUpdated],
    );
    w.ok(
        user("stranger"),
        create_in(
            &AppId::from("other-app"),
            "other",
            "http://10.0.0.7:8080/",
            SECRET,
            &[],
        ),
    );
    let pack = w.pack("level-2");
    w.complete(&pack, 100);
    let kinds =
        |h: &WebhookId| -> Vec<EventType> { log(&w, h).iter().map(|d| d.event.kind).collect() };
    assert_eq!(
        kinds(&all),
        [
            EventType::BackgroundAssetVersionStateUpdated,
            EventType::BackgroundAssetVersionStateUpdated,
            EventType::BackgroundAssetVersionStateUpdated,
            EventType::BackgroundAssetVersionInternalBetaReleaseCreated,
            EventType::BackgroundAssetVersionExternalBetaReleaseStateUpdated,
            EventType::BackgroundAssetVersionAppStoreReleaseStateUpdated,
        ]
    );
    assert_eq!(kinds(&versions).len(), 3);
    assert!(kinds(&WebhookId::from("other")).is_empty());
    let listed: Vec<_> = w
        .catalog
        .webhooks_of(&app())
        .map(|h| h.id.clone())
        .collect();
    assert_eq!(listed, [all, versions]);
}

#[test]
fn a_refused_command_queues_no_delivery() {
    let (mut w, h, _) = one_pending();
    let before = log(&w, &h).len();
    let pack = w.catalog.packs_of(&app()).next().unwrap().id.clone();
    // `refused` also checks the whole catalog, counters included, is unchanged.
    w.refused(user("dev"), archive(&pack));
    assert_eq!(log(&w, &h).len(), before);
}

#[test]
fn a_webhook_url_must_be_a_plain_http_or_https_url_with_a_host_and_no_credentials() {
    let mut w = World::new();
    for url in [
        "ftp://hooks.example.com/",
        "hooks.example.com/packyard",
        "https://",
        "https:///path",
        "http://:8080/",
        "https://hooks.example.com/a b",
        "HTTPS://user@hooks.example.com:8443/x?y=1",
        "http://127.0.0.1:8080\\@hooks.example.com/",
        "",
    ] {
        let refusal = w.refused(user("admin"), create("h", url, SECRET, &[]));
        assert!(
            matches!(&refusal, Refusal::Invalid { field, .. } if field == "url"),
            "{url:?}: {refusal:?}"
        );
    }
    let long = format!("https://example.com/{}", "a".repeat(2048));
    w.refused(user("admin"), create("h", &long, SECRET, &[]));
    w.ok(
        user("admin"),
        create("h", "HTTPS://hooks.example.com:8443/x?y=1", SECRET, &[]),
    );
}

#[test]
fn r14_an_app_has_at_most_max_webhooks_per_app_and_the_refusal_names_the_limit() {
    let mut w = World::with_limits(crate::quota::QuotaLimits {
        max_webhooks_per_app: 2,
        ..crate::quota::QuotaLimits::default()
    });
    hook(&mut w, "h1", &[]);
    hook(&mut w, "h2", &[]);
    let refusal = w.refused(
        user("admin"),
        create("h3", "https://hooks.example.com/3", SECRET, &[]),
    );
    let detail = conflict(&refusal, Some(Rule::R14));
    assert!(detail.contains("2 webhooks"), "{detail}");
    assert!(detail.contains("max_webhooks_per_app"), "{detail}");
    w.ok(user("admin"), Command::DeleteWebhook { id: "h1".into() });
    w.ok(
        user("admin"),
        create("h3", "https://hooks.example.com/3", SECRET, &[]),
    );
}

#[test]
fn a_webhook_secret_has_at_least_32_bytes() {
    let mut w = World::new();
    let refusal = w.refused(
        user("admin"),
        create("h", "https://a.example/", "short", &[]),
    );
    assert_eq!(
        refusal.to_string(),
        "secret: has 5 bytes; a webhook secret needs at least 32"
    );
    let refusal = w.refused(
        user("admin"),
        create("h", "https://a.example/", &SECRET[..31], &[]),
    );
    assert_eq!(refusal.kind(), RefusalKind::Invalid);
}

#[test]
fn r8_only_the_account_holder_and_admins_manage_webhooks() {
    let mut w = World::new();
    for who in ["manager", "dev", "reviewer", "stranger"] {
        let refusal = w.refused(user(who), create("h", "https://a.example/", SECRET, &[]));
        assert_eq!(refusal.kind(), RefusalKind::Forbidden, "{who}");
        assert!(refusal.to_string().contains("Admin"), "{refusal}");
    }
    w.ok(
        user("holder"),
        create("h1", "https://a.example/", SECRET, &[]),
    );
    w.ok(
        user("admin"),
        create("h2", "https://a.example/", SECRET, &[]),
    );
    let refusal = w.refused(
        user("dev"),
        Command::DeleteWebhook {
            id: WebhookId::from("h1"),
        },
    );
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
    let refusal = w.refused(
        user("admin"),
        create("h1", "https://b.example/", SECRET, &[]),
    );
    assert!(conflict(&refusal, None).contains("already used"));
    let refusal = w.refused(
        user("admin"),
        create_in(
            &AppId::from("nope"),
            "h3",
            "https://a.example/",
            SECRET,
            &[],
        ),
    );
    assert_eq!(refusal.kind(), RefusalKind::NotFound);
}

#[test]
fn a_deleted_webhook_gets_nothing_more_and_its_log_goes() {
    let (mut w, h, d) = one_pending();
    w.ok(user("admin2"), Command::DeleteWebhook { id: h.clone() });
    assert!(w.catalog.webhook(&h).is_none());
    assert!(log(&w, &h).is_empty());
    assert!(w.catalog.due_deliveries(Timestamp(u64::MAX)).is_empty());
    let pack = w.pack("level-3");
    w.complete(&pack, 100);
    assert!(log(&w, &h).is_empty());
    // A deliverer that was mid-request when the webhook went reports into the void.
    let refusal = w.refused(Actor::System, delivered(&d));
    assert_eq!(refusal.kind(), RefusalKind::NotFound);
    let refusal = w.refused(user("admin"), Command::DeleteWebhook { id: h });
    assert_eq!(refusal.kind(), RefusalKind::NotFound);
}

#[test]
fn retries_back_off_exponentially_up_to_ten_minutes() {
    let policy = WebhookPolicy::default();
    let delays: Vec<u64> = (1..=12).map(|n| policy.retry_delay_ms(n)).collect();
    assert_eq!(
        delays,
        [
            1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 512_000, 600_000,
            600_000
        ]
    );
    assert_eq!(policy.retry_delay_ms(0), 1_000);
    assert_eq!(policy.retry_delay_ms(usize::MAX), 600_000, "no overflow");
}

#[test]
fn a_failed_attempt_is_due_again_after_the_backoff() {
    let (mut w, h, d) = one_pending();
    w.ok(Actor::System, failed(&d, Some(503)));
    let first = w.catalog.delivery(&d).unwrap().clone();
    let at = first.attempts[0].at;
    assert_eq!(first.state, DeliveryState::Pending);
    assert_eq!(first.next_attempt_at, Timestamp(at.0 + 1_000));
    let due = |w: &World, t: u64| {
        w.catalog
            .due_deliveries(Timestamp(t))
            .iter()
            .any(|x| x.id == d)
    };
    assert!(!due(&w, at.0 + 999));
    assert!(due(&w, at.0 + 1_000));
    w.ok(Actor::System, failed(&d, None));
    let second = w.catalog.delivery(&d).unwrap();
    assert_eq!(
        second.next_attempt_at,
        Timestamp(second.attempts[1].at.0 + 2_000)
    );
    w.ok(Actor::System, delivered(&d));
    let done = w.catalog.delivery(&d).unwrap();
    assert_eq!(done.state, DeliveryState::Delivered);
    assert_eq!(done.attempts.len(), 3);
    assert!(!due(&w, u64::MAX));
    assert_eq!(log(&w, &h).last().unwrap().id, d);
}

#[test]
fn a_delivery_is_abandoned_after_its_last_attempt() {
    let (mut w, _, d) = one_pending();
    for _ in 0..11 {
        w.ok(Actor::System, failed(&d, Some(500)));
    }
    assert_eq!(
        w.catalog.delivery(&d).unwrap().state,
        DeliveryState::Pending
    );
    w.ok(Actor::System, failed(&d, Some(500)));
    let gone = w.catalog.delivery(&d).unwrap();
    assert_eq!(gone.state, DeliveryState::Abandoned);
    assert_eq!(gone.attempts.len(), 12);
    let due = w.catalog.due_deliveries(Timestamp(u64::MAX));
    assert!(
        due.iter().all(|x| x.id != d),
        "an abandoned delivery is never due"
    );
}

#[test]
fn attempts_recorded_after_a_delivery_finished_are_refused() {
    let (mut w, _, d) = one_pending();
    w.ok(Actor::System, delivered(&d));
    let refusal = w.refused(Actor::System, delivered(&d));
    assert!(conflict(&refusal, None).contains("already DELIVERED"));
    let refusal = w.refused(Actor::System, failed(&d, Some(500)));
    assert_eq!(refusal.kind(), RefusalKind::Conflict);
    assert_eq!(w.catalog.delivery(&d).unwrap().attempts.len(), 1);
}

#[test]
fn only_packyard_records_delivery_attempts() {
    let (mut w, _, d) = one_pending();
    for who in ["op", "holder", "admin"] {
        let refusal = w.refused(user(who), delivered(&d));
        assert_eq!(refusal.kind(), RefusalKind::Forbidden, "{who}");
    }
}

#[test]
fn the_log_keeps_each_webhooks_newest_finished_deliveries_and_every_pending_one() {
    let mut w = World::with_limits(crate::quota::QuotaLimits::default());
    w.catalog = w.catalog.clone().with_webhook_policy(WebhookPolicy {
        keep_finished: 2,
        ..WebhookPolicy::default()
    });
    let h = hook(&mut w, "hook-1", &[EventType::BackgroundAssetArchived]);
    let other = hook(&mut w, "hook-2", &[EventType::BackgroundAssetArchived]);
    for n in 0..5 {
        let pack = w.pack(&format!("level-{n}"));
        w.ok(user("manager"), archive(&pack));
    }
    let ids: Vec<DeliveryId> = log(&w, &h).iter().map(|d| d.id.clone()).collect();
    assert_eq!(ids.len(), 5, "pending deliveries are never dropped");
    for id in &ids[..4] {
        w.ok(Actor::System, delivered(id));
    }
    let kept: Vec<DeliveryId> = log(&w, &h).iter().map(|d| d.id.clone()).collect();
    assert_eq!(kept, [ids[2].clone(), ids[3].clone(), ids[4].clone()]);
    assert_eq!(log(&w, &other).len(), 5, "another webhook's log is its own");
}

#[test]
fn a_catalog_with_webhooks_and_deliveries_round_trips_through_a_snapshot() {
    let (mut w, _, d) = one_pending();
    w.ok(Actor::System, failed(&d, Some(502)));
    let json = serde_json::to_string(&w.catalog).unwrap();
    let back: Catalog = serde_json::from_str(&json).unwrap();
    assert_eq!(back, w.catalog);
}

#[test]
fn a_snapshot_from_before_webhooks_still_loads() {
    let w = World::new();
    let mut json = serde_json::to_value(&w.catalog).unwrap();
    let fields = json.as_object_mut().unwrap();
    for f in [
        "webhook_policy",
        "webhooks",
        "deliveries",
        "next_event",
        "next_delivery",
    ] {
        fields.remove(f).expect("the field exists");
    }
    let back: Catalog = serde_json::from_value(json).unwrap();
    assert_eq!(back, w.catalog);
}

#[test]
fn the_payload_has_the_spec_shape() {
    let (w, _, d) = one_pending();
    let delivery = w.catalog.delivery(&d).unwrap();
    let e = &delivery.event;
    let body: serde_json::Value = serde_json::from_slice(&delivery.body()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "type": "BACKGROUND_ASSET_VERSION_APP_STORE_RELEASE_STATE_UPDATED",
            "id": e.id.as_str(),
            "attributes": {
                "timestamp": e.timestamp.to_rfc3339(),
                "oldState": null,
                "newState": "PREPARE_FOR_SUBMISSION",
            },
            "relationships": {
                "instance": {
                    "type": "backgroundAssetVersionAppStoreReleases",
                    "id": e.instance.id,
                },
            },
        })
    );
    assert_eq!(
        delivery.body(),
        delivery.body(),
        "the same bytes on every try"
    );
}

#[test]
fn the_signature_is_the_hex_hmac_sha256_of_the_body() {
    // RFC 4231, test case 2.
    let sig = sign(&WebhookSecret::new("Jefe"), b"what do ya want for nothing?");
    assert_eq!(
        sig,
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn a_secret_never_shows_in_debug_output() {
    let shown = format!("{:?}", create("h", "https://a.example/", SECRET, &[]));
    assert!(!shown.contains(SECRET), "{shown}");
}

#[test]
fn a_ping_goes_to_the_pinged_webhook_only_whatever_the_types_it_asked_for() {
    let mut w = World::new();
    let archives = hook(&mut w, "w-archives", &[EventType::BackgroundAssetArchived]);
    let everything = hook(&mut w, "w-all", &[]);
    let ping = Command::PingWebhook {
        webhook: archives.clone(),
    };
    // Managing webhooks is the Account Holder's and Admins', of this app only.
    for who in ["dev", "stranger"] {
        assert_eq!(
            w.refused(user(who), ping.clone()).kind(),
            RefusalKind::Forbidden,
            "{who}"
        );
    }
    let events = w.ok(user("admin"), ping);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventType::WebhookPing);
    assert_eq!(events[0].instance.id, archives.as_str());
    let pinged = log(&w, &archives);
    assert_eq!(pinged.len(), 1, "{pinged:?}");
    assert_eq!(pinged[0].event.kind, EventType::WebhookPing);
    assert_eq!(pinged[0].state, DeliveryState::Pending);
    assert!(
        log(&w, &everything).is_empty(),
        "a webhook of every type gets no one else's ping"
    );
    let missing = Command::PingWebhook {
        webhook: WebhookId::from("w-none"),
    };
    assert_eq!(
        w.refused(user("admin"), missing).kind(),
        RefusalKind::NotFound
    );
}
