//! [`ChangeFeed`]: the serving changes of every applied log entry, in log order, with a
//! bounded history so a watcher that reconnects can resume without missing or repeating one.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use packyard_core::catalog::{Catalog, Envelope, ServingChange};
use tokio::sync::broadcast;

use crate::store::Applied;

/// The changes one applied log entry made to what edges serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// The log index of the entry.
    pub index: u64,
    /// What it changed, in the order edges must apply it.
    pub changes: Vec<ServingChange>,
}

/// Where a watcher starting at some index begins.
#[derive(Debug)]
pub enum Start {
    /// The history holds everything from the requested index: these entries, then `live`.
    Resume {
        /// Entries at or after the requested index, oldest first.
        backlog: Vec<Arc<FeedEntry>>,
        /// Entries applied from now on.
        live: broadcast::Receiver<Arc<FeedEntry>>,
    },
    /// The history no longer reaches back that far (or the watcher has nothing yet): it must
    /// start from a snapshot of the catalog, then follow `live`.
    Snapshot {
        /// Entries applied from now on.
        live: broadcast::Receiver<Arc<FeedEntry>>,
    },
}

/// The feed one node publishes as it applies log entries.
#[derive(Debug)]
pub struct ChangeFeed {
    state: Mutex<State>,
    live: broadcast::Sender<Arc<FeedEntry>>,
}

#[derive(Debug)]
struct State {
    /// Entries with changes, oldest first, at most `capacity`.
    history: VecDeque<Arc<FeedEntry>>,
    capacity: usize,
    /// The index of the last entry applied, with or without changes.
    last_index: u64,
    /// Every entry after this index is either in `history` or had no changes.
    covered_from: u64,
}

impl ChangeFeed {
    /// A feed keeping the last `capacity` entries that changed anything, whose state machine
    /// has applied everything up to `last_index` (0 for a fresh node).
    pub fn new(capacity: usize, last_index: u64) -> Self {
        let (live, _) = broadcast::channel(capacity.max(16));
        let state = State {
            history: VecDeque::new(),
            capacity: capacity.max(1),
            last_index,
            covered_from: last_index,
        };
        Self {
            state: Mutex::new(state),
            live,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain data behind, still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The index of the last entry applied.
    pub fn last_index(&self) -> u64 {
        self.state().last_index
    }

    /// Records the entry at `index`. Call it while still holding the catalog's write lock,
    /// so a reader that sees the catalog also sees the matching [`ChangeFeed::last_index`].
    pub fn publish(&self, index: u64, changes: Vec<ServingChange>) {
        let mut state = self.state();
        state.last_index = index;
        if changes.is_empty() {
            return;
        }
        let entry = Arc::new(FeedEntry { index, changes });
        if state.history.len() == state.capacity
            && let Some(dropped) = state.history.pop_front()
        {
            state.covered_from = dropped.index;
        }
        state.history.push_back(entry.clone());
        // Nobody listening is fine: watchers that connect later read the history.
        let _ = self.live.send(entry);
    }

    /// Forgets the history after a snapshot was installed at `index`: watchers behind it must
    /// start from a snapshot.
    pub fn reset(&self, index: u64) {
        let mut state = self.state();
        state.history.clear();
        state.last_index = index;
        state.covered_from = index;
    }

    /// Where a watcher that wants every entry from `from` on begins.
    pub fn start(&self, from: u64) -> Start {
        let state = self.state();
        // Subscribing under the lock: nothing published between the backlog and `live`.
        let live = self.live.subscribe();
        if from == 0 || from <= state.covered_from {
            return Start::Snapshot { live };
        }
        let backlog = state
            .history
            .iter()
            .filter(|e| e.index >= from)
            .cloned()
            .collect();
        Start::Resume { backlog, live }
    }
}

/// Applies one log entry to the catalog and publishes what it changed for edges: the view of
/// the app the command touches, before and after. The caller holds the catalog exclusively.
pub fn apply_and_publish(
    catalog: &mut Catalog,
    feed: &ChangeFeed,
    index: u64,
    envelope: Envelope,
) -> Applied {
    let mut changes = Vec::new();
    let applied = apply_collecting(catalog, envelope, &mut changes);
    feed.publish(index, changes);
    applied
}

/// Applies one envelope to the catalog and adds what it changed for edges to `changes`, for
/// a log entry of several envelopes that publishes once. The caller holds the catalog
/// exclusively.
pub fn apply_collecting(
    catalog: &mut Catalog,
    envelope: Envelope,
    changes: &mut Vec<ServingChange>,
) -> Applied {
    let touched = catalog.serving_app(&envelope.command);
    let before = touched.as_ref().and_then(|app| catalog.serving_view(app));
    let cluster_before = catalog.cluster_view();
    let applied = catalog.apply(envelope);
    if let (Ok(_), Some(after)) = (
        &applied,
        touched.as_ref().and_then(|app| catalog.serving_view(app)),
    ) {
        changes.extend(catalog.serving_changes(before.as_ref(), &after));
    }
    changes.extend(catalog.cluster_changes(&cluster_before));
    applied
}

#[cfg(test)]
mod tests {
    use packyard_core::LanguageTag;
    use packyard_core::catalog::AppId;

    use super::*;

    fn change(n: u8) -> Vec<ServingChange> {
        vec![ServingChange::App {
            app: AppId::new(format!("app-{n}")),
            primary_language: LanguageTag::parse("en").unwrap(),
        }]
    }

    #[test]
    fn a_watcher_resumes_from_history_and_then_follows_live() {
        let feed = ChangeFeed::new(8, 0);
        feed.publish(1, change(1));
        feed.publish(2, vec![]);
        feed.publish(3, change(3));
        let Start::Resume { backlog, mut live } = feed.start(2) else {
            panic!("history covers 2")
        };
        assert_eq!(backlog.iter().map(|e| e.index).collect::<Vec<_>>(), [3]);
        feed.publish(4, change(4));
        assert_eq!(live.try_recv().unwrap().index, 4);
        assert_eq!(feed.last_index(), 4);
    }

    #[test]
    fn a_watcher_behind_the_history_or_new_starts_from_a_snapshot() {
        let feed = ChangeFeed::new(2, 0);
        for i in 1..=4 {
            feed.publish(i, change(u8::try_from(i).unwrap()));
        }
        assert!(matches!(feed.start(0), Start::Snapshot { .. }));
        assert!(
            matches!(feed.start(2), Start::Snapshot { .. }),
            "entry 2 was dropped"
        );
        assert!(matches!(feed.start(4), Start::Resume { .. }));
        feed.reset(10);
        assert!(matches!(feed.start(5), Start::Snapshot { .. }));
        assert!(matches!(feed.start(11), Start::Resume { .. }));
    }

    #[test]
    fn a_node_restarted_at_some_index_resumes_only_after_it() {
        let feed = ChangeFeed::new(4, 50);
        assert!(matches!(feed.start(50), Start::Snapshot { .. }));
        let Start::Resume { backlog, .. } = feed.start(51) else {
            panic!()
        };
        assert!(backlog.is_empty());
    }
}
