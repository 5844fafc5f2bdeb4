//! [`SingleFlight`]: concurrent requests for one key share one computation.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

type InFlight<K, V> = Arc<Mutex<HashMap<K, watch::Receiver<Option<V>>>>>;

/// The computations under way, one per key. The first request for a key becomes its
/// [`Leader`] and runs it; later ones [`Follow`](Joined::Follow) and wait for the same value.
///
/// The leader is a value, not a future: the caller runs the computation wherever it likes
/// (the cache spawns it on its own task, so a request that gives up waiting cancels nothing).
#[derive(Debug)]
pub(crate) struct SingleFlight<K, V> {
    in_flight: InFlight<K, V>,
}

/// What a request for a key got.
#[derive(Debug)]
pub(crate) enum Joined<K: Eq + Hash, V, R> {
    /// Nothing was under way but the value is already there (re-checked under the lock).
    Ready(R),
    /// Nothing was under way: this request runs the computation and waits like the others.
    Lead(Leader<K, V>, Waiter<V>),
    /// A computation is under way: wait for its value.
    Follow(Waiter<V>),
}

impl<K: Eq + Hash + Clone, V: Clone> SingleFlight<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            in_flight: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Joins the computation for `key`, or starts one. `ready` runs under the lock when none
    /// is under way: a value stored by a computation that has just finished is found there
    /// instead of being computed again.
    pub(crate) fn join<R>(&self, key: &K, ready: impl FnOnce() -> Option<R>) -> Joined<K, V, R> {
        let mut in_flight = lock(&self.in_flight);
        if let Some(rx) = in_flight.get(key) {
            return Joined::Follow(Waiter(rx.clone()));
        }
        if let Some(value) = ready() {
            return Joined::Ready(value);
        }
        let (tx, rx) = watch::channel(None);
        in_flight.insert(key.clone(), rx.clone());
        let leader = Leader {
            key: key.clone(),
            tx: Some(tx),
            in_flight: Arc::clone(&self.in_flight),
        };
        Joined::Lead(leader, Waiter(rx))
    }

    /// How many computations are under way.
    pub(crate) fn len(&self) -> usize {
        lock(&self.in_flight).len()
    }
}

fn lock<K, V>(
    in_flight: &InFlight<K, V>,
) -> MutexGuard<'_, HashMap<K, watch::Receiver<Option<V>>>> {
    // Each critical section is one map lookup, insert or remove.
    in_flight.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The request that runs a key's computation. [`finish`](Self::finish) hands the value to
/// every waiter; dropped unfinished (a panic), it leaves them a `None`.
#[derive(Debug)]
pub(crate) struct Leader<K: Eq + Hash, V> {
    key: K,
    tx: Option<watch::Sender<Option<V>>>,
    in_flight: InFlight<K, V>,
}

impl<K: Eq + Hash, V> Leader<K, V> {
    /// Ends the computation with `value`. The key leaves the map first, so a request arriving
    /// after this either found the stored value or starts afresh (errors are not kept).
    pub(crate) fn finish(mut self, value: V) {
        lock(&self.in_flight).remove(&self.key);
        if let Some(tx) = self.tx.take() {
            tx.send_replace(Some(value));
        }
    }
}

impl<K: Eq + Hash, V> Drop for Leader<K, V> {
    fn drop(&mut self) {
        if self.tx.is_some() {
            // Unfinished: waiters see the sender go away.
            lock(&self.in_flight).remove(&self.key);
        }
    }
}

/// Waits for a computation's value.
#[derive(Debug)]
pub(crate) struct Waiter<V>(watch::Receiver<Option<V>>);

impl<V: Clone> Waiter<V> {
    /// The value, or `None` if the leader ended without one.
    pub(crate) async fn wait(mut self) -> Option<V> {
        match self.0.wait_for(Option::is_some).await {
            Ok(value) => value.clone(),
            Err(_) => None,
        }
    }
}
