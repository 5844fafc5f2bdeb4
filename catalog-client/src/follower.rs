//! [`follow`]: keeps a [`WatchView`] in step with the control plane's watch stream,
//! reconnecting with backoff and resuming after the last index handled.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use packyard_proto::catalog::v1 as pb;

use crate::{CatalogClient, Stop};

/// What a follower keeps up to date: a pure view of the catalog built from watch events.
pub trait WatchView: Send + 'static {
    /// What applying one event hands to the caller (for example versions to process).
    type Applied: Send;

    /// The `from_index` to watch from: the last index handled + 1, or 0 for a snapshot.
    fn resume_from(&self) -> u64;

    /// Applies one event. An event at or below the last index handled (a resume that
    /// overlaps) must change nothing.
    fn apply(&mut self, event: &pb::WatchEvent) -> Self::Applied;
}

/// How patiently a follower waits and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowTiming {
    /// A stream that says nothing for this long is taken for dead and reconnected (the
    /// control plane sends a heartbeat every few seconds). Default 30 s.
    pub silence: Duration,
    /// The first wait after a failure; it doubles up to `backoff_max`, with jitter
    /// ([`packyard_net::backoff`]). Default 100 ms.
    pub backoff_start: Duration,
    /// The longest wait between attempts. Default 5 s.
    pub backoff_max: Duration,
}

impl Default for FollowTiming {
    fn default() -> Self {
        Self {
            silence: Duration::from_secs(30),
            backoff_start: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
        }
    }
}

/// Follows the watch stream until `stop`: starts from `view.resume_from()` (0: a snapshot),
/// applies every event to `view` and hands what it returns to `applied`. After a broken
/// stream it waits (backoff doubling to its maximum) and resumes from the last index
/// handled + 1, so nothing is missed and nothing is applied twice.
pub async fn follow<V: WatchView>(
    client: CatalogClient,
    watcher_id: String,
    view: Arc<Mutex<V>>,
    mut applied: impl FnMut(V::Applied) + Send,
    timing: FollowTiming,
    stop: Stop,
) {
    let lock = || view.lock().unwrap_or_else(PoisonError::into_inner);
    let restart = || packyard_net::backoff(timing.backoff_start, timing.backoff_max);
    let mut delays = restart();
    let mut failures = 0;
    while !stop.is_stopped() {
        let from = lock().resume_from();
        let opened = tokio::select! {
            () = stop.stopped() => return,
            opened = client.watch(from, &watcher_id) => opened,
        };
        match opened {
            Ok((member, mut stream)) => loop {
                let next = tokio::select! {
                    () = stop.stopped() => return,
                    next = tokio::time::timeout(timing.silence, stream.message()) => next,
                };
                match next {
                    Ok(Ok(Some(event))) => {
                        delays = restart();
                        failures = 0;
                        let out = lock().apply(&event);
                        applied(out);
                    }
                    Ok(Ok(None)) => {
                        tracing::info!(member = %member.addr, "the watch stream ended; reconnecting");
                        client.members().failed(&member, &"the watch stream ended");
                        break;
                    }
                    Ok(Err(status)) => {
                        tracing::warn!(member = %member.addr, error = %status, "the watch stream failed; reconnecting");
                        client.members().failed(&member, &status);
                        break;
                    }
                    Err(_silent) => {
                        tracing::warn!(member = %member.addr, "the watch stream went silent; reconnecting");
                        client
                            .members()
                            .failed(&member, &"the watch stream went silent");
                        break;
                    }
                }
            },
            Err(status) => {
                failures += 1;
                crate::report_retry("cannot watch the control plane", &status, failures);
            }
        }
        if !stop
            .sleep(delays.next().unwrap_or(timing.backoff_max))
            .await
        {
            return;
        }
    }
}
