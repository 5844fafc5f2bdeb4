//! `packyard-bench`: runs a benchmark and prints its table (or JSON with `--json`).
//!
//! Thin: flags in, a library call, the report out.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use packyard_bench::beta_tokens::{BetaTokensArgs, run_beta_tokens};
use packyard_bench::cache_bench::{CacheBenchConfig, run_cache};
use packyard_bench::cold_miss::{ColdMissArgs, run_cold_miss};
use packyard_bench::control_soak::{SoakArgs, run_soak};
use packyard_bench::dedup_bench::{DedupConfig, run_dedup};
use packyard_bench::delta_bench::{DeltaArgs, run_delta};
use packyard_bench::edge_memory::{EdgeMemoryArgs, run_edge_memory};
use packyard_bench::fleet::{FleetConfig, run_fleet};
use packyard_bench::ingest_bench::{IngestConfig, run_ingest};
use packyard_bench::load::args::LoadArgs;
use packyard_bench::noise::write_noise_file;
use packyard_bench::propagation::{PropagationConfig, run_propagation};
use packyard_bench::side::packyard::find_packyard;
use packyard_bench::store_bench::{StoreBenchArgs, run_store_bench};
use packyard_bench::units::{ByteSize, Percent};
use packyard_bench::vs_etcd::{VsEtcdArgs, run_vs_etcd};
use packyard_bench::vs_nginx::{VsNginxArgs, run_vs_nginx};
use packyard_origin::ingest::ChunkingParams;

/// Packyard's benchmarks, each measured side by side with its peer.
#[derive(Debug, Parser)]
#[command(name = "packyard-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Chunk+hash throughput of the origin's ingest, against b3sum on the same file.
    Ingest(IngestArgs),
    /// New bytes in a pack version that changes a few files, per average chunk size.
    Dedup(DedupArgs),
    /// Hit ratios of the edge cache's eviction policy (S3-FIFO) against LRU, Zipf workload.
    Cache(CacheArgs),
    /// A rollout step's propagation from its commit to every edge serving it, 3 and 20 edges.
    Propagation(PropagationArgs),
    /// N simulated devices on the device client: install a pack, then update it by delta.
    Fleet(FleetArgs),
    /// Load any HTTP server with range requests: closed or open loop, latency percentiles.
    Load(LoadArgs),
    /// The edge with a hot cache against nginx on the same files, cores and workload.
    VsNginx(VsNginxArgs),
    /// A cold edge under 1,000 concurrent requests: time to first byte, origin fetches per chunk.
    ColdMiss(ColdMissArgs),
    /// Bytes an edge holding version N fetches from the origin for N+1 (5 % of files changed).
    Delta(DeltaArgs),
    /// Control-plane writes on 3 packyard nodes against puts on 3 etcd members, fsync on.
    VsEtcd(VsEtcdArgs),
    /// The control plane's leader SIGKILLed again and again under writers through every node;
    /// checks that no acknowledged write is lost (exits 1 when one is).
    ControlSoak(SoakArgs),
    /// An edge's resident memory over a long run of 4 KiB ranges, with and without a scraper.
    EdgeMemory(EdgeMemoryArgs),
    /// What a tester token costs a download: the same ranges from the store channel and,
    /// with a token, from a beta channel, in alternating rounds.
    BetaTokens(BetaTokensArgs),
    /// The origin over a three-node Garage against a plain S3 client and an origin on disk:
    /// ingest throughput, and a re-upload that sends only the chunks the store lacks.
    ObjectStore(StoreBenchArgs),
}

