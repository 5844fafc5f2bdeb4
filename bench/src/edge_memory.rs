//! `packyard-bench edge-memory`: does an edge's memory stay flat under load? An edge serves
//! 4 KiB ranges of a pack held in its memory cache, as fast as it can, for a long run, while
//! its resident set (`VmRSS`) is sampled every second, once with nobody scraping `/metrics`
//! and once with a scraper every few seconds. Memory that grows with the request count (a
//! histogram keeping every sample until a scrape) shows as a slope; a flat edge shows none
//! once its cache and connections are warm.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::Method;
use serde::Serialize;

use crate::dedup_bench::{DedupConfig, build_synthetic_pack};
use crate::error::{BenchError, io_err};
use crate::load::client::{Protocol, Server};
use crate::load::runner::{RunPlan, run};
use crate::load::schedule::Pace;
use crate::load::workload::{RangeMix, RangeWorkload, Target};
use crate::machine::Machine;
use crate::side::http_call::call;
use crate::side::packyard::{EdgeSetup, Packyard, pack_path};
use crate::units::Percent;

/// What to run.
#[derive(Debug, Clone)]
pub struct EdgeMemoryConfig {
    /// The `packyard` binary.
    pub packyard_bin: PathBuf,
    /// How long each run loads the edge.
    pub duration: Duration,
    /// Connections of the closed-loop load.
    pub connections: usize,
    /// Seconds between scrapes of `/metrics` in the scraped run.
    pub scrape_every: Duration,
    /// CPUs of the edge.
    pub server_cpus: Option<String>,
    /// Where the pack and the servers' data go.
    pub work_dir: PathBuf,
}

/// One run.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryRun {
    /// `no scraper` or `scraped every N s`.
    pub label: String,
    /// Requests answered.
    pub requests: u64,
    /// Requests per second.
    pub requests_per_sec: f64,
    /// Errors.
    pub errors: u64,
    /// RSS in MB, one sample per second, from the start of the load.
    pub rss_mb: Vec<f64>,
}

impl MemoryRun {
    /// RSS after the first tenth of the run (warm) and at its end, and the growth between
    /// them per minute.
    pub fn warm_end_slope(&self) -> (f64, f64, f64) {
        let n = self.rss_mb.len();
        if n < 2 {
            return (0.0, 0.0, 0.0);
        }
        let warm_at = (n / 10).max(1).min(n - 1);
        let (warm, end) = (self.rss_mb[warm_at], self.rss_mb[n - 1]);
        let minutes = (n - 1 - warm_at) as f64 / 60.0;
        let slope = if minutes > 0.0 {
            (end - warm) / minutes
        } else {
            0.0
        };
        (warm, end, slope)
    }
}

/// Everything `edge-memory` measured.
#[derive(Debug, Clone, Serialize)]
pub struct EdgeMemoryReport {
    /// Where it ran.
    pub machine: Machine,
    /// Seconds per run.
    pub seconds: u64,
    /// One row per run.
    pub runs: Vec<MemoryRun>,
}

/// The edge's resident set in MB, from `/proc/{pid}/status`.
fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1000.0)
}

/// Sets up an edge with one pack in its memory cache and runs the load twice.
pub async fn run_edge_memory(config: &EdgeMemoryConfig) -> Result<EdgeMemoryReport, BenchError> {
    let work = tempfile::Builder::new()
        .prefix("packyard-bench-edge-memory-")
        .tempdir_in(&config.work_dir)
        .map_err(io_err("create a directory in", &config.work_dir))?;
    let dir = work.path();
    let mut packyard = Packyard::start(
        &config.packyard_bin,
        &dir.join("packyard"),
        &EdgeSetup {
            cpus: config.server_cpus.clone(),
            cache_memory_bytes: 256 << 20,
        },
    )
    .await?;
    let app = packyard.create_app("com.example.memory").await?;
    let pack_config = DedupConfig {
        files: 16,
        changed: Percent(0.0),
        min_file: 1 << 20,
        max_file: 1 << 20,
        params: Vec::new(),
        seed: 9,
    };
    let archive = build_synthetic_pack(dir, "memory", &pack_config, 1)?;
    let pack = packyard.create_pack(&app, "memory").await?;
    let (version, number) = packyard.upload(&pack, &archive).await?;
    packyard.release_to_store(&app, &version).await?;
    let path = pack_path(&app, "memory", number);
    packyard.wait_served(&path).await?;
    let size = packyard.download(&path).await?;
    let pid = packyard
        .edge_pid()
        .ok_or_else(|| BenchError::Setup("the edge has no pid".into()))?;
    let server = Server {
        addr: packyard.edge,
        authority: packyard.edge.to_string(),
    };
    let workload = Arc::new(RangeWorkload::new(
        vec![Target { path, size }],
        RangeMix {
            range_sizes: vec![4 << 10],
            ..RangeMix::default()
        },
    )?);
    let mut runs = Vec::new();
    for scrape in [None, Some(config.scrape_every)] {
        let label = match scrape {
            None => "no scraper".to_owned(),
            Some(every) => format!("scraped every {} s", every.as_secs()),
        };
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                while !done.load(Ordering::SeqCst) {
                    tick.tick().await;
                    if let Some(mb) = rss_mb(pid) {
                        samples.push(mb);
                    }
                }
                samples
            })
        };
        let scraper = scrape.map(|every| {
            let done = Arc::clone(&done);
            let url = format!("http://{}/metrics", server.addr);
            tokio::spawn(async move {
                while !done.load(Ordering::SeqCst) {
                    tokio::time::sleep(every).await;
                    let _ = call(Method::GET, &url, None, bytes::Bytes::new(), false).await;
                }
            })
        });
        let plan = RunPlan {
            label: format!("edge memory, {label}"),
            servers: vec![server.clone()],
            protocol: Protocol::Http1,
            connections: config.connections,
            streams: 1,
            pace: Pace::Closed,
            warmup: Duration::ZERO,
            duration: Some(config.duration),
            requests: None,
            timeout: Duration::from_secs(10),
            seed: 3,
            progress: true,
        };
        eprintln!("{label}: {} s of 4 KiB ranges …", config.duration.as_secs());
        let report = run(&plan, Arc::clone(&workload) as _).await?;
        done.store(true, Ordering::SeqCst);
        let rss_mb = sampler
            .await
            .map_err(|e| BenchError::Setup(format!("the RSS sampler: {e}")))?;
        if let Some(s) = scraper {
            s.abort();
        }
        runs.push(MemoryRun {
            label,
            requests: report.requests,
            requests_per_sec: report.requests as f64 / config.duration.as_secs_f64(),
            errors: report.errors,
            rss_mb,
        });
    }
    Ok(EdgeMemoryReport {
        machine: Machine::current(),
        seconds: config.duration.as_secs(),
        runs,
    })
}

