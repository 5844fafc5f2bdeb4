//! [`eventually`]: the one way tests wait for something to come to pass.
//!
//! A test asks a probe again and again, a little longer apart each time, until it answers
//! "done" or the test's patience runs out; then it fails saying what it waited for and what
//! the probe said last. Tests wait for a condition this way, never for a duration.
//!
//! Built only with the `test-support` feature.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// The first pause between two asks of a probe; each pause doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(2);

/// The longest pause between two asks of a probe.
const LONGEST_PAUSE: Duration = Duration::from_millis(100);

/// A probe's answer: done (with a value), or not yet (and why, when it can say).
pub trait Probe {
    /// What a probe that is done hands back.
    type Done;
    /// `Ok` when done, else what is still missing (`None`: the probe does not say).
    fn done(self) -> Result<Self::Done, Option<String>>;
}

impl Probe for bool {
    type Done = ();
    fn done(self) -> Result<(), Option<String>> {
        if self { Ok(()) } else { Err(None) }
    }
}

impl<T> Probe for Option<T> {
    type Done = T;
    fn done(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: Display> Probe for Result<T, E> {
    type Done = T;
    fn done(self) -> Result<T, Option<String>> {
        self.map_err(|e| Some(e.to_string()))
    }
}

/// Patience that ran out: how long it was and what the probe said last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    /// How long the probe was asked for.
    pub patience: Duration,
    /// What the probe said last, if it said anything.
    pub last: Option<String>,
}

impl Display for Expired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not within {:?}", self.patience)?;
        if let Some(last) = &self.last {
            write!(f, "; last: {last}")?;
        }
        Ok(())
    }
}

/// Asks `probe` until it is done, pausing between asks (on Tokio's clock, so a test on
/// paused time moves time on by the pause); fails the test naming `what` and the probe's
/// last answer once `patience` has passed by the wall clock.
///
/// # Panics
///
/// When `patience` runs out.
pub async fn eventually<P: Probe>(
    what: impl Display,
    patience: Duration,
    probe: impl AsyncFnMut() -> P,
) -> P::Done {
    match within(patience, probe).await {
        Ok(done) => done,
        Err(expired) => panic!("{what}: {expired}"),
    }
}

/// [`eventually`] that hands back the expiry instead of failing, for a caller with more to
/// say on failure (a process's log, the state it saw).
pub async fn within<P: Probe>(
    patience: Duration,
    mut probe: impl AsyncFnMut() -> P,
) -> Result<P::Done, Expired> {
    let deadline = Instant::now() + patience;
    let mut pause = FIRST_PAUSE;
    loop {
        let last = match probe().await.done() {
            Ok(done) => return Ok(done),
            Err(last) => last,
        };
        if Instant::now() >= deadline {
            return Err(Expired { patience, last });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// [`eventually`] for code outside a runtime: the pauses block the thread.
///
/// # Panics
///
/// When `patience` runs out.
pub fn eventually_blocking<P: Probe>(
    what: impl Display,
    patience: Duration,
    probe: impl FnMut() -> P,
) -> P::Done {
    match within_blocking(patience, probe) {
        Ok(done) => done,
        Err(expired) => panic!("{what}: {expired}"),
    }
}

/// [`within`] for code outside a runtime: the pauses block the thread.
pub fn within_blocking<P: Probe>(
    patience: Duration,
    mut probe: impl FnMut() -> P,
) -> Result<P::Done, Expired> {
    let deadline = Instant::now() + patience;
    let mut pause = FIRST_PAUSE;
    loop {
        let last = match probe().done() {
            Ok(done) => return Ok(done),
            Err(last) => last,
        };
        if Instant::now() >= deadline {
            return Err(Expired { patience, last });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[tokio::test]
    async fn hands_back_what_the_probe_found_once_it_is_done() {
        let asked = Cell::new(0);
        let found = eventually("the third ask", Duration::from_secs(5), || async {
            asked.set(asked.get() + 1);
            (asked.get() == 3).then_some(asked.get())
        })
        .await;
        assert_eq!(found, 3);
    }

    #[tokio::test]
    async fn says_what_the_probe_said_last_when_patience_runs_out() {
        let expired = within(Duration::from_millis(20), || async {
            Err::<(), _>("still 2 of 3")
        })
        .await
        .unwrap_err();
        assert_eq!(expired.last.as_deref(), Some("still 2 of 3"));
        assert_eq!(expired.to_string(), "not within 20ms; last: still 2 of 3");
    }

    #[tokio::test]
    #[should_panic(expected = "the flag is set: not within")]
    async fn fails_naming_what_it_waited_for() {
        eventually("the flag is set", Duration::from_millis(10), || async {
            false
        })
        .await;
    }

    #[test]
    fn the_blocking_kind_asks_the_same_way() {
        let mut asked = 0;
        eventually_blocking("the second ask", Duration::from_secs(5), || {
            asked += 1;
            asked == 2
        });
        assert_eq!(asked, 2);
        let expired = within_blocking(Duration::ZERO, || None::<()>).unwrap_err();
        assert_eq!(expired.last, None);
    }
}
