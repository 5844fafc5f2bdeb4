//! `packyard-bench vs-nginx`: the edge with a hot cache against nginx serving the same archive
//! files, both pinned to the same core(s), loaded by the same generator with the same
//! workload, alternately.
//!
//! Setup: synthetic packs (noise files built with `packyard pack build`'s library) are written
//! once; nginx serves the archives from a directory; Packyard gets them through the admin API
//! and the origin, the versions are reviewed and released to the store (so their immutable
//! URLs are public, as nginx's are), and every pack is downloaded through the edge twice so
//! that its chunks are in the edge's memory tier. Then every case runs on both sides.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::dedup_bench::{DedupConfig, build_synthetic_pack};
use crate::error::{BenchError, io_err};
use crate::load::client::{Protocol, Server};
use crate::load::runner::RunPlan;
use crate::load::schedule::Pace;
use crate::load::workload::{RangeMix, RangeWorkload, Target};
use crate::machine::Machine;
use crate::plot::{Chart, Series, line_chart};
use crate::side::ab::{Comparison, Contender, alternate, fmt_spread};
use crate::side::nginx::Nginx;
use crate::side::packyard::{EdgeSetup, Packyard, pack_path};
use crate::units::{ByteSize, Percent};

/// One workload both sides run.
#[derive(Debug, Clone)]
pub struct Case {
    /// Its name in tables.
    pub name: String,
    /// What the requests ask for.
    pub mix: RangeMix,
}

