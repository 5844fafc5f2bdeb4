//! [`run`]: drives a [`RequestSource`] against servers with a fixed number of connections,
//! closed or open loop, and gathers a [`LoadReport`].
//!
//! Every connection is opened before the clock starts. Each worker (one per HTTP/1.1
//! connection, or one per HTTP/2 stream) takes the next ticket from a shared counter, waits
//! for the ticket's intended time in an open loop, sends, reads and checks the whole answer,
//! and records into its own histograms; the histograms are merged at the end, so workers
//! never contend on a lock. Requests whose (intended) send time falls in the warm-up are
//! sent but not recorded.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::client::{Protocol, Sender, Server, exchange};
use super::error::LoadError;
use super::progress::{Counters, Progress};
use super::report::{LoadReport, Percentiles, latency_histogram};
use super::schedule::{Pace, recorded_latency};
use super::verify::Failure;
use super::workload::RequestSource;
use crate::noise::Noise;

/// How to load.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// A name for the report.
    pub label: String,
    /// Servers; connection `i` goes to server `i % len`.
    pub servers: Vec<Server>,
    /// HTTP version.
    pub protocol: Protocol,
    /// TCP connections, at least 1.
    pub connections: usize,
    /// Requests in flight per connection: 1 for HTTP/1.1, 1 or more HTTP/2 streams.
    pub streams: usize,
    /// Closed or open loop.
    pub pace: Pace,
    /// Sent but not recorded, from the start.
    pub warmup: Duration,
    /// Recorded time after the warm-up; the run stops at whichever of this and `requests`
    /// comes first.
    pub duration: Option<Duration>,
    /// Recorded requests (successes and failures).
    pub requests: Option<u64>,
    /// A request not completely answered by then is a failure (`timeout`).
    pub timeout: Duration,
    /// Seeds the workers' random streams.
    pub seed: u64,
    /// Show a live line on stderr (only on a terminal).
    pub progress: bool,
}

impl RunPlan {
    /// Refuses plans that cannot run, saying which flag to change.
    pub fn validate(&self) -> Result<(), LoadError> {
        if self.servers.is_empty() {
            return Err(LoadError::invalid("no server to load: give a --url"));
        }
        if self.connections == 0 {
            return Err(LoadError::invalid(
                "--connections must be at least 1 (0 connections send nothing)",
            ));
        }
        if self.streams == 0 {
            return Err(LoadError::invalid("--streams must be at least 1"));
        }
        if self.streams > 1 && self.protocol == Protocol::Http1 {
            return Err(LoadError::invalid(
                "--streams above 1 needs --http2: HTTP/1.1 sends one request at a time per \
                 connection (raise --connections instead)",
            ));
        }
        if let Pace::Open { rate } = self.pace
            && !(rate > 0.0 && rate.is_finite())
        {
            return Err(LoadError::invalid(format!(
                "--rate must be more than 0 requests per second, got {rate}"
            )));
        }
        match (self.duration, self.requests) {
            (None, None) => {
                return Err(LoadError::invalid(
                    "give --duration or --requests, or the run never ends",
                ));
            }
            (Some(d), _) if d.is_zero() => {
                return Err(LoadError::invalid("--duration must be more than 0 s"));
            }
            (_, Some(0)) => return Err(LoadError::invalid("--requests must be at least 1")),
            _ => {}
        }
        if self.timeout.is_zero() {
            return Err(LoadError::invalid("--timeout must be more than 0 s"));
        }
        Ok(())
    }

    fn workers(&self) -> usize {
        self.connections * self.streams
    }
}

/// State the workers share.
struct Shared {
    plan: RunPlan,
    source: Arc<dyn RequestSource>,
    start: Instant,
    next_ticket: AtomicU64,
    recorded: AtomicU64,
    stop: AtomicBool,
    counters: Arc<Counters>,
}

/// One worker's measurements.
struct Tally {
    ok: u64,
    bytes: u64,
    errors: BTreeMap<String, u64>,
    latency: Histogram<u64>,
    first_byte: Histogram<u64>,
    last_done: Option<Instant>,
}

