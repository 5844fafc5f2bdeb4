//! [`Pace`]: when each request is meant to go, and the latency that is recorded for it.
//!
//! In a closed loop each connection sends its next request when the previous one is answered,
//! so a stalled server also stalls the load: the requests that would have been sent during
//! the stall are never sent and never measured ("coordinated omission"). In an open loop,
//! request `n` is *meant* to go at `n / rate` seconds after the start, whether or not a
//! connection is free then; its latency is measured from that intended time, so time spent
//! queued behind a slow answer counts, as it would for a real client arriving then. (A worker
//! that is early for its request sleeps until the intended time and measures from when it
//! actually sent: the sleep's own timer lateness is the load generator's, not the server's.)

use std::time::Duration;

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Every connection sends back to back.
    Closed,
    /// Requests are meant to go at this many per second, over all connections.
    Open {
        /// Requests per second, more than 0.
        rate: f64,
    },
}

impl Pace {
    /// When request `ticket` is meant to go, after the start of the run; `None` in a closed
    /// loop (it goes as soon as its connection is free).
    pub fn intended(&self, ticket: u64) -> Option<Duration> {
        match *self {
            Pace::Closed => None,
            // Ticket counts stay far below 2^53, so the float is exact.
            #[allow(clippy::cast_precision_loss, reason = "tickets are far below 2^53")]
            Pace::Open { rate } => Some(Duration::from_secs_f64(ticket as f64 / rate)),
        }
    }
}

/// The latency recorded for a request: from its intended send time when it has one (open
/// loop), else from when it was sent, to when its last byte arrived. All times are offsets
/// from the start of the run.
pub fn recorded_latency(intended: Option<Duration>, sent: Duration, done: Duration) -> Duration {
    let from = intended.map_or(sent, |i| i.min(sent));
    done.saturating_sub(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One connection, open loop: replays service times and returns the recorded latencies.
    fn simulate(pace: Pace, service_ms: &[u64]) -> Vec<Duration> {
        let mut free_at = Duration::ZERO;
        let mut out = Vec::new();
        for (ticket, &ms) in service_ms.iter().enumerate() {
            let intended = pace.intended(ticket as u64);
            let sent = intended.map_or(free_at, |i| i.max(free_at));
            let done = sent + Duration::from_millis(ms);
            free_at = done;
            out.push(recorded_latency(intended, sent, done));
        }
        out
    }

    #[test]
    fn open_loop_tickets_are_spread_at_the_rate() {
        let pace = Pace::Open { rate: 200.0 };
        assert_eq!(pace.intended(0), Some(Duration::ZERO));
        assert_eq!(pace.intended(1), Some(Duration::from_millis(5)));
        assert_eq!(pace.intended(400), Some(Duration::from_secs(2)));
        assert_eq!(Pace::Closed.intended(7), None);
    }

    #[test]
    fn a_stall_counts_for_every_request_meant_to_go_during_it() {
        // 100 requests per second on one connection, each answered in 1 ms, except that the
        // 10th takes a whole second.
        let mut service = vec![1; 200];
        service[10] = 1000;
        let open = simulate(Pace::Open { rate: 100.0 }, &service);
        // The stalled one takes 1 s; request k > 10, meant for 10k ms, goes when the queue
        // ahead drains (at 1100 + (k - 11) ms) and is recorded at 1090 - 9k ms.
        assert_eq!(open[10], Duration::from_millis(1000));
        assert_eq!(open[11], Duration::from_millis(991));
        assert_eq!(open[20], Duration::from_millis(910));
        assert_eq!(open[121], Duration::from_millis(1));
        // Above 100 ms: the stalled one and the 99 queued behind it (k = 11..=109).
        let slow = open
            .iter()
            .filter(|l| **l > Duration::from_millis(100))
            .count();
        assert_eq!(slow, 100, "{open:?}");

        // The closed loop records the stall once: the omission the open loop corrects.
        let closed = simulate(Pace::Closed, &service);
        let slow = closed
            .iter()
            .filter(|l| **l > Duration::from_millis(100))
            .count();
        assert_eq!(slow, 1);
    }

    #[test]
    fn a_request_sent_early_is_measured_from_when_it_went() {
        let l = recorded_latency(
            Some(Duration::from_millis(50)),
            Duration::from_millis(40),
            Duration::from_millis(45),
        );
        assert_eq!(l, Duration::from_millis(5));
        let l = recorded_latency(None, Duration::from_millis(40), Duration::from_millis(45));
        assert_eq!(l, Duration::from_millis(5));
    }
}
