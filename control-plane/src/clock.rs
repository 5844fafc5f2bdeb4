//! [`Clock`]: where a node reads the time it stamps on commands and compares with the
//! catalog's timestamps (soak times, retry schedules, leases, reservations).
//!
//! The catalog never reads a clock: the node puts its time in every envelope and passes it to
//! every time-dependent read (`due_rollouts`, `due_deliveries`, `expired_uploads`,
//! `edge_status`). A node chooses its clock once, at start, and hands the same one to the
//! admin API, the gRPC services and the background tasks, so every "now" in a process comes
//! from one place.

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
}

impl Clock {
    /// A clock that reads `base` now and follows Tokio's time from here.
    pub fn tokio_from(base: Timestamp) -> Self {
        Self::Tokio {
            base,
            since: tokio::time::Instant::now(),
        }
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