impl Case {
    /// The default cases: 4 KiB, 64 KiB and 8 MiB aligned ranges, and whole packs.
    pub fn defaults(zipf: f64) -> Vec<Case> {
        let ranges = |size: u64| Case {
            name: format!("{} ranges", ByteSize(size)),
            mix: RangeMix {
                range_sizes: vec![size],
                zipf,
                ..RangeMix::default()
            },
        };
        vec![
            ranges(4 << 10),
            ranges(64 << 10),
            ranges(8 << 20),
            Case {
                name: "whole packs".into(),
                mix: RangeMix {
                    whole_share: 1.0,
                    zipf,
                    ..RangeMix::default()
                },
            },
        ]
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct VsNginxConfig {
    /// The `packyard` binary.
    pub packyard_bin: PathBuf,
    /// The `nginx` binary.
    pub nginx_bin: PathBuf,
    /// Packs served.
    pub packs: usize,
    /// Bytes of files per pack (1 MiB files; the archive adds tar headers).
    pub pack_size: u64,
    /// Connections of the load generator.
    pub connections: usize,
    /// HTTP/1.1 or HTTP/2 (h2c; nginx gets `listen … http2`).
    pub protocol: Protocol,
    /// Sent but not measured, per run.
    pub warmup: Duration,
    /// Measured, per run.
    pub duration: Duration,
    /// Rounds (each runs both sides once, alternating who goes first).
    pub rounds: usize,
    /// CPUs of the servers (`taskset` list); the load generator pins itself elsewhere.
    pub server_cpus: Option<String>,
    /// The cases.
    pub cases: Vec<Case>,
    /// Connection counts for a sweep of `sweep_case` (empty: no sweep).
    pub sweep: Vec<usize>,
    /// The case the sweep runs.
    pub sweep_case: Option<Case>,
    /// Where the sweep's PNG charts go.
    pub plot_dir: PathBuf,
    /// Where packs and server data go (a temporary directory inside).
    pub work_dir: PathBuf,
}

/// One point of a sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepPoint {
    /// Connections.
    pub connections: usize,
    /// Both sides at that load.
    pub comparison: Comparison,
}

/// Everything `vs-nginx` measured.
#[derive(Debug, Clone, Serialize)]
pub struct VsNginxReport {
    /// Where it ran.
    pub machine: Machine,
    /// CPUs the servers were pinned to.
    pub server_cpus: Option<String>,
    /// Packs and their archive sizes.
    pub pack_bytes: Vec<u64>,
    /// Connections.
    pub connections: usize,
    /// HTTP version.
    pub protocol: Protocol,
    /// Seconds measured per run.
    pub seconds: f64,
    /// Rounds.
    pub rounds: usize,
    /// One comparison per case (A = edge, B = nginx).
    pub cases: Vec<Comparison>,
    /// The sweep, if one ran.
    pub sweep: Vec<SweepPoint>,
    /// Charts written.
    pub plots: Vec<PathBuf>,
}

/// Sets both sides up, runs every case, then the sweep.
pub async fn run_vs_nginx(config: &VsNginxConfig) -> Result<VsNginxReport, BenchError> {
    let work = tempfile::Builder::new()
        .prefix("packyard-bench-vs-nginx-")
        .tempdir_in(&config.work_dir)
        .map_err(io_err("create a directory in", &config.work_dir))?;
    let dir = work.path();
    open_up(dir)?;
    let www = dir.join("www");
    std::fs::create_dir_all(&www).map_err(io_err("create", &www))?;
    eprintln!(
        "building {} packs of {} …",
        config.packs,
        ByteSize(config.pack_size)
    );
    let files = (config.pack_size >> 20).max(1);
    let mut archives = Vec::new();
    for i in 0..config.packs {
        let ident = format!("pack-{i:02}");
        let pack_config = DedupConfig {
            files,
            changed: Percent(0.0),
            min_file: 1 << 20,
            max_file: 1 << 20,
            params: Vec::new(),
            seed: 1000 + i as u64,
        };
        let archive = build_synthetic_pack(&www, &ident, &pack_config, 1)?;
        archives.push((ident, archive));
    }
    let sizes: Vec<u64> = archives
        .iter()
        .map(|(_, a)| {
            std::fs::metadata(a)
                .map(|m| m.len())
                .map_err(io_err("stat", a))
        })
        .collect::<Result<_, _>>()?;
    let cpus = config.server_cpus.as_deref();

    eprintln!("starting nginx …");
    let nginx_dir = dir.join("nginx");
    let probe = format!("/{}", file_name(&archives[0].1));
    let nginx = Nginx::start(
        &config.nginx_bin,
        &www,
        &nginx_dir,
        cpus,
        &probe,
        config.protocol,
    )
    .await?;

    eprintln!("starting packyard (control plane, origin, edge) and uploading …");
    let total: u64 = sizes.iter().sum();
    let mut packyard = Packyard::start(
        &config.packyard_bin,
        &dir.join("packyard"),
        &EdgeSetup {
            cpus: config.server_cpus.clone(),
            // Everything fits in memory with room to spare: this is the hot-cache case.
            cache_memory_bytes: (total * 2).max(256 << 20),
        },
    )
    .await?;
    let app = packyard.create_app("com.example.bench").await?;
    let mut edge_targets = Vec::new();
    for ((ident, archive), &size) in archives.iter().zip(&sizes) {
        let pack = packyard.create_pack(&app, ident).await?;
        let (version, number) = packyard.upload(&pack, archive).await?;
        packyard.release_to_store(&app, &version).await?;
        edge_targets.push(Target {
            path: pack_path(&app, ident, number),
            size,
        });
    }
    eprintln!("warming the edge's cache …");
    for t in &edge_targets {
        packyard.wait_served(&t.path).await?;
        for _ in 0..2 {
            let got = packyard.download(&t.path).await?;
            if got != t.size {
                return Err(BenchError::Setup(format!(
                    "the edge served {got} bytes of {}, expected {}",
                    t.path, t.size
                )));
            }
        }
    }
    let nginx_targets: Vec<Target> = archives
        .iter()
        .zip(&sizes)
        .map(|((_, a), &size)| Target {
            path: format!("/{}", file_name(a)),
            size,
        })
        .collect();
    let server = |addr: std::net::SocketAddr| Server {
        addr,
        authority: addr.to_string(),
    };
    let contenders = |mix: &RangeMix| -> Result<(Contender, Contender), BenchError> {
        Ok((
            Contender {
                name: "edge".into(),
                servers: vec![server(packyard.edge)],
                source: Arc::new(RangeWorkload::new(edge_targets.clone(), mix.clone())?),
                pids: packyard.edge_pid().into_iter().collect(),
            },
            Contender {
                name: "nginx".into(),
                servers: vec![server(nginx.addr)],
                source: Arc::new(RangeWorkload::new(nginx_targets.clone(), mix.clone())?),
                // nginx serves from worker processes the master does not report: not measured.
                pids: Vec::new(),
            },
        ))
    };
    let plan = |connections: usize| RunPlan {
        label: String::new(),
        servers: Vec::new(),
        protocol: config.protocol,
        connections,
        streams: 1,
        pace: Pace::Closed,
        warmup: config.warmup,
        duration: Some(config.duration),
        requests: None,
        timeout: Duration::from_secs(60),
        seed: 42,
        progress: true,
    };
    let mut cases = Vec::new();
    for case in &config.cases {
        eprintln!("{} ({} connections):", case.name, config.connections);
        let (edge, nginx) = contenders(&case.mix)?;
        cases.push(
            alternate(
                &case.name,
                &edge,
                &nginx,
                &plan(config.connections),
                config.rounds,
            )
            .await?,
        );
    }
    let mut sweep = Vec::new();
    if let Some(case) = &config.sweep_case {
        let (edge, nginx) = contenders(&case.mix)?;
        for &connections in &config.sweep {
            eprintln!("sweep, {}, {connections} connections:", case.name);
            let comparison =
                alternate(&case.name, &edge, &nginx, &plan(connections), config.rounds).await?;
            sweep.push(SweepPoint {
                connections,
                comparison,
            });
        }
    }
    let plots = if sweep.is_empty() {
        Vec::new()
    } else {
        plot_sweep(
            &sweep,
            &config.plot_dir,
            config.sweep_case.as_ref().map_or("", |c| &c.name),
        )?
    };
    drop(packyard);
    drop(nginx);
    Ok(VsNginxReport {
        machine: Machine::current(),
        server_cpus: config.server_cpus.clone(),
        pack_bytes: sizes,
        connections: config.connections,
        protocol: config.protocol,
        seconds: config.duration.as_secs_f64(),
        rounds: config.rounds,
        cases,
        sweep,
        plots,
    })
}

/// nginx's workers run as `nobody` when started by root: let them read the temp directory.
fn open_up(dir: &Path) -> Result<(), BenchError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .map_err(io_err("chmod", dir))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn plot_sweep(sweep: &[SweepPoint], dir: &Path, case: &str) -> Result<Vec<PathBuf>, BenchError> {
    std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
    let series = |f: &dyn Fn(&Comparison) -> Option<(f64, f64)>| -> Vec<Series> {
        let edge = sweep
            .iter()
            .filter_map(|p| f(&p.comparison).map(|(a, _)| (p.connections as f64, a)))
            .collect();
        let nginx = sweep
            .iter()
            .filter_map(|p| f(&p.comparison).map(|(_, b)| (p.connections as f64, b)))
            .collect();
        vec![
            Series {
                name: "packyard edge".into(),
                points: edge,
            },
            Series {
                name: "nginx".into(),
                points: nginx,
            },
        ]
    };
    let rps = series(&|c| Some((c.a_requests()?.median, c.b_requests()?.median)));
    let p99 = series(&|c| Some((c.a_p99_ms()?.median, c.b_p99_ms()?.median)));
    let rps_path = dir.join("vs-nginx-requests.png");
    let p99_path = dir.join("vs-nginx-p99.png");
    line_chart(
        &rps_path,
        &Chart {
            title: &format!("{case}: requests/s against connections (median of rounds)"),
            x_label: "connections",
            y_label: "requests/s",
            log2_x: true,
        },
        &rps,
    )?;
    line_chart(
        &p99_path,
        &Chart {
            title: &format!("{case}: p99 latency against connections (median of rounds)"),
            x_label: "connections",
            y_label: "p99 latency (ms)",
            log2_x: true,
        },
        &p99,
    )?;
    Ok(vec![rps_path, p99_path])
}

/// The tables of side-by-side comparisons, A against B.
pub fn comparison_table(f: &mut fmt::Formatter<'_>, rows: &[&Comparison]) -> fmt::Result {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let (a, b) = (&first.a, &first.b);
    writeln!(
        f,
        "| case | conns | {a} req/s | {b} req/s | {a} ÷ {b} req/s | {a} MB/s | {b} MB/s | {a} ÷ {b} bytes/s | {a} p99 ms | {b} p99 ms | errors {a} / {b} |"
    )?;
    writeln!(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for c in rows {
        let med = |s: Option<crate::spread::Spread>| s.map_or(0.0, |s| s.median);
        let (ea, eb) = c.errors();
        writeln!(
            f,
            "| {} | {} | {:.0} | {:.0} | {} | {:.1} | {:.1} | {} | {:.2} | {:.2} | {ea} / {eb} |",
            c.case,
            c.concurrency,
            med(c.a_requests()),
            med(c.b_requests()),
            fmt_spread(c.ratio_requests, 2),
            med(c.a_bytes()) / 1e6,
            med(c.b_bytes()) / 1e6,
            fmt_spread(c.ratio_bytes, 2),
            med(c.a_p99_ms()),
            med(c.b_p99_ms()),
        )?;
    }
    Ok(())
}

impl fmt::Display for VsNginxReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = self.pack_bytes.iter().sum::<u64>() as f64 / f64::from(1u32 << 20);
        writeln!(
            f,
            "vs-nginx: {} packs ({mib:.0} MiB), {}, {} connections, {} rounds of {:.0} s per side; \
             servers on CPUs {}, {} CPUs ({})",
            self.pack_bytes.len(),
            self.protocol,
            self.connections,
            self.rounds,
            self.seconds,
            self.server_cpus.as_deref().unwrap_or("(not pinned)"),
            self.machine.cpus,
            self.machine.cpu_model,
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "Medians of the rounds; ratios are min / median / max over rounds (edge ÷ nginx in the same round)."
        )?;
        writeln!(f)?;
        comparison_table(f, &self.cases.iter().collect::<Vec<_>>())?;
        if !self.sweep.is_empty() {
            writeln!(f)?;
            writeln!(f, "Sweep:")?;
            writeln!(f)?;
            comparison_table(
                f,
                &self.sweep.iter().map(|p| &p.comparison).collect::<Vec<_>>(),
            )?;
        }
        for p in &self.plots {
            writeln!(f, "plot: {}", p.display())?;
        }
        Ok(())
    }
}

