//! [`Deliverer`]: the task that sends due webhook deliveries while its node leads.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use packyard_core::catalog::{
    AppId, AttemptOutcome, Command, RecordDeliveryAttempt, Timestamp, WebhookId,
};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use super::attempt::Job;
use super::config::DelivererConfig;
use super::fair_share::FairShare;
use super::transport::Transport;
use crate::clock::Clock;
use crate::store::CatalogStore;

/// Sends the catalog's due deliveries and records each outcome through the store.
///
/// Every `poll_interval_ms`, if this node leads, it reads the deliveries due now and starts
/// one task per endpoint that is not already being sent to, as many as there are free slots
/// (`max_concurrent`), the slots shared out between apps by [`FairShare`] (apps in turn, at
/// most `max_concurrent_per_app` each). An endpoint's task sends its deliveries in order and
/// stops at its first failure (that endpoint is down or slow; the rest wait for their turn
/// in a later round), so a slow endpoint delays only itself, and an app's slow endpoints
/// never hold another app's deliveries.
#[derive(Debug)]
pub struct Deliverer<S, T> {
    store: Arc<S>,
    transport: Arc<T>,
    config: DelivererConfig,
    clock: Clock,
    /// Endpoints with a task under way, and how many each app has.
    in_flight: Arc<Mutex<InFlight>>,
    share: FairShare<AppId>,
}

/// The endpoints being sent to now.
#[derive(Debug, Default)]
struct InFlight {
    endpoints: HashSet<WebhookId>,
    per_app: BTreeMap<AppId, usize>,
}

/// One endpoint's place in [`InFlight`], given back when its task ends however it ends.
struct Slot {
    in_flight: Arc<Mutex<InFlight>>,
    app: AppId,
    webhook: WebhookId,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut in_flight = lock(&self.in_flight);
        in_flight.endpoints.remove(&self.webhook);
        if let Some(n) = in_flight.per_app.get_mut(&self.app) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                in_flight.per_app.remove(&self.app);
            }
        }
    }
}

fn lock(in_flight: &Mutex<InFlight>) -> MutexGuard<'_, InFlight> {
    in_flight.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<S: CatalogStore, T: Transport> Deliverer<S, T> {
    /// A deliverer over `store`, sending with `transport` ([`super::HttpTransport`] on a
    /// node) and judging what is due by the system clock.
    pub fn new(store: S, transport: T, config: DelivererConfig) -> Self {
        let share = FairShare::new(config.max_concurrent_per_app.max(1));
        Self {
            store: Arc::new(store),
            transport: Arc::new(transport),
            config,
            clock: Clock::System,
            in_flight: Arc::default(),
            share,
        }
    }

    /// The deliverer judging what is due, and stamping attempts, by `clock`.
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    /// Polls until `shutdown` resolves. Sends under way are then dropped: their deliveries
    /// stay pending and are sent again, by this node or the next leader.
    pub async fn run(mut self, shutdown: impl Future<Output = ()> + Send) {
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

    /// One round: starts tasks for idle endpoints with due deliveries, as slots allow.
    async fn round(&mut self, tasks: &mut JoinSet<()>) {
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
        let (waiting, mut batches, running, free) = {
            let in_flight = lock(&self.in_flight);
            let (waiting, batches) = self.waiting(jobs, &in_flight.endpoints);
            let free = self
                .config
                .max_concurrent
                .saturating_sub(in_flight.endpoints.len());
            (waiting, batches, in_flight.per_app.clone(), free)
        };
        for (app, webhook) in self.share.pick(&waiting, &running, free) {
            let Some(batch) = batches.remove(&webhook) else {
                continue;
            };
            let slot = self.take_slot(app, webhook);
            let store = Arc::clone(&self.store);
            let transport = Arc::clone(&self.transport);
            let clock = self.clock;
            tasks.spawn(async move {
                let _slot = slot;
                for job in batch {
                    let outcome = transport.send(&job).await;
                    let failed = matches!(outcome, AttemptOutcome::Failed { .. });
                    record(&*store, &job, outcome, clock.now()).await;
                    if failed {
                        break;
                    }
                }
            });
        }
    }

    /// The idle endpoints with due deliveries, per app, oldest due first, and each one's
    /// batch (at most `batch_per_endpoint` deliveries, in order). `jobs` come oldest first.
    fn waiting(
        &self,
        jobs: Vec<Job>,
        busy: &HashSet<WebhookId>,
    ) -> (
        BTreeMap<AppId, Vec<WebhookId>>,
        BTreeMap<WebhookId, Vec<Job>>,
    ) {
        let mut waiting: BTreeMap<AppId, Vec<WebhookId>> = BTreeMap::new();
        let mut batches: BTreeMap<WebhookId, Vec<Job>> = BTreeMap::new();
        for job in jobs.into_iter().filter(|j| !busy.contains(&j.webhook)) {
            let batch = batches.entry(job.webhook.clone()).or_insert_with(|| {
                waiting
                    .entry(job.app.clone())
                    .or_default()
                    .push(job.webhook.clone());
                Vec::new()
            });
            if batch.len() < self.config.batch_per_endpoint {
                batch.push(job);
            }
        }
        (waiting, batches)
    }

    /// Marks `webhook` of `app` as being sent to, until the returned slot is dropped.
    fn take_slot(&self, app: AppId, webhook: WebhookId) -> Slot {
        let mut in_flight = lock(&self.in_flight);
        in_flight.endpoints.insert(webhook.clone());
        *in_flight.per_app.entry(app.clone()).or_default() += 1;
        Slot {
            in_flight: Arc::clone(&self.in_flight),
            app,
            webhook,
        }
    }
}

/// Proposes the outcome of one attempt. A refusal is expected now and then (the webhook was
/// deleted meanwhile, or another leader recorded the delivery first) and changes nothing.
async fn record<S: CatalogStore>(store: &S, job: &Job, outcome: AttemptOutcome, at: Timestamp) {
    let delivered = matches!(outcome, AttemptOutcome::Delivered { .. });
    let command = Command::RecordDeliveryAttempt(RecordDeliveryAttempt {
        delivery: job.delivery.clone(),
        outcome,
    });
    match store.write_as_system(at, command).await {
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
