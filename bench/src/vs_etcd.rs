//! `packyard-bench vs-etcd`: writes to a three-node (or five-node) Packyard control plane
//! against puts to an etcd cluster of as many members, both with fsync on, both pinned to the same core(s), both loaded
//! over HTTP/1.1 by the same generator (etcd through its JSON gateway), connections spread
//! over every node (followers forward writes to the leader on both sides).
//!
//! Packyard's write is `POST /v1/backgroundAssetVersions` (a new version of a pack: one Raft
//! entry, the admin API's own authentication, validation and JSON:API rendering). etcd's is a
//! put of a new key with a value of about the same size as that request's body.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::error::{BenchError, io_err};
use crate::load::client::Protocol;
use crate::load::runner::RunPlan;
use crate::load::schedule::Pace;
use crate::machine::Machine;
use crate::plot::{Chart, Series, line_chart};
use crate::side::ab::{Comparison, Contender, alternate, fmt_spread};
use crate::side::control_cluster::{ControlCluster, CreateVersion};
use crate::side::etcd::{EtcdCluster, EtcdPut};
use crate::spread::Spread;

/// What to run.
#[derive(Debug, Clone)]
pub struct VsEtcdConfig {
    /// The `packyard` binary.
    pub packyard_bin: PathBuf,
    /// The `etcd` binary.
    pub etcd_bin: PathBuf,
    /// Concurrent clients (connections) to compare at.
    pub clients: Vec<usize>,
    /// Sent but not measured, per run.
    pub warmup: Duration,
    /// Measured, per run.
    pub duration: Duration,
    /// Rounds, alternating which side goes first.
    pub rounds: usize,
    /// CPUs of the servers.
    pub server_cpus: Option<String>,
    /// Where the clusters keep their data (fsync goes there).
    pub work_dir: PathBuf,
    /// Send every client to this node (1 to `nodes`) of each cluster instead of spreading them.
    pub node: Option<usize>,
    /// Nodes (members) of each cluster: 3 or 5.
    pub nodes: usize,
    /// Where to draw writes/s and p99 against clients (PNG), when given.
    pub plot_dir: Option<PathBuf>,
}

/// Everything `vs-etcd` measured.
#[derive(Debug, Clone, Serialize)]
pub struct VsEtcdReport {
    /// Where it ran.
    pub machine: Machine,
    /// CPUs the servers were pinned to.
    pub server_cpus: Option<String>,
    /// Seconds measured per run.
    pub seconds: f64,
    /// Rounds.
    pub rounds: usize,
    /// The one node every client went to, if not spread over all of them.
    pub node: Option<usize>,
    /// Nodes of each cluster.
    pub nodes: usize,
    /// The charts drawn.
    pub plots: Vec<PathBuf>,
    /// One comparison per client count (A = Packyard, B = etcd).
    pub rows: Vec<Comparison>,
}