/// Flags of `packyard-bench fleet`.
#[derive(Debug, Args)]
struct FleetArgs {
    /// The `packyard` binary [default: next to this one, else the release build].
    #[arg(long)]
    packyard: Option<PathBuf>,
    /// Simulated devices.
    #[arg(long, default_value_t = 1000)]
    devices: usize,
    /// Devices syncing at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Files in the pack.
    #[arg(long, default_value_t = 200)]
    files: u64,
    /// Share of files with new contents in version N+1.
    #[arg(long, default_value = "5%")]
    changed: Percent,
    /// Smallest file; sizes are log-uniform between this and --max-file.
    #[arg(long, default_value = "4KiB")]
    min_file: ByteSize,
    /// Largest file.
    #[arg(long, default_value = "40KiB")]
    max_file: ByteSize,
    /// Seeds file sizes, contents and which files change.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where packs, server data and the devices' folders go (a temporary directory inside).
    #[arg(long, env = "TMPDIR", default_value = "/tmp")]
    work_dir: PathBuf,
    /// Skip the same update by zsync from nginx (run by default, side by side).
    #[arg(long)]
    without_zsync: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Flags of `packyard-bench propagation`.
#[derive(Debug, Args)]
struct PropagationArgs {
    /// Fleet sizes to measure (repeat the flag).
    #[arg(long = "edges", default_values_t = [3, 20])]
    edges: Vec<usize>,
    /// Measured rollout steps per fleet size (start, advance and roll back, in turn).
    #[arg(long, default_value_t = 60)]
    steps: usize,
    /// The `packyard` binary [default: next to this one, else the release build].
    #[arg(long)]
    packyard: Option<PathBuf>,
    /// Where the processes keep their data (a temporary directory inside it).
    #[arg(long, env = "TMPDIR", default_value = "/tmp")]
    work_dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct CacheArgs {
    /// Packs in the catalogue.
    #[arg(long, default_value_t = 500)]
    packs: usize,
    /// Smallest pack; sizes are log-uniform between this and --max-pack.
    #[arg(long, default_value = "1MiB")]
    min_pack: ByteSize,
    /// Largest pack.
    #[arg(long, default_value = "32MiB")]
    max_pack: ByteSize,
    /// Downloads in the trace; the first quarter warms the cache up.
    #[arg(long, default_value_t = 20_000)]
    downloads: usize,
    /// Zipf exponents of pack popularity (repeat the flag).
    #[arg(long, default_values_t = [1.0, 1.2])]
    zipf: Vec<f64>,
    /// Cache sizes as shares of the catalogue (repeat the flag).
    #[arg(long, default_values = ["1%", "5%", "10%", "25%"])]
    cache: Vec<Percent>,
    /// Share of downloads that resume from a random chunk.
    #[arg(long, default_value = "25%")]
    resume: Percent,
    /// Seeds the catalogue and the trace.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct IngestArgs {
    /// Size of the generated input file (ignored with --file).
    #[arg(long, default_value = "2GiB")]
    size: ByteSize,
    /// Use this file instead of generating one.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Average chunk size; min and max are a quarter and four times it [default: the
    /// origin's default, 64KiB].
    #[arg(long)]
    avg: Option<ByteSize>,
    /// Rounds; each runs every contender once, in rotating order.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Skip the contender that writes chunks to files.
    #[arg(long)]
    no_write: bool,
    /// The b3sum binary (found on PATH by default; `scripts/install-bench-deps.sh` installs it).
    #[arg(long, default_value = "b3sum")]
    b3sum: PathBuf,
    /// Where the generated file and written chunks go (a temporary directory inside it).
    #[arg(long, env = "TMPDIR", default_value = "/tmp")]
    work_dir: PathBuf,
    /// Seeds the generated file.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct DedupArgs {
    /// Files in the pack.
    #[arg(long, default_value_t = 2000)]
    files: u64,
    /// Share of files with new contents in the second version.
    #[arg(long, default_value = "5%")]
    changed: Percent,
    /// Average chunk sizes to compare (repeat the flag).
    #[arg(long, default_values = ["64KiB", "128KiB", "256KiB", "512KiB", "1MiB"])]
    avg: Vec<ByteSize>,
    /// Smallest file; sizes are log-uniform between this and --max-file.
    #[arg(long, default_value = "16KiB")]
    min_file: ByteSize,
    /// Largest file.
    #[arg(long, default_value = "1MiB")]
    max_file: ByteSize,
    /// Where the two source trees and archives go (a temporary directory inside it).
    #[arg(long, env = "TMPDIR", default_value = "/tmp")]
    work_dir: PathBuf,
    /// Seeds file sizes, contents and which files change.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Ingest(args) => ingest(&args),
        Command::Dedup(args) => dedup(&args),
        Command::Cache(args) => cache(&args),
        Command::Load(args) => load(&args),
        Command::Propagation(a) => run(a.json, propagation_config(&a), |c| async move {
            run_propagation(&c).await
        }),
        Command::Fleet(a) => run(
            a.json,
            fleet_config(&a),
            |c| async move { run_fleet(&c).await },
        ),
        Command::Delta(a) => run(a.json, a.config().map_err(Into::into), |c| async move {
            run_delta(&c).await
        }),
        Command::VsNginx(a) => run(
            a.json,
            pinned(&a.pin, |cpus| a.config(cpus)),
            |c| async move { run_vs_nginx(&c).await },
        ),
        Command::ColdMiss(a) => run(
            a.json,
            pinned(&a.pin, |cpus| a.config(cpus)),
            |c| async move { run_cold_miss(&c).await },
        ),
        Command::ObjectStore(a) => run(a.json, a.config().map_err(Into::into), |c| async move {
            run_store_bench(&c).await
        }),
        Command::EdgeMemory(a) => run(
            a.json,
            pinned(&a.pin, |cpus| a.config(cpus)),
            |c| async move { run_edge_memory(&c).await },
        ),
        Command::BetaTokens(a) => run(
            a.json,
            pinned(&a.pin, |cpus| a.config(cpus)),
            |c| async move { run_beta_tokens(&c).await },
        ),
        Command::VsEtcd(a) => run(
            a.json,
            pinned(&a.pin, |cpus| a.config(cpus)),
            |c| async move { run_vs_etcd(&c).await },
        ),
        Command::ControlSoak(a) => control_soak(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Every benchmark that starts servers, run one way: the configuration its flags make, run
/// by `bench` until done or until Ctrl-C or SIGTERM stops it (and the servers it started),
/// the report printed as a table or JSON.
fn run<C, R, F>(
    json: bool,
    config: anyhow::Result<C>,
    bench: impl FnOnce(C) -> F,
) -> anyhow::Result<()>
where
    F: Future<Output = Result<R, packyard_bench::BenchError>>,
    R: serde::Serialize + std::fmt::Display,
{
    let report = run_stoppable(bench(config?))?;
    print_report(&report, json)
}

/// The configuration of a benchmark whose servers may be pinned to cores: pinned before the
/// Tokio runtime starts, so that it sizes itself to the load generator's cores.
fn pinned<C>(
    pin: &packyard_bench::side::pinning::PinArgs,
    config: impl FnOnce(Option<String>) -> Result<C, packyard_bench::BenchError>,
) -> anyhow::Result<C> {
    Ok(config(pin.apply()?)?)
}

fn ingest(args: &IngestArgs) -> anyhow::Result<()> {
    let b3sum = find_program(&args.b3sum).with_context(|| {
        format!(
            "{} not found on PATH; install it with scripts/install-bench-deps.sh \
             (cargo install --locked b3sum) or pass --b3sum",
            args.b3sum.display()
        )
    })?;
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let params = match args.avg {
        Some(avg) => chunking(avg)?,
        None => ChunkingParams::default(),
    };
    let work = tempfile::Builder::new()
        .prefix("packyard-bench-ingest-")
        .tempdir_in(&args.work_dir)
        .with_context(|| format!("creating a directory in {}", args.work_dir.display()))?;
    let file = match &args.file {
        Some(f) => f.clone(),
        None => {
            let f = work.path().join("input.bin");
            eprintln!("writing {} of noise to {} …", args.size, f.display());
            write_noise_file(&f, args.size.0, args.seed)
                .with_context(|| format!("writing {}", f.display()))?;
            f
        }
    };
    let config = IngestConfig {
        file,
        params,
        runs: args.runs,
        b3sum,
        scratch: (!args.no_write).then(|| work.path().to_path_buf()),
    };
    let report = run_ingest(&config)?;
    print_report(&report, args.json)
}

fn dedup(args: &DedupArgs) -> anyhow::Result<()> {
    let params = args
        .avg
        .iter()
        .map(|a| chunking(*a))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if args.min_file > args.max_file {
        bail!(
            "--min-file ({}) is larger than --max-file ({})",
            args.min_file,
            args.max_file
        );
    }
    let config = DedupConfig {
        files: args.files,
        changed: args.changed,
        min_file: args.min_file.0,
        max_file: args.max_file.0,
        params,
        seed: args.seed,
    };
    let report = run_dedup(&config, &args.work_dir)?;
    print_report(&report, args.json)
}

fn cache(args: &CacheArgs) -> anyhow::Result<()> {
    if args.packs == 0 || args.downloads == 0 {
        bail!("--packs and --downloads must be at least 1");
    }
    let config = CacheBenchConfig {
        packs: args.packs,
        min_pack: args.min_pack.0,
        max_pack: args.max_pack.0,
        downloads: args.downloads,
        zipf: args.zipf.clone(),
        cache_percents: args.cache.iter().map(|p| p.0).collect(),
        resume_share: args.resume.0 / 100.0,
        seed: args.seed,
    };
    let report = run_cache(&config);
    print_report(&report, args.json)
}

/// A multi-threaded Tokio runtime for the commands that do network I/O.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the Tokio runtime")
}

/// Runs `work` to completion, or until Ctrl-C or SIGTERM: then `work` is dropped, and with it
/// every server it started (nginx, etcd, packyard are stopped by their guards' `Drop`).
fn run_stoppable<T>(
    work: impl Future<Output = Result<T, packyard_bench::BenchError>>,
) -> anyhow::Result<T> {
    runtime()?.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
        tokio::select! {
            result = work => Ok(result?),
            _ = tokio::signal::ctrl_c() => bail!("interrupted; the servers started are stopped"),
            _ = term.recv() => bail!("terminated; the servers started are stopped"),
        }
    })
}

fn fleet_config(args: &FleetArgs) -> anyhow::Result<FleetConfig> {
    Ok(FleetConfig {
        packyard_bin: find_packyard(args.packyard.as_deref())?,
        devices: args.devices,
        concurrency: args.concurrency,
        pack: DedupConfig::synthetic(
            args.files,
            args.changed,
            args.min_file.0,
            args.max_file.0,
            args.seed,
        )?,
        work_dir: args.work_dir.clone(),
        vs_zsync: !args.without_zsync,
    })
}

fn propagation_config(args: &PropagationArgs) -> anyhow::Result<PropagationConfig> {
    Ok(PropagationConfig {
        edges: args.edges.clone(),
        steps: args.steps,
        packyard: find_packyard(args.packyard.as_deref())?,
        work_dir: args.work_dir.clone(),
    })
}

fn load(args: &LoadArgs) -> anyhow::Result<()> {
    let report = runtime()?.block_on(args.run())?;
    print_report(&report, args.json)
}

fn control_soak(args: &SoakArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let report = run_stoppable(run_soak(&config))?;
    print_report(&report, args.json)?;
    if !report.violations.is_empty() {
        bail!("{} checks failed", report.violations.len());
    }
    Ok(())
}

/// Prints `report` as JSON or as its table.
fn print_report<R: serde::Serialize + std::fmt::Display>(
    report: &R,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}

fn chunking(avg: ByteSize) -> anyhow::Result<ChunkingParams> {
    let avg = u32::try_from(avg.0).with_context(|| format!("--avg {avg} is too large"))?;
    Ok(ChunkingParams::with_avg(avg)?)
}

/// `program` itself when it names a path, else the first match on PATH.
fn find_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return program.is_file().then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
