//! `packyard`: the one binary. Thin: it parses flags and calls the library crates.
//!
//! # Layout
//!
//! - `main.rs`: the command tree and exit codes.
//! - `pack.rs`: `packyard pack template` and `packyard pack build`, over `packyard-pack`.
//! - `dev.rs`: `packyard dev`, control plane + origin + edge in one process.
//! - `control.rs`: `packyard control`, one control-plane node.
//! - `cluster.rs`: `packyard cluster status|join|leave`, membership of a running cluster.
//! - `origin.rs`: `packyard origin`, one origin (uploads, processing, chunk service, GC).
//! - `edge.rs`: `packyard edge`, one edge (device HTTP/HTTPS, chunk cache, sync).
//! - `rollout.rs`: `packyard rollout start|status|advance|pause|resume|rollback`, over the
//!   admin API.
//! - `signal.rs`, `logging.rs`: what every server command shares.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cluster;
mod control;
mod dev;
mod edge;
mod logging;
mod origin;
mod pack;
mod rollout;
mod signal;

/// Packyard: a self-hosted CDN and release control plane for app asset packs.
#[derive(Debug, Parser)]
#[command(name = "packyard", version)]
struct Cli {
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
    /// Show or change the members of a control-plane cluster.
    Cluster(cluster::ClusterArgs),
    /// Run an origin (upload endpoint, processing into chunks, chunk service, GC).
    Origin(origin::OriginArgs),
    /// Run an edge (device downloads over HTTP/HTTPS, chunk cache, sync from the cluster).
    Edge(edge::EdgeArgs),
    /// Start, show, advance, pause, resume or roll back a per-region rollout.
    Rollout(rollout::RolloutArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dev(args) => dev::run(&args),
        Command::Pack(command) => pack::run(command),
        Command::Control(args) => control::run(&args),
        Command::Cluster(args) => cluster::run(&args),
        Command::Origin(args) => origin::run(&args),
        Command::Edge(args) => edge::run(&args),
        Command::Rollout(args) => rollout::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
