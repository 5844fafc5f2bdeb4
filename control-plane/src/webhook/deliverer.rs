//! [`Deliverer`]: the task that sends due webhook deliveries while its node leads.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use packyard_core::catalog::{
    Actor, AttemptOutcome, Command, Envelope, RecordDeliveryAttempt, Timestamp, WebhookId,
};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use super::attempt::Job;
use super::config::DelivererConfig;
use super::transport::Transport;
use crate::clock::Clock;
use crate::store::CatalogStore;

/// Sends the catalog's due deliveries and records each outcome through the store.
///
/// Every `poll_interval_ms`, if this node leads, it reads the deliveries due now and starts
/// one task per endpoint that is not already being sent to, up to `max_concurrent` at once.
/// An endpoint's task sends its deliveries in order and stops at its first failure (that
/// endpoint is down or slow; the rest wait for their turn in a later round), so a slow
/// endpoint delays only itself.
#[derive(Debug)]
pub struct Deliverer<S, T> {
    store: Arc<S>,
    transport: Arc<T>,
    config: DelivererConfig,
    clock: Clock,
    /// Endpoints with a task under way.
    busy: Arc<Mutex<HashSet<WebhookId>>>,
    slots: Arc<Semaphore>,
}

impl<S: CatalogStore, T: Transport> Deliverer<S, T> {
    /// A deliverer over `store`, sending with `transport` ([`super::HttpTransport`] on a
    /// node) and judging what is due by the system clock.
    pub fn new(store: S, transport: T, config: DelivererConfig) -> Self {
        let slots = Arc::new(Semaphore::new(config.max_concurrent.max(1)));
        Self {
            store: Arc::new(store),
            transport: Arc::new(transport),
            config,
            clock: Clock::System,
            busy: Arc::default(),
            slots,
        }
    }

    /// The deliverer judging what is due, and stamping attempts, by `clock`.
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    /// Polls until `shutdown` resolves. Sends under way are then dropped: their deliveries
    /// stay pending and are sent again, by this node or the next leader.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let mut tick = tokio::time::interval(self.config.poll_interval());
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut tasks = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = tick.tick() => {}
            }
            while tasks.try_join_next().is_some() {}
            if !self.store.is_leader().await {
                continue;
            }
            self.round(&mut tasks).await;
        }
        tasks.abort_all();
    }

    /// One round: starts a task for every idle endpoint with due deliveries.
    async fn round(&self, tasks: &mut JoinSet<()>) {
        let at = self.clock.now();
        let jobs = self
            .store
            .read(move |c| {
                c.due_deliveries(at)
                    .into_iter()
                    .filter_map(|d| Job::of(c, d))
                    .collect::<Vec<_>>()
            })
            .await;
        let jobs = match jobs {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(error = %e, "could not read due webhook deliveries");
                return;
            }
        };
        let mut by_endpoint: BTreeMap<WebhookId, Vec<Job>> = BTreeMap::new();
        for job in jobs {
            let batch = by_endpoint.entry(job.webhook.clone()).or_default();
            if batch.len() < self.config.batch_per_endpoint {
                batch.push(job);
            }
        }
        for (webhook, batch) in by_endpoint {
            if !self.lock_busy().insert(webhook.clone()) {
                continue;
            }
            let store = Arc::clone(&self.store);
            let transport = Arc::clone(&self.transport);
            let clock = self.clock;
            let busy = Arc::clone(&self.busy);
            let slots = Arc::clone(&self.slots);
            tasks.spawn(async move {
                // The semaphore is never closed, so acquiring only waits.
                if let Ok(_slot) = slots.acquire_owned().await {
                    for job in batch {
                        let outcome = transport.send(&job).await;
                        let failed = matches!(outcome, AttemptOutcome::Failed { .. });
                        record(&*store, &job, outcome, clock.now()).await;
                        if failed {
                            break;
                        }
                    }
                }
                busy.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&webhook);
            });
        }
    }

    fn lock_busy(&self) -> std::sync::MutexGuard<'_, HashSet<WebhookId>> {
        self.busy.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Proposes the outcome of one attempt. A refusal is expected now and then (the webhook was
/// deleted meanwhile, or another leader recorded the delivery first) and changes nothing.
async fn record<S: CatalogStore>(store: &S, job: &Job, outcome: AttemptOutcome, at: Timestamp) {
    let delivered = matches!(outcome, AttemptOutcome::Delivered { .. });
    let envelope = Envelope {
        actor: Actor::System,
        at,
        command: Command::RecordDeliveryAttempt(RecordDeliveryAttempt {
            delivery: job.delivery.clone(),
            outcome,
        }),
        key: None,
    };
    match store.write(envelope).await {
        Ok(Ok(_)) => {
            tracing::debug!(delivery = %job.delivery, delivered, "webhook attempt recorded")
        }
        Ok(Err(refusal)) => {
            tracing::debug!(delivery = %job.delivery, %refusal, "webhook attempt not recorded");
        }
        Err(e) => {
            tracing::warn!(delivery = %job.delivery, error = %e, "webhook attempt not recorded; it will be sent again");
        }
    }
}