/// Starts both clusters and runs every client count on both.
pub async fn run_vs_etcd(config: &VsEtcdConfig) -> Result<VsEtcdReport, BenchError> {
    let work = tempfile::Builder::new()
        .prefix("packyard-bench-vs-etcd-")
        .tempdir_in(&config.work_dir)
        .map_err(io_err("create a directory in", &config.work_dir))?;
    let cpus = config.server_cpus.as_deref();
    let n = config.nodes;
    eprintln!("starting {n} etcd members …");
    let etcd = EtcdCluster::start(&config.etcd_bin, &work.path().join("etcd"), cpus, n).await?;
    eprintln!("starting {n} packyard control nodes …");
    let packyard_dir = work.path().join("packyard");
    let control =
        ControlCluster::start_with(&config.packyard_bin, &packyard_dir, cpus, n, None).await?;
    let pack = control.create_pack().await?;
    let packyard_write = CreateVersion { pack };
    // The same payload size on both sides: etcd's value is as long as Packyard's request body.
    let value_len = packyard_admin_client::new_version_document(&packyard_write.pack)
        .to_string()
        .len();
    let pick = |servers: &[crate::load::client::Server]| match config.node {
        Some(n) => vec![servers[n - 1].clone()],
        None => servers.to_vec(),
    };
    let a = Contender {
        name: "packyard".into(),
        servers: pick(&control.admins),
        source: Arc::new(packyard_write),
        pids: control.pids(),
    };
    let b = Contender {
        name: "etcd".into(),
        servers: pick(&etcd.clients),
        source: Arc::new(EtcdPut { value_len }),
        pids: etcd.pids(),
    };
    let mut rows = Vec::new();
    for &clients in &config.clients {
        eprintln!("{clients} client(s):");
        let plan = RunPlan {
            label: String::new(),
            servers: Vec::new(),
            protocol: Protocol::Http1,
            connections: clients,
            streams: 1,
            pace: Pace::Closed,
            warmup: config.warmup,
            duration: Some(config.duration),
            requests: None,
            timeout: Duration::from_secs(30),
            seed: 9,
            progress: true,
        };
        rows.push(alternate(&format!("{clients} clients"), &a, &b, &plan, config.rounds).await?);
    }
    drop(control);
    drop(etcd);
    let plots = match &config.plot_dir {
        Some(dir) if rows.len() > 1 => plot(&rows, dir, config.nodes)?,
        _ => Vec::new(),
    };
    Ok(VsEtcdReport {
        machine: Machine::current(),
        server_cpus: config.server_cpus.clone(),
        seconds: config.duration.as_secs_f64(),
        rounds: config.rounds,
        node: config.node,
        nodes: config.nodes,
        plots,
        rows,
    })
}

impl fmt::Display for VsEtcdReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.nodes;
        writeln!(
            f,
            "vs-etcd: {n} packyard control nodes vs {n} etcd members, fsync on; {} rounds of {:.0} s per side; servers on CPUs {}, {} CPUs ({})",
            self.rounds,
            self.seconds,
            self.server_cpus.as_deref().unwrap_or("(not pinned)"),
            self.machine.cpus,
            self.machine.cpu_model
        )?;
        if let Some(n) = self.node {
            writeln!(f, "every client sent to node {n} of each cluster")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "| clients | packyard writes/s | etcd writes/s | packyard ÷ etcd writes/s | packyard p50 ms | etcd p50 ms | packyard p99 ms | etcd p99 ms | packyard ÷ etcd p99 | CPU µs per write packyard / etcd | errors packyard / etcd |"
        )?;
        writeln!(
            f,
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        for c in &self.rows {
            let med = |s: Option<Spread>| s.map_or(0.0, |s| s.median);
            let (ea, eb) = c.errors();
            writeln!(
                f,
                "| {} | {:.0} | {:.0} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {:.0} / {:.0} | {ea} / {eb} |",
                c.concurrency,
                med(c.a_requests()),
                med(c.b_requests()),
                fmt_spread(c.ratio_requests, 2),
                med(c.a_p50_ms()),
                med(c.b_p50_ms()),
                med(c.a_p99_ms()),
                med(c.b_p99_ms()),
                fmt_spread(c.ratio_p99, 2),
                median(&c.a_cpu_us),
                median(&c.b_cpu_us),
            )?;
        }
        for p in &self.plots {
            writeln!(f, "plot: {}", p.display())?;
        }
        Ok(())
    }
}