/// Flags of `packyard-bench vs-nginx`.
#[derive(Debug, Clone, clap::Args)]
pub struct VsNginxArgs {
    /// The `packyard` binary [default: $CARGO_TARGET_DIR/release/packyard].
    #[arg(long)]
    pub packyard_bin: Option<PathBuf>,
    /// The nginx binary (found on PATH or in /usr/sbin).
    #[arg(long, default_value = "nginx")]
    pub nginx_bin: PathBuf,
    /// Packs served by both.
    #[arg(long, default_value_t = 4)]
    pub packs: usize,
    /// Size of each pack (1 MiB files).
    #[arg(long, default_value = "24MiB")]
    pub pack_size: ByteSize,
    /// Connections of the load generator.
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// HTTP/2 with prior knowledge instead of HTTP/1.1.
    #[arg(long)]
    pub http2: bool,
    /// Zipf exponent of pack popularity.
    #[arg(long, default_value_t = 1.0)]
    pub zipf: f64,
    /// Range sizes to run, each a case of its own [default: 4KiB, 64KiB, 8MiB and whole packs].
    #[arg(long = "range")]
    pub ranges: Vec<ByteSize>,
    /// Sent but not measured, per run.
    #[arg(long, default_value = "1s")]
    pub warmup: crate::units::Span,
    /// Measured, per run.
    #[arg(long, default_value = "5s")]
    pub duration: crate::units::Span,
    /// Rounds; each runs both sides once, alternating which goes first.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Also sweep connection counts (--sweep-connections) for --sweep-range and plot
    /// requests/s and p99 against connections.
    #[arg(long)]
    pub sweep: bool,
    /// Connection counts of the sweep.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16,32,64")]
    pub sweep_connections: Vec<usize>,
    /// Range size of the sweep.
    #[arg(long, default_value = "4KiB")]
    pub sweep_range: ByteSize,
    /// Only the sweep, not the cases.
    #[arg(long)]
    pub sweep_only: bool,
    /// Where the sweep's PNG charts go.
    #[arg(long, default_value = "bench/plots")]
    pub plot_dir: PathBuf,
    /// Where packs and server data go (a temporary directory inside).
    #[arg(long, env = "TMPDIR", default_value = "/tmp")]
    pub work_dir: PathBuf,
    /// Core pinning.
    #[command(flatten)]
    pub pin: crate::side::pinning::PinArgs,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

impl VsNginxArgs {
    /// The run these flags describe, the servers on `server_cpus`.
    pub fn config(&self, server_cpus: Option<String>) -> Result<VsNginxConfig, BenchError> {
        if self.packs == 0 || self.rounds == 0 || self.connections == 0 {
            return Err(BenchError::Setup(
                "--packs, --rounds and --connections must be at least 1".into(),
            ));
        }
        if self.sweep_connections.contains(&0) {
            return Err(BenchError::Setup(
                "--sweep-connections must all be at least 1".into(),
            ));
        }
        let range_case = |size: u64| Case {
            name: format!("{} ranges", ByteSize(size)),
            mix: RangeMix {
                range_sizes: vec![size],
                zipf: self.zipf,
                ..RangeMix::default()
            },
        };
        let cases = if self.sweep_only {
            Vec::new()
        } else if self.ranges.is_empty() {
            Case::defaults(self.zipf)
        } else {
            self.ranges.iter().map(|r| range_case(r.0)).collect()
        };
        let packyard_bin = crate::side::packyard::find_packyard(self.packyard_bin.as_deref())?;
        let nginx_bin = crate::side::nginx::find_tool(
            &self.nginx_bin,
            "install it with scripts/install-bench-deps.sh (apt-get install nginx) or pass --nginx-bin",
        )?;
        Ok(VsNginxConfig {
            packyard_bin,
            nginx_bin,
            packs: self.packs,
            pack_size: self.pack_size.0,
            connections: self.connections,
            protocol: if self.http2 {
                Protocol::Http2
            } else {
                Protocol::Http1
            },
            warmup: self.warmup.0,
            duration: self.duration.0,
            rounds: self.rounds,
            server_cpus,
            cases,
            sweep: if self.sweep || self.sweep_only {
                self.sweep_connections.clone()
            } else {
                Vec::new()
            },
            sweep_case: (self.sweep || self.sweep_only).then(|| range_case(self.sweep_range.0)),
            plot_dir: self.plot_dir.clone(),
            work_dir: self.work_dir.clone(),
        })
    }
}
