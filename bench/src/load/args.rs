//! [`LoadArgs`]: the flags of `packyard-bench load`, and turning them into a run.

use std::sync::Arc;

use clap::Args;
use http::{HeaderName, HeaderValue};

use super::client::Protocol;
use super::error::LoadError;
use super::report::LoadReport;
use super::runner::{RunPlan, run};
use super::schedule::Pace;
use super::target::{probe_sizes, resolve};
use super::workload::{RangeMix, RangeWorkload, Target};
use crate::units::{ByteSize, Percent, Span};

/// Flags of `packyard-bench load`.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// A URL to download (repeat the flag for several files on the same server; the first is
    /// the most popular under --zipf).
    #[arg(long = "url", required = true)]
    pub urls: Vec<String>,
    /// TCP connections.
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Requests in flight per connection (HTTP/2 streams; needs --http2).
    #[arg(long, default_value_t = 1)]
    pub streams: usize,
    /// Speak HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1.
    #[arg(long)]
    pub http2: bool,
    /// Open loop: requests per second over all connections, latency measured from each
    /// request's intended send time. Without it, a closed loop (back to back).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Measured time, after the warm-up.
    #[arg(long, default_value = "10s")]
    pub duration: Span,
    /// Stop after this many measured requests (before --duration if sooner).
    #[arg(long)]
    pub requests: Option<u64>,
    /// Time sent but not measured, from the start.
    #[arg(long, default_value = "2s")]
    pub warmup: Span,
    /// Range sizes, drawn uniformly per request (repeat the flag).
    #[arg(long = "range", default_values = ["64KiB"])]
    pub ranges: Vec<ByteSize>,
    /// Range starts are multiples of this [default: each range's own size].
    #[arg(long)]
    pub align: Option<ByteSize>,
    /// Share of requests that download a whole file (no Range).
    #[arg(long, default_value = "0%")]
    pub whole: Percent,
    /// Share of requests that resume a download (`Range: bytes=N-`).
    #[arg(long, default_value = "0%")]
    pub resume: Percent,
    /// Zipf exponent of popularity over the URLs; 0 is uniform.
    #[arg(long, default_value_t = 0.0)]
    pub zipf: f64,
    /// The size of every URL's file, instead of asking the server with HEAD.
    #[arg(long)]
    pub size: Option<ByteSize>,
    /// A header field sent with every request, `Name: value` (repeat the flag).
    #[arg(long = "header")]
    pub headers: Vec<String>,
    /// A request not fully answered by then counts as a timeout error.
    #[arg(long, default_value = "30s")]
    pub timeout: Span,
    /// Seeds the workload.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `Name: value` as a header field.
pub fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), LoadError> {
    let bad = || LoadError::invalid(format!("--header {text:?}: write it as \"Name: value\""));
    let (name, value) = text.split_once(':').ok_or_else(bad)?;
    Ok((
        HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?,
        HeaderValue::from_str(value.trim()).map_err(|_| bad())?,
    ))
}

impl LoadArgs {
    /// The workload's mix, as the flags describe it.
    pub fn mix(&self) -> RangeMix {
        RangeMix {
            range_sizes: self.ranges.iter().map(|r| r.0).collect(),
            align: self.align.map(|a| a.0),
            whole_share: self.whole.0 / 100.0,
            resume_share: self.resume.0 / 100.0,
            zipf: self.zipf,
        }
    }

    /// Checks the flags, asks the server for file sizes (unless --size), and runs.
    pub async fn run(&self) -> Result<LoadReport, LoadError> {
        let headers = self
            .headers
            .iter()
            .map(|h| parse_header(h))
            .collect::<Result<Vec<_>, _>>()?;
        let protocol = if self.http2 {
            Protocol::Http2
        } else {
            Protocol::Http1
        };
        let (server, paths) = resolve(&self.urls).await?;
        let plan = RunPlan {
            label: self.urls[0].clone(),
            servers: vec![server.clone()],
            protocol,
            connections: self.connections,
            streams: self.streams,
            pace: self.rate.map_or(Pace::Closed, |rate| Pace::Open { rate }),
            warmup: self.warmup.0,
            duration: Some(self.duration.0),
            requests: self.requests,
            timeout: self.timeout.0,
            seed: self.seed,
            progress: !self.json,
        };
        // Flags first: no point asking the server about a run that cannot go.
        plan.validate()?;
        let targets = match self.size {
            Some(size) => paths
                .into_iter()
                .map(|path| Target { path, size: size.0 })
                .collect(),
            None => probe_sizes(&server, &paths, protocol, &headers).await?,
        };
        let workload = RangeWorkload::new(targets, self.mix())?.with_headers(headers);
        run(&plan, Arc::new(workload)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        load: LoadArgs,
    }

    fn args(extra: &[&str]) -> LoadArgs {
        let mut argv = vec!["load", "--url", "http://127.0.0.1:9/f"];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).expect("flags parse").load
    }

    #[tokio::test]
    async fn bad_flags_are_refused_before_any_connection() {
        let e = args(&["--connections", "0"])
            .run()
            .await
            .expect_err("refused");
        assert!(
            e.to_string().contains("--connections must be at least 1"),
            "{e}"
        );
        let e = args(&["--rate=-5"]).run().await.expect_err("refused");
        assert!(e.to_string().contains("--rate"), "{e}");
        let e = args(&["--header", "no colon"])
            .run()
            .await
            .expect_err("refused");
        assert!(e.to_string().contains("Name: value"), "{e}");
        let e = args(&["--size", "1000", "--range", "4KiB"])
            .run()
            .await
            .expect_err("refused");
        assert!(e.to_string().contains("does not fit"), "{e}");
        let mut a = args(&[]);
        a.urls = vec!["https://127.0.0.1:9/f".into()];
        assert!(
            a.run()
                .await
                .expect_err("refused")
                .to_string()
                .contains("https")
        );
        a.urls = vec![
            "http://127.0.0.1:9/f".into(),
            "http://127.0.0.1:10/g".into(),
        ];
        let e = a.run().await.expect_err("refused").to_string();
        assert!(e.contains("another server"), "{e}");
    }

    #[test]
    fn unit_flags_reject_nonsense_with_a_hint() {
        let bad = Cli::try_parse_from(["load", "--url", "http://h/", "--range", "big"]);
        let text = bad.expect_err("refused").to_string();
        assert!(text.contains("4096, 256KiB"), "{text}");
        let mix = args(&["--range", "4KiB", "--range", "8MiB", "--whole", "10%"]).mix();
        assert_eq!(mix.range_sizes, [4096, 8 << 20]);
        assert!((mix.whole_share - 0.1).abs() < 1e-12);
    }
}
