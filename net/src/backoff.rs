//! [`backoff`]: the delays every retry loop of Packyard waits between attempts.

use std::time::Duration;

use backon::BackoffBuilder as _;

/// Delays between attempts: doubling from `start` up to `max`, each plus a random jitter of up
/// to as much again (so nodes that failed together do not retry together), without end.
/// Start again from `start` with a new call after a success.
pub fn backoff(start: Duration, max: Duration) -> impl Iterator<Item = Duration> + Send {
    let delays = backon::ExponentialBuilder::new()
        .with_min_delay(start)
        .with_max_delay(max)
        .with_jitter()
        .without_max_times()
        .build();
    delays.map(move |d| d.max(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_to_the_cap_with_at_most_as_much_again_of_jitter_and_never_end() {
        let (start, max) = (Duration::from_millis(100), Duration::from_secs(5));
        let delays: Vec<Duration> = backoff(start, max).take(40).collect();
        assert_eq!(delays.len(), 40);
        let mut nominal = start;
        for d in &delays {
            assert!(*d >= nominal && *d <= nominal * 2, "{d:?} for {nominal:?}");
            nominal = (nominal * 2).min(max);
        }
        assert!(delays[30..].iter().all(|d| *d >= max && *d <= max * 2));
        let again: Vec<Duration> = backoff(start, max).take(40).collect();
        assert_ne!(delays, again, "jitter differs between runs");
    }
}
