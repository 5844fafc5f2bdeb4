//! [`Clock`]: where a node reads the time it stamps on commands and compares with the
//! catalog's timestamps (soak times, retry schedules, leases, reservations), and the clock an
//! edge checks tester tokens' expiry by.
//!
//! The catalog never reads a clock: the node puts its time in every envelope and passes it to
//! every time-dependent read (`due_rollouts`, `due_deliveries`, `expired_uploads`,
//! `edge_status`). A node chooses its clock once, at start, and hands the same one to the
//! admin API, the gRPC services and the background tasks, so every "now" in a process comes
//! from one place.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use packyard_core::catalog::Timestamp;

/// The source of a node's timestamps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    /// The system's wall clock: what every node runs on.
    #[default]
    System,
    /// Tokio's clock, read as wall-clock time: `base` at the instant `since`, and as much later
    /// as Tokio's time has moved since then. Under paused Tokio time
    /// (`#[tokio::test(start_paused = true)]`) only `tokio::time::advance` and the runtime's
    /// auto-advance move it, so a test decides when a soak time, a retry or a lease runs out,
    /// and the timers that wait for it (`tokio::time::interval`) move in step.
    Tokio {
        /// The time at `since`.
        base: Timestamp,
        /// The Tokio instant `base` stands for.
        since: tokio::time::Instant,
    },
    /// A clock only the test that holds it moves ([`ManualTime::set`], [`ManualTime::advance`]):
    /// for the parts of a node a test drives through real sockets, where paused Tokio time
    /// would also run out the listener's own deadlines.
    Manual(ManualTime),
}

/// The time of a [`Clock::Manual`], in milliseconds since the Unix epoch. Made once per test
/// and never freed, so clocks reading it stay `Copy`.
#[derive(Clone, Copy)]
pub struct ManualTime(&'static AtomicU64);

impl ManualTime {
    /// A time that reads `at` until moved.
    pub fn starting_at(at: Timestamp) -> Self {
        Self(Box::leak(Box::new(AtomicU64::new(at.0))))
    }

    /// Sets the time to `at`.
    pub fn set(&self, at: Timestamp) {
        self.0.store(at.0, Ordering::SeqCst);
    }

    /// Moves the time `by` forward.
    pub fn advance(&self, by: std::time::Duration) {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(millis, Ordering::SeqCst);
    }

    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

impl PartialEq for ManualTime {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for ManualTime {}

impl std::fmt::Debug for ManualTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ManualTime({})", self.now().0)
    }
}

impl Clock {
    /// A clock that reads `base` now and follows Tokio's time from here.
    pub fn tokio_from(base: Timestamp) -> Self {
        Self::Tokio {
            base,
            since: tokio::time::Instant::now(),
        }
    }

    /// The current time, in whole seconds since the Unix epoch (what tokens expire by).
    pub fn now_secs(&self) -> u64 {
        self.now().0 / 1000
    }

    /// The current time, in milliseconds since the Unix epoch.
    pub fn now(&self) -> Timestamp {
        match self {
            Self::System => {
                let millis = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                Timestamp(u64::try_from(millis).unwrap_or(u64::MAX))
            }
            Self::Tokio { base, since } => {
                let elapsed = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
                Timestamp(base.0.saturating_add(elapsed))
            }
            Self::Manual(time) => time.now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_system_clock_reads_milliseconds_since_the_epoch() {
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let read = u128::from(Clock::System.now().0);
        let after = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        assert!(
            before <= read && read <= after,
            "{before} <= {read} <= {after}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_tokio_clock_moves_by_exactly_the_time_tokio_is_advanced() {
        let clock = Clock::tokio_from(Timestamp(1_000));
        assert_eq!(clock.now(), Timestamp(1_000));
        tokio::time::advance(Duration::from_millis(1_500)).await;
        assert_eq!(clock.now(), Timestamp(2_500));
        tokio::time::advance(Duration::from_secs(3 * 3_600)).await;
        assert_eq!(clock.now(), Timestamp(2_500 + 3 * 3_600_000));
    }
}
