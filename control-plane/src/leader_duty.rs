//! [`while_leading`]: the loop every leader-only timer runs. Work that must happen once per
//! cluster on a clock (advancing rollouts after their soak, expiring stalled uploads, keeping
//! the catalog's limits those of the configuration) runs on every node's timer but acts only
//! where the node leads; a proposal repeated by a new leader is refused by the catalog, not
//! applied twice.

use std::future::Future;
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use crate::store::CatalogStore;

/// Every `interval` (a late tick waits rather than bunches), while this node leads, runs
/// `duty` to its end, until `shutdown` resolves.
pub async fn while_leading<S, F, Fut>(
    store: &S,
    interval: Duration,
    shutdown: impl Future<Output = ()> + Send,
    mut duty: F,
) where
    S: CatalogStore,
    F: FnMut() -> Fut + Send,
    Fut: Future<Output = ()> + Send,
{
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = tick.tick() => {}
        }
        if store.is_leader().await {
            duty().await;
        }
    }
}
