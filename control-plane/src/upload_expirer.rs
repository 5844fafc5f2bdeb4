//! [`expire_stale_uploads`]: the leader's reservation timer. An upload file reserved and
//! never committed holds quota (rule R9) and staged bytes at the origin; once its time is up
//! the leader proposes `ExpireUploadFile`, the catalog checks the time in the envelope and
//! fails the version `UPLOAD_EXPIRED`, and the origin's staging sweep removes its parts.

use std::future::Future;
use std::time::Duration;

use packyard_core::catalog::{Actor, Command, Envelope, ExpireUploadFile};
use tokio::time::MissedTickBehavior;

use crate::clock::Clock;
use crate::store::CatalogStore;

/// How often the leader looks for expired reservations: a tenth of the expiry, between a
/// second and a minute.
pub fn sweep_interval(ttl: Duration) -> Duration {
    (ttl / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// While this node leads, proposes `ExpireUploadFile` for every upload file reserved more
/// than `ttl` ago by `clock` and still awaiting its upload, every [`sweep_interval`], until
/// `shutdown`. A proposal repeated (a slow commit, a new leader) is refused by the catalog,
/// not applied twice.
pub async fn expire_stale_uploads<S: CatalogStore>(
    store: S,
    clock: Clock,
    ttl: Duration,
    shutdown: impl Future<Output = ()> + Send,
) {
    let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    let mut tick = tokio::time::interval(sweep_interval(ttl));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = tick.tick() => {}
        }
        if !store.is_leader().await {
            continue;
        }
        let at = clock.now();
        let due = match store.read(move |c| c.expired_uploads(at, ttl_ms)).await {
            Ok(due) => due,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read upload reservations");
                continue;
            }
        };
        for id in due {
            let envelope = Envelope {
                actor: Actor::System,
                at: clock.now(),
                command: Command::ExpireUploadFile(ExpireUploadFile {
                    id: id.clone(),
                    ttl_ms,
                }),
                key: None,
            };
            match store.write(envelope).await {
                Ok(Ok(_)) => tracing::info!(file = %id, "an upload reservation expired"),
                Ok(Err(refusal)) => tracing::debug!(file = %id, %refusal, "expiry refused"),
                Err(e) => tracing::warn!(file = %id, error = %e, "cannot propose an expiry"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_runs_a_tenth_of_the_expiry_between_a_second_and_a_minute() {
        assert_eq!(
            sweep_interval(Duration::from_secs(86_400)),
            Duration::from_secs(60)
        );
        assert_eq!(
            sweep_interval(Duration::from_secs(100)),
            Duration::from_secs(10)
        );
        assert_eq!(
            sweep_interval(Duration::from_secs(2)),
            Duration::from_secs(1)
        );
    }
}
