//! `packyard-bench beta-tokens`: what checking a tester token costs a download. One edge
//! serves one version both in the store channel (public) and in the internal beta channel
//! (a token on every request, as `?token=`, the way a beta manifest hands it on); rounds of
//! the same closed-loop load of 4 KiB ranges alternate between the two URLs, so both see the
//! same machine, and the report gives each round's requests per second and the beta/store
//! ratio. Only the authorization differs: the same bytes, cache and connections.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::dedup_bench::{DedupConfig, build_synthetic_pack};
use crate::error::{BenchError, io_err};
use crate::load::client::{Protocol, Server};
use crate::load::runner::{RunPlan, run};
use crate::load::schedule::Pace;
use crate::load::workload::{RangeMix, RangeWorkload, Target};
use crate::machine::Machine;
use crate::side::packyard::{EdgeSetup, Packyard, pack_path};
use crate::units::Percent;

/// What to run.
#[derive(Debug, Clone)]
pub struct BetaTokensConfig {
    /// The `packyard` binary.
    pub packyard_bin: PathBuf,
    /// Rounds per URL, alternating.
    pub rounds: usize,
    /// How long each round loads the edge.
    pub duration: Duration,
    /// Connections of the closed-loop load.
    pub connections: usize,
    /// CPUs of the edge.
    pub server_cpus: Option<String>,
    /// Where the pack and the servers' data go.
    pub work_dir: PathBuf,
}

/// One round.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    /// `store` or `beta`.
    pub channel: &'static str,
    /// Requests per second.
    pub requests_per_sec: f64,
    /// Failed requests.
    pub errors: u64,
    /// Median latency, microseconds.
    pub p50_us: u64,
}

/// Everything `beta-tokens` measured.
#[derive(Debug, Clone, Serialize)]
pub struct BetaTokensReport {
    /// Where it ran.
    pub machine: Machine,
    /// Seconds per round.
    pub seconds: u64,
    /// Connections.
    pub connections: usize,
    /// Every round, in the order run.
    pub rounds: Vec<Round>,
}

impl BetaTokensReport {
    fn median(&self, channel: &str) -> f64 {
        let mut rates: Vec<f64> = self
            .rounds
            .iter()
            .filter(|r| r.channel == channel)
            .map(|r| r.requests_per_sec)
            .collect();
        rates.sort_by(f64::total_cmp);
        rates.get(rates.len() / 2).copied().unwrap_or(0.0)
    }

    /// Median beta req/s over median store req/s.
    pub fn ratio(&self) -> f64 {
        let store = self.median("store");
        if store > 0.0 {
            self.median("beta") / store
        } else {
            0.0
        }
    }
}

