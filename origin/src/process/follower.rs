//! [`follow`]: keeps a [`CatalogView`] in step with the control plane's watch stream,
//! reconnecting with backoff and resuming after the last index handled.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::view::CatalogView;
use crate::control::{ControlPlane, ProcessingVersion};
use crate::stop::Stop;

/// A stream that says nothing for this long (the control plane sends a heartbeat every few
/// seconds) is taken for dead and reconnected.
const SILENCE: Duration = Duration::from_secs(30);
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Follows the watch stream until `stop`: starts from a snapshot (index 0), applies every
/// event to `view`, and hands each version announced as awaiting processing to `announce`.
/// After a broken stream it waits (100 ms doubling to 5 s) and resumes from the last index
/// handled + 1, so nothing is missed and nothing is applied twice.
pub async fn follow(
    control: ControlPlane,
    watcher_id: String,
    view: Arc<Mutex<CatalogView>>,
    announce: impl Fn(ProcessingVersion) + Send,
    stop: Stop,
) {
    let lock = || view.lock().unwrap_or_else(PoisonError::into_inner);
    let mut backoff = BACKOFF_START;
    while !stop.is_stopped() {
        let from = lock().resume_from();
        let opened = tokio::select! {
            () = stop.stopped() => return,
            opened = control.watch(from, &watcher_id) => opened,
        };
        match opened {
            Ok(mut stream) => loop {
                let next = tokio::select! {
                    () = stop.stopped() => return,
                    next = tokio::time::timeout(SILENCE, stream.message()) => next,
                };
                match next {
                    Ok(Ok(Some(event))) => {
                        backoff = BACKOFF_START;
                        let announced = lock().apply(&event);
                        announced.into_iter().for_each(&announce);
                    }
                    Ok(Ok(None)) => {
                        tracing::info!("the watch stream ended; reconnecting");
                        break;
                    }
                    Ok(Err(status)) => {
                        tracing::warn!(error = %status, "the watch stream failed; reconnecting");
                        break;
                    }
                    Err(_silent) => {
                        tracing::warn!("the watch stream went silent; reconnecting");
                        break;
                    }
                }
            },
            Err(status) => {
                tracing::warn!(from, error = %status, "cannot watch the control plane; retrying");
            }
        }
        if !stop.sleep(backoff).await {
            return;
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}
