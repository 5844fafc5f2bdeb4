//! `packyard`: the one binary. Thin: it parses flags and calls the library crates.
//!
//! # Layout
//!
//! - `main.rs`: the command tree and exit codes.
//! - `pack.rs`: `packyard pack template` and `packyard pack build`, over `packyard-pack`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod pack;

/// Packyard: a self-hosted CDN and release control plane for app asset packs.
#[derive(Debug, Parser)]
#[command(name = "packyard", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write packaging manifests and build pack archives.
    #[command(subcommand)]
    Pack(pack::PackCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Pack(command) => pack::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