/// Writes/s and p99 against clients, both sides, medians of the rounds: two PNGs in `dir`.
fn plot(rows: &[Comparison], dir: &Path, nodes: usize) -> Result<Vec<PathBuf>, BenchError> {
    std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
    let series = |f: &dyn Fn(&Comparison) -> Option<(f64, f64)>| -> Vec<Series> {
        let points = |side: usize| {
            rows.iter()
                .filter_map(|c| {
                    let (a, b) = f(c)?;
                    Some((c.concurrency as f64, if side == 0 { a } else { b }))
                })
                .collect()
        };
        vec![
            Series {
                name: format!("packyard ({nodes} control nodes)"),
                points: points(0),
            },
            Series {
                name: format!("etcd ({nodes} members)"),
                points: points(1),
            },
        ]
    };
    let writes = series(&|c| Some((c.a_requests()?.median, c.b_requests()?.median)));
    let p99 = series(&|c| Some((c.a_p99_ms()?.median, c.b_p99_ms()?.median)));
    let writes_path = dir.join(format!("vs-etcd-{nodes}-nodes-writes.png"));
    let p99_path = dir.join(format!("vs-etcd-{nodes}-nodes-p99.png"));
    line_chart(
        &writes_path,
        &Chart {
            title: &format!("{nodes} nodes, fsync on: writes/s against clients (median of rounds)"),
            x_label: "clients",
            y_label: "writes/s",
            log2_x: true,
        },
        &writes,
    )?;
    line_chart(
        &p99_path,
        &Chart {
            title: &format!(
                "{nodes} nodes, fsync on: p99 latency against clients (median of rounds)"
            ),
            x_label: "clients",
            y_label: "p99 latency (ms)",
            log2_x: true,
        },
        &p99,
    )?;
    Ok(vec![writes_path, p99_path])
}

/// The median of `values`, 0 when there are none.
fn median(values: &[f64]) -> f64 {
    Spread::of(values).map_or(0.0, |s| s.median)
}

/// Flags of `packyard-bench vs-etcd`.
#[derive(Debug, Clone, clap::Args)]
pub struct VsEtcdArgs {
    /// The `packyard` binary [default: $CARGO_TARGET_DIR/release/packyard].
    #[arg(long)]
    pub packyard_bin: Option<PathBuf>,
    /// The etcd binary (found on PATH).
    #[arg(long, default_value = "etcd")]
    pub etcd_bin: PathBuf,
    /// Concurrent clients to compare at.
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    pub clients: Vec<usize>,
    /// Sent but not measured, per run.
    #[arg(long, default_value = "1s")]
    pub warmup: crate::units::Span,
    /// Measured, per run.
    #[arg(long, default_value = "5s")]
    pub duration: crate::units::Span,
    /// Rounds; each runs both sides once, alternating which goes first.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Where the clusters keep their data (a temporary directory inside; fsync goes there).
    #[arg(long, env = "TMPDIR", default_value = "/tmp")]
    pub work_dir: PathBuf,
    /// Send every client to node N (1 to --nodes) of each cluster instead of spreading them
    /// over all of them (to see a leader's and a follower's latency apart).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub node: Option<u8>,
    /// Nodes of each cluster (Packyard control nodes, etcd members).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(3..=5))]
    pub nodes: u8,
    /// Draw writes/s and p99 against clients into this folder (with two or more --clients).
    #[arg(long)]
    pub plot_dir: Option<PathBuf>,
    /// Core pinning.
    #[command(flatten)]
    pub pin: crate::side::pinning::PinArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl VsEtcdArgs {
    /// The run these flags describe, the servers on `server_cpus`.
    pub fn config(&self, server_cpus: Option<String>) -> Result<VsEtcdConfig, BenchError> {
        if let Some(node) = self.node
            && node > self.nodes
        {
            return Err(BenchError::Setup(format!(
                "--node {node} names no node of a {}-node cluster",
                self.nodes
            )));
        }
        if self.clients.is_empty() || self.clients.contains(&0) || self.rounds == 0 {
            return Err(BenchError::Setup(
                "--clients must each be at least 1, and --rounds at least 1".into(),
            ));
        }
        Ok(VsEtcdConfig {
            packyard_bin: crate::side::packyard::find_packyard(self.packyard_bin.as_deref())?,
            etcd_bin: crate::side::nginx::find_tool(
                &self.etcd_bin,
                "install it with scripts/install-bench-deps.sh (apt-get install etcd-server) or pass --etcd-bin",
            )?,
            clients: self.clients.clone(),
            warmup: self.warmup.0,
            duration: self.duration.0,
            rounds: self.rounds,
            server_cpus,
            work_dir: self.work_dir.clone(),
            node: self.node.map(usize::from),
            nodes: usize::from(self.nodes),
            plot_dir: self.plot_dir.clone(),
        })
    }
}
