//! `packyard`: the one binary. Thin: it parses flags and calls the library crates.
//!
//! # Layout
//!
//! - `main.rs`: the command tree and exit codes.
//! - `pack.rs`: `packyard pack template` and `packyard pack build`, over `packyard-pack`.
//! - `dev.rs`: `packyard dev`, control plane + origin + edge in one process.
//! - `control.rs`: `packyard control`, one control-plane node.
//! - `cluster/`: `packyard cluster status|join|leave` (membership of a running cluster) and
//!   `packyard cluster ca init|cert issue` (the cluster's certificates).
//! - `cluster_tls.rs`: the flags that point a server at its cluster certificate.
//! - `origin.rs`: `packyard origin`, one origin (uploads, processing, chunk service, GC).
//! - `edge.rs`: `packyard edge`, one edge (device HTTP/HTTPS, chunk cache, sync).
//! - `admin/`: the operator commands (apps, builds, packs, versions, review, release, users,
//!   keys, tester tokens, rollouts) against any cluster's admin API.
//! - `signal.rs`, `logging.rs`: what every server command shares.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Every server in the binary allocates per request and per Raft message; mimalloc's
/// thread-local free lists cost a fraction of glibc's malloc there (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin;
mod cluster;
mod cluster_tls;
mod control;
mod dev;
mod device;
mod edge;
mod logging;
mod origin;
mod pack;
mod signal;
mod store;
mod units;

/// Packyard: a self-hosted CDN and release control plane for app asset packs.
#[derive(Debug, Parser)]
#[command(name = "packyard", version)]
struct Cli {
    /// How servers write their logs (to stderr): `auto` is text, coloured only on a terminal
    /// unless NO_COLOR is set; `plain` is text without colour; `json` is one object per line.
    /// PACKYARD_LOG filters them (RUST_LOG syntax, default `info`).
    #[arg(
        long,
        global = true,
        env = "PACKYARD_LOG_FORMAT",
        value_enum,
        default_value = "auto"
    )]
    log_format: logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run all of Packyard on this machine: control plane, origin and edge in one process.
    Dev(dev::DevArgs),
    /// Write packaging manifests and build pack archives.
    #[command(subcommand)]
    Pack(pack::PackCommand),
    /// Run a control-plane node (Raft on RocksDB, admin API, watch stream, webhooks).
    Control(control::ControlArgs),
    /// The cluster: its members (status, join, leave) and its certificates (ca, cert).
    Cluster(cluster::ClusterArgs),
    /// Run an origin (upload endpoint, processing into chunks, chunk service, GC).
    Origin(origin::OriginArgs),
    /// Run an edge (device downloads over HTTP/HTTPS, chunk cache, sync from the cluster).
    Edge(edge::EdgeArgs),
    /// An origin's chunk store: copy a disk store into a bucket.
    Store(store::StoreArgs),
    /// Apps: list, create, show.
    Apps(admin::AppsArgs),
    /// App builds: register one for internal, external or store testing.
    Builds(admin::BuildsArgs),
    /// Asset packs: create, list, show, archive.
    Packs(admin::PacksArgs),
    /// Pack versions: upload (resumable), list with their release tracks, show.
    Versions(admin::VersionsArgs),
    /// Reviews: submit for external or store review, start, approve, reject, show.
    Review(admin::ReviewArgs),
    /// Release a store-approved version to every device.
    Release(admin::ReleaseArgs),
    /// Users and their roles on apps.
    Users(admin::UsersArgs),
    /// API keys: create, revoke.
    Keys(admin::KeysArgs),
    /// Tester tokens for the beta channels.
    TesterTokens(admin::TesterTokensArgs),
    /// Start, show, advance, pause, resume or roll back a per-region rollout.
    Rollout(admin::RolloutArgs),
    /// Webhooks: send an app's events to an endpoint; list, show, deliveries, delete.
    Webhooks(admin::WebhooksArgs),
    /// The edge fleet: list, show.
    Edges(admin::EdgesArgs),
    /// The regions the edges serve, with how many edges are up in each.
    Regions(admin::RegionsArgs),
    /// Who the API key belongs to, their roles, and the server asked.
    Whoami(admin::WhoamiArgs),
    /// The operator commands' settings: which server and key, and where each came from.
    Config(admin::ConfigArgs),
    /// Play a device: sync a folder of packs with an edge (manifest, policies, delta updates).
    #[command(subcommand)]
    Device(device::DeviceCommand),
    /// Print a completion script for a shell (bash, zsh, fish, elvish, powershell), e.g.
    /// `packyard completions bash > /etc/bash_completion.d/packyard`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `packyard man > packyard.1 && man ./packyard.1`.
    Man,
}

/// How often a recorder's histograms are drained into their summaries or buckets.
const METRICS_UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// Keeps a Prometheus recorder's memory bounded for the life of the process. A recorder
/// built without its exporter keeps every histogram sample until it is drained, by a scrape
/// or by upkeep; with nobody scraping, an edge under load grew by tens of megabytes a
/// minute. A thread of its own, so it runs whatever the async runtime is doing.
fn metrics_upkeep(handle: metrics_exporter_prometheus::PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(METRICS_UPKEEP);
                handle.run_upkeep();
            }
        });
    if let Err(e) = spawned {
        eprintln!("warning: no metrics upkeep thread ({e}); scrape /metrics to bound memory");
    }
}

/// `packyard man`: the page of the whole command tree.
fn man() -> anyhow::Result<()> {
    let page = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
    page.render(&mut std::io::stdout())?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::set_format(cli.log_format);
    let result = match cli.command {
        Command::Dev(args) => dev::run(&args),
        Command::Pack(command) => pack::run(command),
        Command::Control(args) => control::run(&args),
        Command::Cluster(args) => cluster::run(&args),
        Command::Origin(args) => origin::run(&args),
        Command::Edge(args) => edge::run(&args),
        Command::Store(args) => args.run(),
        Command::Apps(args) => args.run(),
        Command::Builds(args) => args.run(),
        Command::Packs(args) => args.run(),
        Command::Versions(args) => args.run(),
        Command::Review(args) => args.run(),
        Command::Release(args) => args.run(),
        Command::Users(args) => args.run(),
        Command::Keys(args) => args.run(),
        Command::TesterTokens(args) => args.run(),
        Command::Rollout(args) => admin::run_rollout(&args),
        Command::Device(command) => device::run(command),
        Command::Whoami(args) => args.run(),
        Command::Edges(args) => args.run(),
        Command::Webhooks(args) => args.run(),
        Command::Regions(args) => args.run(),
        Command::Config(args) => args.run(),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "packyard", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => man(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