/// Sets up the edge with one version in both channels and runs the rounds.
pub async fn run_beta_tokens(config: &BetaTokensConfig) -> Result<BetaTokensReport, BenchError> {
    let work = tempfile::Builder::new()
        .prefix("packyard-bench-beta-tokens-")
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
    let app = packyard.create_app("com.example.beta").await?;
    let pack_config = DedupConfig {
        files: 8,
        changed: Percent(0.0),
        min_file: 1 << 20,
        max_file: 1 << 20,
        params: Vec::new(),
        seed: 5,
    };
    let archive = build_synthetic_pack(dir, "beta", &pack_config, 1)?;
    let pack = packyard.create_pack(&app, "beta").await?;
    let (version, number) = packyard.upload(&pack, &archive).await?;
    // Released to the store, the newest version is also what internal testers get (R1).
    packyard.release_to_store(&app, &version).await?;
    packyard
        .wait_served(&pack_path(&app, "beta", number))
        .await?;
    let size = packyard.download(&pack_path(&app, "beta", number)).await?;
    let token = packyard.tester_token(&app, 86_400).await?;
    let store = format!("/apps/{app}/store/beta");
    let beta = format!("/apps/{app}/internal/beta?token={token}");
    let server = Server {
        addr: packyard.edge,
        authority: packyard.edge.to_string(),
    };
    let workload = |path: &str| {
        RangeWorkload::new(
            vec![Target {
                path: path.to_owned(),
                size,
            }],
            RangeMix {
                range_sizes: vec![4 << 10],
                ..RangeMix::default()
            },
        )
        .map(Arc::new)
    };
    let (store_load, beta_load) = (workload(&store)?, workload(&beta)?);
    let mut rounds = Vec::new();
    for round in 0..config.rounds * 2 {
        let (channel, load) = if round % 2 == 0 {
            ("store", &store_load)
        } else {
            ("beta", &beta_load)
        };
        let plan = RunPlan {
            label: format!("beta-tokens, {channel}"),
            servers: vec![server.clone()],
            protocol: Protocol::Http1,
            connections: config.connections,
            streams: 1,
            pace: Pace::Closed,
            warmup: Duration::from_secs(1),
            duration: Some(config.duration),
            requests: None,
            timeout: Duration::from_secs(10),
            seed: 7,
            progress: true,
        };
        eprintln!(
            "round {}: {channel}, {} s …",
            round + 1,
            config.duration.as_secs()
        );
        let report = run(&plan, Arc::clone(load) as _).await?;
        rounds.push(Round {
            channel,
            requests_per_sec: report.requests as f64 / config.duration.as_secs_f64(),
            errors: report.errors,
            p50_us: report.latency_us.p50,
        });
    }
    Ok(BetaTokensReport {
        machine: Machine::current(),
        seconds: config.duration.as_secs(),
        connections: config.connections,
        rounds,
    })
}

impl fmt::Display for BetaTokensReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "beta-tokens: 4 KiB ranges, {} connections, {} s rounds alternating store / beta; {} CPUs ({})",
            self.connections, self.seconds, self.machine.cpus, self.machine.cpu_model
        )?;
        writeln!(f)?;
        writeln!(f, "| round | channel | req/s | p50 µs | errors |")?;
        writeln!(f, "|---:|---|---:|---:|---:|")?;
        for (i, r) in self.rounds.iter().enumerate() {
            writeln!(
                f,
                "| {} | {} | {:.0} | {} | {} |",
                i + 1,
                r.channel,
                r.requests_per_sec,
                r.p50_us,
                r.errors
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "median beta / median store: {:.3} (store {:.0} req/s, beta {:.0} req/s)",
            self.ratio(),
            self.median("store"),
            self.median("beta")
        )
    }
}

/// Flags of `packyard-bench beta-tokens`.
#[derive(Debug, Clone, clap::Args)]
pub struct BetaTokensArgs {
    /// The `packyard` binary [default: $CARGO_TARGET_DIR/release/packyard].
    #[arg(long)]
    pub packyard_bin: Option<PathBuf>,
    /// Rounds per channel (they alternate).
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Seconds of load per round.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Connections of the closed-loop load.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
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

impl BetaTokensArgs {
    /// The run these flags describe, the edge on `server_cpus`.
    pub fn config(&self, server_cpus: Option<String>) -> Result<BetaTokensConfig, BenchError> {
        if self.rounds == 0 || self.seconds == 0 || self.connections == 0 {
            return Err(BenchError::Setup(
                "--rounds, --seconds and --connections must be at least 1".into(),
            ));
        }
        Ok(BetaTokensConfig {
            packyard_bin: crate::side::packyard::find_packyard(self.packyard_bin.as_deref())?,
            rounds: self.rounds,
            duration: Duration::from_secs(self.seconds),
            connections: self.connections,
            server_cpus,
            work_dir: self.work_dir.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_is_of_the_medians() {
        let round = |channel, requests_per_sec| Round {
            channel,
            requests_per_sec,
            errors: 0,
            p50_us: 1,
        };
        let report = BetaTokensReport {
            machine: Machine::current(),
            seconds: 1,
            connections: 1,
            rounds: vec![
                round("store", 100.0),
                round("beta", 90.0),
                round("store", 1000.0),
                round("beta", 99.0),
                round("store", 50.0),
                round("beta", 10.0),
            ],
        };
        assert!((report.ratio() - 0.9).abs() < 1e-9, "{}", report.ratio());
    }
}
