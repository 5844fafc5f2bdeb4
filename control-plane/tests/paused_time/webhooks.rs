//! The webhook deliverer's retries: each attempt happens at the time the catalog's backoff
//! schedules it (1 s doubling to at most 10 min, 12 attempts), through a recording transport
//! that stands in for the endpoint.

use std::collections::BTreeSet;
use std::time::Duration;

use packyard_control_plane::Clock;
use packyard_control_plane::webhook::{Deliverer, DelivererConfig, Job, Transport};
use packyard_core::catalog::{
    AppId, AttemptOutcome, Catalog, Command, CreateWebhook, DeliveryState, EventType, Timestamp,
    WebhookId, WebhookSecret,
};
use tokio::sync::watch;

use crate::fixture::{APP, START, World, operator, shutdown};

/// An endpoint that fails its first `failures` requests with 503 and then answers 200,
/// recording the time of every request by the test's clock.
#[derive(Clone)]
struct Recording {
    clock: Clock,
    failures: usize,
    sent: watch::Sender<Vec<Timestamp>>,
}

impl Recording {
    fn new(clock: Clock, failures: usize) -> Self {
        Self {
            clock,
            failures,
            sent: watch::Sender::new(Vec::new()),
        }
    }

    /// Waits until `n` requests were made, letting paused time run meanwhile, and answers
    /// their times in milliseconds since the test began.
    async fn after(&self, n: usize) -> Vec<u64> {
        let mut sent = self.sent.subscribe();
        let sent = sent.wait_for(|s| s.len() >= n).await.unwrap().clone();
        sent.iter().map(|t| t.0 - START.0).collect()
    }
}

impl Transport for Recording {
    async fn send(&self, _job: &Job) -> AttemptOutcome {
        let mut tries = 0;
        self.sent.send_modify(|s| {
            s.push(self.clock.now());
            tries = s.len();
        });
        if tries <= self.failures {
            AttemptOutcome::Failed {
                status: Some(503),
                error: "the endpoint answered 503 Service Unavailable".into(),
            }
        } else {
            AttemptOutcome::Delivered { status: 200 }
        }
    }
}

/// A webhook for version state changes, then a version: one delivery, due at once.
async fn one_delivery(w: &mut World) -> WebhookId {
    let hook = WebhookId::new(w.id("webhook"));
    w.ok(
        operator(),
        Command::CreateWebhook(CreateWebhook {
            id: hook.clone(),
            app: AppId::from(APP),
            url: "https://hooks.example.com/packyard".into(),
            secret: WebhookSecret::new("s".repeat(32)),
            event_types: BTreeSet::from([EventType::BackgroundAssetVersionStateUpdated]),
        }),
    )
    .await;
    let pack = w.pack("level-2").await;
    w.version(&pack).await;
    hook
}

/// The state of the webhook's one delivery and the times of its recorded attempts, in
/// milliseconds since the test began.
fn delivery(hook: &WebhookId) -> impl Fn(&Catalog) -> (DeliveryState, Vec<u64>) + Clone + use<> {
    let hook = hook.clone();
    move |c| {
        let ds: Vec<_> = c.deliveries_of(&hook).collect();
        assert_eq!(ds.len(), 1);
        let at = ds[0].attempts.iter().map(|a| a.at.0 - START.0).collect();
        (ds[0].state, at)
    }
}

/// Runs a deliverer over the world with the node's default settings (a round every 250 ms).
fn deliver(w: &World, endpoint: &Recording) -> tokio::sync::oneshot::Sender<()> {
    let (stop, stopped) = shutdown();
    let deliverer = Deliverer::new(w.task_store(), endpoint.clone(), DelivererConfig::default())
        .with_clock(w.clock);
    tokio::spawn(deliverer.run(stopped));
    stop
}

#[tokio::test(start_paused = true)]
async fn a_failing_endpoint_is_tried_at_1_3_7_seconds_and_on_doubling_up_to_10_minutes_then_abandoned()
 {
    let mut w = World::new().await;
    let hook = one_delivery(&mut w).await;
    let endpoint = Recording::new(w.clock, usize::MAX);
    let _stop = deliver(&w, &endpoint);

    // Waits of 1, 2, 4, … 512 s, then 600 s (the cap), between the 12 attempts.
    let schedule: Vec<u64> = [0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 1_023, 1_623]
        .iter()
        .map(|s| s * 1_000)
        .collect();
    assert_eq!(endpoint.after(12).await, schedule);
    w.until("the delivery is abandoned", {
        let d = delivery(&hook);
        move |c| d(c).0 == DeliveryState::Abandoned
    })
    .await;
    assert_eq!(
        w.read(delivery(&hook)).await,
        (DeliveryState::Abandoned, schedule)
    );

    // An hour of rounds later, nothing more was sent.
    w.advance_until_task_reads(Duration::from_secs(3_600)).await;
    assert_eq!(endpoint.sent.borrow().len(), 12);
}

#[tokio::test(start_paused = true)]
async fn an_endpoint_that_recovers_gets_the_third_attempt_3_seconds_in_and_no_more_after_it() {
    let mut w = World::new().await;
    let hook = one_delivery(&mut w).await;
    let endpoint = Recording::new(w.clock, 2);
    let _stop = deliver(&w, &endpoint);

    assert_eq!(endpoint.after(3).await, [0, 1_000, 3_000]);
    w.until("the delivery is delivered", {
        let d = delivery(&hook);
        move |c| d(c).0 == DeliveryState::Delivered
    })
    .await;
    assert_eq!(
        w.read(delivery(&hook)).await,
        (DeliveryState::Delivered, vec![0, 1_000, 3_000])
    );
    w.advance_until_task_reads(Duration::from_secs(3_600)).await;
    assert_eq!(endpoint.sent.borrow().len(), 3);
}
