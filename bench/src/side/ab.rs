//! [`alternate`]: two contenders loaded the same way, A then B, then B then A, …, and the
//! ratio of A to B within each round ([`Comparison`]), so a slow moment on a shared machine
//! hurts both sides of a ratio alike.

use std::sync::Arc;

use serde::Serialize;

use crate::error::BenchError;
use crate::load::client::Server;
use crate::load::report::LoadReport;
use crate::load::runner::{RunPlan, run};
use crate::load::workload::RequestSource;
use crate::spread::Spread;

/// One side of a comparison.
#[derive(Clone)]
pub struct Contender {
    /// Its name in tables, such as `edge` or `nginx`.
    pub name: String,
    /// Where its connections go.
    pub servers: Vec<Server>,
    /// Its requests (the same workload, spelled for its URLs).
    pub source: Arc<dyn RequestSource>,
    /// Its server processes, whose CPU time each run charges to its requests (none: not
    /// measured).
    pub pids: Vec<u32>,
}

/// Both sides of one case over every round.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The case, such as `4 KiB ranges`.
    pub case: String,
    /// Connections (× streams) used.
    pub concurrency: usize,
    /// A's name.
    pub a: String,
    /// B's name.
    pub b: String,
    /// A's runs, in round order.
    pub a_runs: Vec<LoadReport>,
    /// B's runs.
    pub b_runs: Vec<LoadReport>,
    /// A ÷ B requests per second, per round.
    pub ratio_requests: Option<Spread>,
    /// A ÷ B bytes per second, per round.
    pub ratio_bytes: Option<Spread>,
    /// A ÷ B p99 latency, per round (below 1: A's p99 is lower).
    pub ratio_p99: Option<Spread>,
    /// A's server CPU time per request, in microseconds, per round (empty: not measured).
    pub a_cpu_us: Vec<f64>,
    /// B's.
    pub b_cpu_us: Vec<f64>,
}

/// What to pull out of the runs.
fn spread(runs: &[LoadReport], f: impl Fn(&LoadReport) -> f64) -> Option<Spread> {
    Spread::of(&runs.iter().map(f).collect::<Vec<_>>())
}

impl Comparison {
    /// A's requests per second.
    pub fn a_requests(&self) -> Option<Spread> {
        spread(&self.a_runs, |r| r.requests_per_second)
    }
    /// B's requests per second.
    pub fn b_requests(&self) -> Option<Spread> {
        spread(&self.b_runs, |r| r.requests_per_second)
    }
    /// A's bytes per second.
    pub fn a_bytes(&self) -> Option<Spread> {
        spread(&self.a_runs, |r| r.bytes_per_second)
    }
    /// B's bytes per second.
    pub fn b_bytes(&self) -> Option<Spread> {
        spread(&self.b_runs, |r| r.bytes_per_second)
    }
    /// A's p99 latency in milliseconds.
    pub fn a_p99_ms(&self) -> Option<Spread> {
        spread(&self.a_runs, |r| r.latency_us.p99 as f64 / 1000.0)
    }
    /// B's p99 latency in milliseconds.
    pub fn b_p99_ms(&self) -> Option<Spread> {
        spread(&self.b_runs, |r| r.latency_us.p99 as f64 / 1000.0)
    }
    /// A's p50 latency in milliseconds.
    pub fn a_p50_ms(&self) -> Option<Spread> {
        spread(&self.a_runs, |r| r.latency_us.p50 as f64 / 1000.0)
    }
    /// B's p50 latency in milliseconds.
    pub fn b_p50_ms(&self) -> Option<Spread> {
        spread(&self.b_runs, |r| r.latency_us.p50 as f64 / 1000.0)
    }
    /// Failed requests of A and B over all rounds.
    pub fn errors(&self) -> (u64, u64) {
        (
            self.a_runs.iter().map(|r| r.errors).sum(),
            self.b_runs.iter().map(|r| r.errors).sum(),
        )
    }
}

/// Ratios of paired values, skipping pairs with a zero denominator.
pub fn ratios(a: &[f64], b: &[f64]) -> Option<Spread> {
    let r: Vec<f64> = a
        .iter()
        .zip(b)
        .filter(|(_, b)| **b > 0.0)
        .map(|(a, b)| a / b)
        .collect();
    Spread::of(&r)
}

/// Runs `a` and `b` `rounds` times each with `plan` (its servers replaced by each side's),
/// alternating which goes first.
pub async fn alternate(
    case: &str,
    a: &Contender,
    b: &Contender,
    plan: &RunPlan,
    rounds: usize,
) -> Result<Comparison, BenchError> {
    let mut a_runs = Vec::with_capacity(rounds);
    let mut b_runs = Vec::with_capacity(rounds);
    let (mut a_cpu_us, mut b_cpu_us) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let order = if round % 2 == 0 { [a, b] } else { [b, a] };
        for side in order {
            let mut p = plan.clone();
            p.servers = side.servers.clone();
            p.label = format!("{} {case}", side.name);
            let cpu_before = super::cpu_time::cpu_seconds(&side.pids);
            let report = run(&p, side.source.clone()).await?;
            let cpu = super::cpu_time::cpu_seconds(&side.pids) - cpu_before;
            eprintln!("  {}", report.table_row());
            // The warm-up's requests are not counted, but its CPU is: charge the measured
            // requests with the CPU of the measured part only, in proportion to its length.
            let measured = plan
                .duration
                .map_or(1.0, |d| d.as_secs_f64() / (d + plan.warmup).as_secs_f64());
            let per_request = (report.requests > 0 && !side.pids.is_empty())
                .then(|| cpu * measured * 1e6 / report.requests as f64);
            if std::ptr::eq(side, a) {
                a_runs.push(report);
                a_cpu_us.extend(per_request);
            } else {
                b_runs.push(report);
                b_cpu_us.extend(per_request);
            }
        }
    }
    let pick =
        |runs: &[LoadReport], f: fn(&LoadReport) -> f64| runs.iter().map(f).collect::<Vec<_>>();
    Ok(Comparison {
        case: case.to_owned(),
        concurrency: plan.connections * plan.streams,
        a: a.name.clone(),
        b: b.name.clone(),
        ratio_requests: ratios(
            &pick(&a_runs, |r| r.requests_per_second),
            &pick(&b_runs, |r| r.requests_per_second),
        ),
        ratio_bytes: ratios(
            &pick(&a_runs, |r| r.bytes_per_second),
            &pick(&b_runs, |r| r.bytes_per_second),
        ),
        ratio_p99: ratios(
            &pick(&a_runs, |r| r.latency_us.p99 as f64),
            &pick(&b_runs, |r| r.latency_us.p99 as f64),
        ),
        a_runs,
        b_runs,
        a_cpu_us,
        b_cpu_us,
    })
}

/// `min / median / max` with `digits` decimals, or `-`.
pub fn fmt_spread(s: Option<Spread>, digits: usize) -> String {
    match s {
        Some(s) => format!(
            "{:.d$} / {:.d$} / {:.d$}",
            s.min,
            s.median,
            s.max,
            d = digits
        ),
        None => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_pair_rounds_and_skip_zero_denominators() {
        let r = ratios(&[10.0, 30.0, 20.0], &[5.0, 10.0, 0.0]).expect("two pairs");
        assert_eq!((r.min, r.max), (2.0, 3.0));
        assert_eq!(ratios(&[1.0], &[0.0]), None);
        assert_eq!(fmt_spread(Some(r), 2), "2.00 / 2.50 / 3.00");
        assert_eq!(fmt_spread(None, 2), "-");
    }
}
