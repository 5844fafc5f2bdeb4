//! [`LoadReport`]: what a load run measured, as a table for people and JSON for machines.

use std::collections::BTreeMap;
use std::fmt;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::client::Protocol;

/// Latency percentiles, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

impl Percentiles {
    /// The percentiles of `h` (all zero when it is empty).
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

/// Microseconds from 1 µs to one hour at 3 significant digits: 0.1 % resolution.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3)
        .expect("constant bounds that hdrhistogram accepts")
}

/// Everything one load run measured. Failed requests are counted in `errors` (by kind in
/// `error_kinds`) and nowhere else: not in `requests`, `bytes` or the latencies.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// What was loaded (a URL or a name given by the caller).
    pub label: String,
    /// HTTP version.
    pub protocol: Protocol,
    /// TCP connections.
    pub connections: usize,
    /// Requests in flight per connection (HTTP/2 streams; 1 for HTTP/1.1).
    pub streams: usize,
    /// `closed` (back to back) or `open` (fixed rate).
    pub mode: &'static str,
    /// The open loop's intended rate, in requests per second.
    pub target_rate: Option<f64>,
    /// Seconds measured, warm-up excluded.
    pub seconds: f64,
    /// Requests answered correctly.
    pub requests: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Failed requests by reason.
    pub error_kinds: BTreeMap<String, u64>,
    /// Body bytes of the correct answers.
    pub bytes: u64,
    /// Correct answers per second.
    pub requests_per_second: f64,
    /// Body bytes of correct answers per second.
    pub bytes_per_second: f64,
    /// Time from sending (open loop: from the intended send time) to the last body byte.
    pub latency_us: Percentiles,
    /// Time from sending (open loop: intended) to the response head.
    pub first_byte_us: Percentiles,
}

impl LoadReport {
    /// The table's header row, for tables of several reports.
    pub const TABLE_HEAD: &'static str = "| run | conns | req/s | MB/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | ok | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

    /// This report as a row under [`LoadReport::TABLE_HEAD`].
    pub fn table_row(&self) -> String {
        let ms = |us: u64| us as f64 / 1000.0;
        format!(
            "| {} | {} | {:.0} | {:.1} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} | {} | {} |",
            self.label,
            self.connections * self.streams,
            self.requests_per_second,
            self.bytes_per_second / 1e6,
            ms(self.latency_us.p50),
            ms(self.latency_us.p90),
            ms(self.latency_us.p99),
            ms(self.latency_us.p999),
            ms(self.latency_us.max),
            self.requests,
            self.errors,
        )
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = match self.target_rate {
            Some(r) => format!("open loop at {r:.0} req/s (latency from the intended send time)"),
            None => "closed loop".to_owned(),
        };
        writeln!(
            f,
            "{}: {}, {} connection(s) × {} stream(s), {}, {:.1} s measured",
            self.label, self.protocol, self.connections, self.streams, rate, self.seconds
        )?;
        writeln!(f)?;
        writeln!(f, "{}", Self::TABLE_HEAD)?;
        writeln!(f, "{}", self.table_row())?;
        writeln!(f)?;
        let ms = |us: u64| us as f64 / 1000.0;
        writeln!(
            f,
            "time to first byte: p50 {:.3} ms, p99 {:.3} ms, max {:.1} ms",
            ms(self.first_byte_us.p50),
            ms(self.first_byte_us.p99),
            ms(self.first_byte_us.max)
        )?;
        if self.errors > 0 {
            writeln!(
                f,
                "errors ({} requests, not in the numbers above):",
                self.errors
            )?;
            for (kind, n) in &self.error_kinds {
                writeln!(f, "  {n:>8}  {kind}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_histogram() {
        let mut h = latency_histogram();
        for us in 1..=1000u64 {
            h.record(us * 10).expect("in range");
        }
        let p = Percentiles::of(&h);
        // 3 significant digits: within 0.1 %.
        let near = |got: u64, want: u64| got.abs_diff(want) <= want / 1000 + 1;
        assert!(near(p.p50, 5000), "{p:?}");
        assert!(near(p.p90, 9000), "{p:?}");
        assert!(near(p.p99, 9900), "{p:?}");
        assert!(near(p.max, 10_000), "{p:?}");
        assert!((p.mean - 5005.0).abs() < 10.0, "{p:?}");
        assert_eq!(
            Percentiles::of(&latency_histogram()),
            Percentiles::default()
        );
    }

    #[test]
    fn json_has_the_documented_fields() {
        let report = LoadReport {
            label: "x".into(),
            protocol: Protocol::Http2,
            connections: 2,
            streams: 4,
            mode: "open",
            target_rate: Some(100.0),
            seconds: 1.5,
            requests: 10,
            errors: 1,
            error_kinds: BTreeMap::from([("wrong Content-Range".to_owned(), 1)]),
            bytes: 40960,
            requests_per_second: 6.7,
            bytes_per_second: 27306.7,
            latency_us: Percentiles::default(),
            first_byte_us: Percentiles::default(),
        };
        let v = serde_json::to_value(&report).expect("serializes");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        for key in [
            "label",
            "protocol",
            "connections",
            "streams",
            "mode",
            "target_rate",
            "seconds",
            "requests",
            "errors",
            "error_kinds",
            "bytes",
            "requests_per_second",
            "bytes_per_second",
            "latency_us",
            "first_byte_us",
        ] {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
        assert_eq!(v["protocol"], "HTTP/2");
        assert_eq!(v["error_kinds"]["wrong Content-Range"], 1);
        for p in ["p50", "p90", "p99", "p999", "max", "mean"] {
            assert!(v["latency_us"].get(p).is_some(), "{p}");
        }
        let table = report.to_string();
        assert!(table.contains("wrong Content-Range"), "{table}");
        assert!(table.contains("open loop at 100 req/s"), "{table}");
    }
}
