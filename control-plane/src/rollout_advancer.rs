//! [`advance_due_rollouts`]: the leader's soak timer. Rollouts with a soak time advance by
//! themselves once it has passed; the catalog cannot read a clock, so the leader proposes
//! `AutoAdvanceRollout` with its time in the envelope and the catalog checks it there.

use std::future::Future;
use std::time::Duration;

use packyard_core::catalog::{AutoAdvanceRollout, Command};

use crate::clock::Clock;
use crate::leader_duty::while_leading;
use crate::store::CatalogStore;

/// Every `interval`, while this node leads, proposes an automatic advance for every running
/// rollout whose soak time is over by `clock`, until `shutdown` resolves. Each proposal names
/// the stage it saw, so a proposal repeated (by this node after a slow commit, or by a new
/// leader) is refused instead of advancing twice; refusals are expected and only logged.
pub async fn advance_due_rollouts<S: CatalogStore>(
    store: S,
    clock: Clock,
    interval: Duration,
    shutdown: impl Future<Output = ()> + Send,
) {
    let store = &store;
    while_leading(store, interval, shutdown, || async move {
        let at = clock.now();
        let due = match store.read(move |c| c.due_rollouts(at)).await {
            Ok(due) => due,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read rollouts due to advance");
                return;
            }
        };
        for (rollout, stage) in due {
            let command = Command::AutoAdvanceRollout(AutoAdvanceRollout {
                rollout: rollout.clone(),
                stage,
            });
            match store.write_as_system(clock.now(), command).await {
                Ok(Ok(_)) => {
                    tracing::info!(%rollout, stage = stage + 2, "rollout advanced after its soak time")
                }
                Ok(Err(refusal)) => {
                    tracing::debug!(%rollout, %refusal, "automatic advance refused")
                }
                Err(e) => {
                    tracing::warn!(%rollout, error = %e, "cannot propose an automatic advance")
                }
            }
        }
    })
    .await;
}