impl Tally {
    fn new() -> Self {
        Self {
            ok: 0,
            bytes: 0,
            errors: BTreeMap::new(),
            latency: latency_histogram(),
            first_byte: latency_histogram(),
            last_done: None,
        }
    }

    fn fail(&mut self, failure: &Failure) {
        *self.errors.entry(failure.kind()).or_default() += 1;
    }

    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.bytes += other.bytes;
        for (k, n) in other.errors {
            *self.errors.entry(k).or_default() += n;
        }
        // Both come from `latency_histogram`, with the same bounds: adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.first_byte.add(&other.first_byte);
        self.last_done = self.last_done.max(other.last_done);
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Runs `plan` with requests from `source`.
pub async fn run(plan: &RunPlan, source: Arc<dyn RequestSource>) -> Result<LoadReport, LoadError> {
    plan.validate()?;
    // Open every connection first: the handshakes are not part of what is measured.
    let mut senders = Vec::with_capacity(plan.workers());
    for c in 0..plan.connections {
        let server = &plan.servers[c % plan.servers.len()];
        let sender = Sender::connect(server, plan.protocol)
            .await
            .map_err(|reason| LoadError::Probe {
                url: format!("http://{}", server.authority),
                reason,
            })?;
        for _ in 1..plan.streams {
            if let Some(shared) = sender.share() {
                senders.push((c, shared));
            }
        }
        senders.push((c, sender));
    }
    let counters = Arc::new(Counters::default());
    let shared = Arc::new(Shared {
        plan: plan.clone(),
        source,
        start: Instant::now(),
        next_ticket: AtomicU64::new(0),
        recorded: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        counters: counters.clone(),
    });
    let progress = Progress::start(&plan.label, plan.progress, counters);
    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(w, (c, sender))| {
            let shared = shared.clone();
            tokio::spawn(worker(shared, w, c, sender))
        })
        .collect();
    let mut total = Tally::new();
    for task in tasks {
        if let Ok(tally) = task.await {
            total.merge(tally);
        }
    }
    drop(progress);
    Ok(report(plan, &shared, total))
}

