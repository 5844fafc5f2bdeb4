//! [`expire_stale_uploads`]: the leader's upload timer. A version that will never be
//! processed as it stands (a file reserved and never committed, files committed without an
//! archive, processing never reported) holds quota (rule R9) and staged bytes at the origin;
//! once its time is up ([`packyard_core::upload_expiry::stall`]) the leader proposes
//! `ExpireVersion`, the catalog checks the time in the envelope and fails the version and
//! its open files, and the origin's staging sweep removes their parts.

use std::future::Future;
use std::time::Duration;

use packyard_core::catalog::{Command, ExpireVersion};
use packyard_core::upload_expiry::Deadlines;

use crate::clock::Clock;
use crate::leader_duty::while_leading;
use crate::store::CatalogStore;

/// How often the leader looks for expired reservations: a tenth of the expiry, between a
/// second and a minute.
pub fn sweep_interval(ttl: Duration) -> Duration {
    (ttl / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// While this node leads, proposes `ExpireVersion` for every version the catalog finds
/// stalled under `deadlines` at `clock`'s time, every [`sweep_interval`] of the shorter
/// deadline, until `shutdown`. A proposal repeated (a slow commit, a new leader) is refused
/// by the catalog, not applied twice.
pub async fn expire_stale_uploads<S: CatalogStore>(
    store: S,
    clock: Clock,
    deadlines: Deadlines,
    shutdown: impl Future<Output = ()> + Send,
) {
    let shortest = deadlines.reservation_ms.min(deadlines.processing_ms);
    let interval = sweep_interval(Duration::from_millis(shortest));
    let store = &store;
    while_leading(store, interval, shutdown, || async move {
        let at = clock.now();
        let due = match store.read(move |c| c.stalled_versions(at, deadlines)).await {
            Ok(due) => due,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read upload reservations");
                return;
            }
        };
        for version in due {
            let command = Command::ExpireVersion(ExpireVersion {
                version: version.clone(),
                reservation_ms: deadlines.reservation_ms,
                processing_ms: deadlines.processing_ms,
            });
            match store.write_as_system(clock.now(), command).await {
                Ok(Ok(_)) => {
                    tracing::info!(%version, "a version that would never be processed expired")
                }
                Ok(Err(refusal)) => tracing::debug!(%version, %refusal, "expiry refused"),
                Err(e) => tracing::warn!(%version, error = %e, "cannot propose an expiry"),
            }
        }
    })
    .await;
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
