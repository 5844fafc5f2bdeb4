//! [`Delivery`]: one event owed to one webhook, the outbox entry the catalog queues in the
//! same apply as the command that emitted the event; the [`WebhookPolicy`] that schedules its
//! retries; and `RecordDeliveryAttempt`, with which the leader's deliverer reports each try.
//!
//! Delivery is at least once: an attempt whose outcome was not recorded (the leader crashed
//! or lost leadership mid-request) is tried again by the next leader, so receivers
//! de-duplicate on the event id.

use serde::{Deserialize, Serialize};

use super::*;

state_enum! {
    /// Where a delivery stands.
    DeliveryState {
        /// Not delivered yet; tried again at `next_attempt_at`.
        Pending = "PENDING",
        /// The endpoint answered 2xx.
        Delivered = "DELIVERED",
        /// Every allowed attempt failed; no more are made.
        Abandoned = "ABANDONED",
    }
}

/// What one attempt to POST a delivery came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "result")]
pub enum AttemptOutcome {
    /// The endpoint answered with a 2xx status.
    Delivered {
        /// That status.
        status: u16,
    },
    /// The endpoint answered otherwise, or could not be reached in time.
    Failed {
        /// The status it answered, if it answered.
        status: Option<u16>,
        /// What went wrong, for the delivery log.
        error: String,
    },
}

/// One attempt, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When its outcome was recorded.
    pub at: Timestamp,
    /// What it came to.
    pub outcome: AttemptOutcome,
}

/// One event owed to one webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Its id, from the catalog's delivery counter (`dlv-000000000007`).
    pub id: DeliveryId,
    /// The webhook it goes to.
    pub webhook: WebhookId,
    /// The event it carries.
    pub event: Event,
    /// Where it stands.
    pub state: DeliveryState,
    /// The attempts so far, oldest first.
    pub attempts: Vec<Attempt>,
    /// When it is due next, while it is pending.
    pub next_attempt_at: Timestamp,
}

impl Delivery {
    /// The exact bytes POSTed for it: [`webhook::payload`] as JSON. The same on every try.
    pub fn body(&self) -> Vec<u8> {
        // Serializing a `Value` to memory cannot fail.
        serde_json::to_vec(&webhook::payload(&self.event)).unwrap_or_default()
    }
}

/// How deliveries are retried and how much of the log is kept. Part of the replicated state,
/// like the quota limits, so every replica schedules the same retries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookPolicy {
    /// The wait after the first failed attempt, in milliseconds; each further failure doubles
    /// it. Default: 1,000.
    pub first_retry_ms: u64,
    /// The longest wait between attempts, in milliseconds. Default: 600,000 (10 minutes).
    pub max_retry_ms: u64,
    /// Attempts before a delivery is abandoned. Default: 12.
    pub max_attempts: usize,
    /// Finished (delivered or abandoned) deliveries kept per webhook, newest first; pending
    /// ones are always kept. Default: 200.
    pub keep_finished: usize,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        Self {
            first_retry_ms: 1_000,
            max_retry_ms: 600_000,
            max_attempts: 12,
            keep_finished: 200,
        }
    }
}

impl WebhookPolicy {
    /// The wait after the `failures`-th failed attempt (1 for the first): exponential from
    /// `first_retry_ms`, capped at `max_retry_ms`.
    pub fn retry_delay_ms(&self, failures: usize) -> u64 {
        let doublings = u32::try_from(failures.saturating_sub(1)).unwrap_or(u32::MAX);
        let factor = 1u64.checked_shl(doublings).unwrap_or(u64::MAX);
        self.first_retry_ms
            .saturating_mul(factor)
            .min(self.max_retry_ms)
    }
}

impl Catalog {
    /// The outbox: gives every event its id and queues one delivery per webhook that wants
    /// it, due at once. Runs inside [`Catalog::apply`] after the command succeeded, so a
    /// refused command queues nothing.
    pub(super) fn publish(&mut self, events: &mut [Event]) {
        for event in events {
            self.next_event += 1;
            event.id = EventId::new(format!("evt-{:012}", self.next_event));
            let targets: Vec<WebhookId> = self
                .webhooks
                .values()
                .filter(|w| w.wants(event))
                .map(|w| w.id.clone())
                .collect();
            for webhook in targets {
                self.next_delivery += 1;
                let id = DeliveryId::new(format!("dlv-{:012}", self.next_delivery));
                let delivery = Delivery {
                    id: id.clone(),
                    webhook,
                    event: event.clone(),
                    state: DeliveryState::Pending,
                    attempts: Vec::new(),
                    next_attempt_at: event.timestamp,
                };
                self.deliveries.insert(id, delivery);
            }
        }
    }

    /// `RecordDeliveryAttempt` (Packyard only): a 2xx ends the delivery; a failure schedules
    /// the next attempt after the policy's backoff, or abandons it after the last one. A
    /// finished delivery takes no more attempts, so a deliverer that reports twice (a retry
    /// after a lost answer, two leaders overlapping) cannot corrupt it.
    pub(super) fn record_delivery_attempt(
        &mut self,
        ctx: &Ctx,
        attempt: RecordDeliveryAttempt,
    ) -> Result<Vec<Event>, Refusal> {
        let RecordDeliveryAttempt {
            delivery: id,
            outcome,
        } = attempt;
        self.require_system(&ctx.actor)?;
        let policy = self.webhook_policy.clone();
        let delivery = self
            .deliveries
            .get_mut(&id)
            .ok_or_else(|| Refusal::not_found(ResourceType::WebhookDeliveries, &id))?;
        if delivery.state != DeliveryState::Pending {
            return Err(Refusal::conflict(format!(
                "delivery {id} is already {}; it takes no more attempts",
                delivery.state
            )));
        }
        let delivered = matches!(outcome, AttemptOutcome::Delivered { .. });
        delivery.attempts.push(Attempt {
            at: ctx.at,
            outcome,
        });
        let failures = delivery.attempts.len();
        if delivered {
            delivery.state = DeliveryState::Delivered;
        } else if failures >= policy.max_attempts {
            delivery.state = DeliveryState::Abandoned;
        } else {
            delivery.next_attempt_at =
                Timestamp(ctx.at.0.saturating_add(policy.retry_delay_ms(failures)));
        }
        if delivery.state != DeliveryState::Pending {
            let webhook = delivery.webhook.clone();
            self.prune_finished(&webhook, policy.keep_finished);
        }
        Ok(Vec::new())
    }

    /// Drops all but the newest `keep` finished deliveries of `webhook`.
    fn prune_finished(&mut self, webhook: &WebhookId, keep: usize) {
        let finished: Vec<DeliveryId> = self
            .deliveries
            .values()
            .filter(|d| &d.webhook == webhook && d.state != DeliveryState::Pending)
            .map(|d| d.id.clone())
            .collect();
        let excess = finished.len().saturating_sub(keep);
        for id in finished.into_iter().take(excess) {
            self.deliveries.remove(&id);
        }
    }
}
