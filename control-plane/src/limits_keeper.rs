//! [`keep_limits`]: the leader makes the catalog's limits (quota, R9, and what users may
//! create, R14) those of its configuration. Limits live in the replicated catalog, so every
//! replica applies a command under the same limits; a node's `[quota]` table reaches the
//! catalog through this task, once that node leads.

use std::future::Future;
use std::time::Duration;

use packyard_core::catalog::Command;
use packyard_core::quota::QuotaLimits;

use crate::clock::Clock;
use crate::leader_duty::while_leading;
use crate::store::CatalogStore;

/// How often a node looks whether it leads with limits other than its own.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// While this node leads, proposes `SetLimits` with `limits` whenever the catalog's differ,
/// every [`CHECK_INTERVAL`], until `shutdown`.
pub async fn keep_limits<S: CatalogStore>(
    store: S,
    clock: Clock,
    limits: QuotaLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let store = &store;
    let limits = &limits;
    while_leading(store, CHECK_INTERVAL, shutdown, || async move {
        let wanted = limits.clone();
        match store.read(move |c| c.limits() != &wanted).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read the catalog's limits");
                return;
            }
        }
        let command = Command::SetLimits {
            limits: limits.clone(),
        };
        match store.write_as_system(clock.now(), command).await {
            Ok(Ok(_)) => tracing::info!("the catalog's limits are now this node's [quota]"),
            Ok(Err(refusal)) => tracing::warn!(%refusal, "the configured limits were refused"),
            Err(e) => tracing::debug!(error = %e, "cannot propose the configured limits"),
        }
    })
    .await;
}