async fn worker(shared: Arc<Shared>, index: usize, connection: usize, mut sender: Sender) -> Tally {
    let plan = &shared.plan;
    let server = &plan.servers[connection % plan.servers.len()];
    let mut noise = Noise::new(plan.seed ^ (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut tally = Tally::new();
    let mut broken = false;
    while !shared.stop.load(Ordering::Relaxed) {
        let ticket = shared.next_ticket.fetch_add(1, Ordering::Relaxed);
        let intended = plan.pace.intended(ticket);
        // Latency counts from the intended time only when this worker is already late for it
        // (busy with an earlier answer: the queueing a real client would see). When it is
        // early it sleeps, and the timer's own lateness (up to a millisecond) is not the
        // server's: latency then counts from the actual send.
        let late_for = intended.filter(|at| shared.start + *at <= Instant::now());
        if let Some(at) = intended
            && late_for.is_none()
        {
            tokio::time::sleep_until((shared.start + at).into()).await;
        }
        let sent_at = Instant::now();
        let sent = sent_at - shared.start;
        let when = intended.unwrap_or(sent);
        if let Some(d) = plan.duration
            && when >= plan.warmup + d
        {
            break;
        }
        let recorded = when >= plan.warmup;
        if recorded
            && let Some(n) = plan.requests
            && shared.recorded.fetch_add(1, Ordering::Relaxed) >= n
        {
            shared.stop.store(true, Ordering::Relaxed);
            break;
        }
        if broken {
            match Sender::connect(server, plan.protocol).await {
                Ok(s) => {
                    sender = s;
                    broken = false;
                }
                Err(_) => {
                    shared.counters.errors.fetch_add(1, Ordering::Relaxed);
                    if recorded {
                        tally.fail(&Failure::Connect);
                    }
                    // Do not spin on a server that refuses connections.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let planned = shared.source.plan(ticket, &mut noise);
        let outcome =
            tokio::time::timeout(plan.timeout, exchange(&mut sender, server, &planned)).await;
        let done_at = Instant::now();
        let result = match outcome {
            Ok(ex) => ex,
            Err(_) => super::client::Exchange {
                first_byte: None,
                head: None,
                bytes: 0,
                result: Err(Failure::Timeout),
            },
        };
        match &result.result {
            Ok(()) => {
                shared.counters.ok.fetch_add(1, Ordering::Relaxed);
                shared
                    .counters
                    .bytes
                    .fetch_add(result.bytes, Ordering::Relaxed);
                if recorded {
                    tally.ok += 1;
                    tally.bytes += result.bytes;
                    let done = done_at - shared.start;
                    tally
                        .latency
                        .saturating_record(micros(recorded_latency(late_for, sent, done)));
                    if let Some(first) = result.first_byte {
                        let first = first - shared.start;
                        tally
                            .first_byte
                            .saturating_record(micros(recorded_latency(late_for, sent, first)));
                    }
                    tally.last_done = Some(done_at);
                }
            }
            Err(failure) => {
                shared.counters.errors.fetch_add(1, Ordering::Relaxed);
                if recorded {
                    tally.fail(failure);
                    tally.last_done = Some(done_at);
                }
                // After a broken exchange the connection's state is unknown: open a new one.
                broken = matches!(failure, Failure::Transport | Failure::Timeout);
            }
        }
    }
    tally
}

fn report(plan: &RunPlan, shared: &Shared, total: Tally) -> LoadReport {
    let measure_start = shared.start + plan.warmup;
    let seconds = total.last_done.map_or(0.0, |t| {
        t.saturating_duration_since(measure_start).as_secs_f64()
    });
    let per_second = |n: f64| if seconds > 0.0 { n / seconds } else { 0.0 };
    let errors = total.errors.values().sum();
    LoadReport {
        label: plan.label.clone(),
        protocol: plan.protocol,
        connections: plan.connections,
        streams: plan.streams,
        mode: match plan.pace {
            Pace::Closed => "closed",
            Pace::Open { .. } => "open",
        },
        target_rate: match plan.pace {
            Pace::Closed => None,
            Pace::Open { rate } => Some(rate),
        },
        seconds,
        requests: total.ok,
        errors,
        error_kinds: total.errors,
        bytes: total.bytes,
        requests_per_second: per_second(total.ok as f64),
        bytes_per_second: per_second(total.bytes as f64),
        latency_us: Percentiles::of(&total.latency),
        first_byte_us: Percentiles::of(&total.first_byte),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> RunPlan {
        RunPlan {
            label: "t".into(),
            servers: vec![Server {
                addr: "127.0.0.1:1".parse().expect("addr"),
                authority: "127.0.0.1:1".into(),
            }],
            protocol: Protocol::Http1,
            connections: 1,
            streams: 1,
            pace: Pace::Closed,
            warmup: Duration::ZERO,
            duration: Some(Duration::from_secs(1)),
            requests: None,
            timeout: Duration::from_secs(1),
            seed: 1,
            progress: false,
        }
    }

    #[test]
    fn plans_that_cannot_run_are_refused_naming_the_flag() {
        assert!(plan().validate().is_ok());
        let refused = |p: RunPlan| p.validate().expect_err("refused").to_string();
        assert!(
            refused(RunPlan {
                connections: 0,
                ..plan()
            })
            .contains("--connections")
        );
        assert!(
            refused(RunPlan {
                streams: 4,
                ..plan()
            })
            .contains("--http2")
        );
        assert!(
            refused(RunPlan {
                pace: Pace::Open { rate: 0.0 },
                ..plan()
            })
            .contains("--rate")
        );
        assert!(
            refused(RunPlan {
                pace: Pace::Open { rate: f64::NAN },
                ..plan()
            })
            .contains("--rate")
        );
        assert!(
            refused(RunPlan {
                duration: None,
                ..plan()
            })
            .contains("--duration or --requests")
        );
        assert!(
            refused(RunPlan {
                requests: Some(0),
                ..plan()
            })
            .contains("--requests")
        );
        assert!(
            refused(RunPlan {
                servers: vec![],
                ..plan()
            })
            .contains("--url")
        );
        let h2 = RunPlan {
            streams: 4,
            protocol: Protocol::Http2,
            ..plan()
        };
        assert!(h2.validate().is_ok());
    }
}
