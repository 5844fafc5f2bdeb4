//! [`Standing`]: whether this node is in touch with the cluster's majority, as the watch
//! stream asks before it keeps a watcher: a node cut off from the majority (a follower that
//! knows no leader, a leader no majority answers) has no new entries to send, so its
//! watchers are sent to another member instead of waiting on a stream that says nothing.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use openraft::ServerState;

use super::type_config::Raft;

/// How long one verdict is reused: the watch streams of a node ask at each heartbeat, and a
/// leader's verdict costs a round of messages to the followers.
const REUSE: Duration = Duration::from_secs(1);

/// Judges this node's standing: a leader confirms with a majority (a read-index round, as a
/// linearizable read does), a follower must know a leader. The node counts as cut off once it
/// has been out of touch for `grace`, so an ordinary election moves no watcher.
pub struct Standing {
    raft: Raft,
    grace: Duration,
    state: Mutex<Judged>,
}

impl std::fmt::Debug for Standing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Standing")
            .field("grace", &self.grace)
            .field("judged", &*self.lock())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Judged {
    /// Since when the node has been out of touch, if it is.
    out_since: Option<Instant>,
    /// The last verdict and when it was reached.
    last: Option<(Instant, Option<String>)>,
}

impl Standing {
    /// The standing of the node `raft` runs, with `grace` before it counts as cut off.
    pub fn new(raft: Raft, grace: Duration) -> Self {
        Self {
            raft,
            grace,
            state: Mutex::new(Judged::default()),
        }
    }

    /// `None` while the node is in touch with a majority; otherwise why it is not.
    pub async fn cut_off(&self) -> Option<String> {
        if let Some((at, verdict)) = &self.lock().last
            && at.elapsed() < REUSE
        {
            return verdict.clone();
        }
        let why = self.out_of_touch().await;
        let mut judged = self.lock();
        let verdict = match why {
            None => {
                judged.out_since = None;
                None
            }
            Some(why) => {
                let since = *judged.out_since.get_or_insert_with(Instant::now);
                (since.elapsed() >= self.grace).then_some(why)
            }
        };
        judged.last = Some((Instant::now(), verdict.clone()));
        verdict
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Judged> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Why the node is out of touch right now, if it is.
    async fn out_of_touch(&self) -> Option<String> {
        let (state, leader) = {
            let metrics = self.raft.metrics();
            let m = metrics.borrow();
            (m.state, m.current_leader)
        };
        match state {
            ServerState::Leader => {
                match tokio::time::timeout(self.grace, self.raft.ensure_linearizable()).await {
                    Ok(Ok(_)) => None,
                    Ok(Err(e)) => Some(format!("this node cannot confirm that it leads: {e}")),
                    Err(_) => Some(format!(
                        "this node leads, but no majority answered it within {} ms",
                        self.grace.as_millis()
                    )),
                }
            }
            _ if leader.is_none() => Some(
                "this node knows no leader: it is cut off from the majority, or an election \
                 has not ended"
                    .to_owned(),
            ),
            _ => None,
        }
    }
}