impl fmt::Display for EdgeMemoryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "edge-memory: {} s of 4 KiB ranges per run, closed loop; RSS sampled every second; {} CPUs ({})",
            self.seconds, self.machine.cpus, self.machine.cpu_model
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| run | requests | req/s | errors | RSS first s MB | warm MB | end MB | max MB | growth after warm-up MB/min |"
        )?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        for r in &self.runs {
            let (warm, end, slope) = r.warm_end_slope();
            let first = r.rss_mb.first().copied().unwrap_or(0.0);
            let max = r.rss_mb.iter().copied().fold(0.0, f64::max);
            writeln!(
                f,
                "| {} | {} | {:.0} | {} | {first:.1} | {warm:.1} | {end:.1} | {max:.1} | {slope:+.2} |",
                r.label, r.requests, r.requests_per_sec, r.errors
            )?;
        }
        Ok(())
    }
}

/// Flags of `packyard-bench edge-memory`.
#[derive(Debug, Clone, clap::Args)]
pub struct EdgeMemoryArgs {
    /// The `packyard` binary [default: $CARGO_TARGET_DIR/release/packyard].
    #[arg(long)]
    pub packyard_bin: Option<PathBuf>,
    /// Seconds of load per run.
    #[arg(long, default_value_t = 300)]
    pub seconds: u64,
    /// Connections of the closed-loop load.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Seconds between scrapes of /metrics in the scraped run.
    #[arg(long, default_value_t = 15)]
    pub scrape_every: u64,
    /// Where the pack and server data go (a temporary directory inside).
    #[arg(long, env = "TMPDIR", default_value = "/tmp")]
    pub work_dir: PathBuf,
    /// Core pinning.
    #[command(flatten)]
    pub pin: crate::side::pinning::PinArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl EdgeMemoryArgs {
    /// The run these flags describe, the edge on `server_cpus`.
    pub fn config(&self, server_cpus: Option<String>) -> Result<EdgeMemoryConfig, BenchError> {
        if self.seconds < 10 || self.connections == 0 || self.scrape_every == 0 {
            return Err(BenchError::Setup(
                "--seconds must be at least 10, --connections and --scrape-every at least 1".into(),
            ));
        }
        Ok(EdgeMemoryConfig {
            packyard_bin: crate::side::packyard::find_packyard(self.packyard_bin.as_deref())?,
            duration: Duration::from_secs(self.seconds),
            connections: self.connections,
            scrape_every: Duration::from_secs(self.scrape_every),
            server_cpus,
            work_dir: self.work_dir.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slope_is_measured_after_the_warm_up() {
        let run = MemoryRun {
            label: "x".into(),
            requests: 1,
            requests_per_sec: 1.0,
            errors: 0,
            // 10 s of warm-up from 20 to 50 MB, then 120 s at +0.1 MB/s.
            rss_mb: (0..=130)
                .map(|s| {
                    if s < 13 {
                        20.0 + s as f64 * 2.5
                    } else {
                        50.0 + (s - 13) as f64 * 0.1
                    }
                })
                .collect(),
        };
        let (warm, end, slope) = run.warm_end_slope();
        assert!((warm - 50.0).abs() < 1e-9, "{warm}");
        assert!((end - 61.7).abs() < 1e-9, "{end}");
        assert!((slope - 6.0).abs() < 1e-6, "{slope}");
    }
}
