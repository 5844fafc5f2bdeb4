//! `packyard pack …`: flags in, calls into `packyard-pack`, a summary out.

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use packyard_pack::{BuildSummary, Progress};

/// The template manifest. Only fields the platform's packaging tool knows, so the file
/// works with both tools unchanged; the explanations are in [`TEMPLATE_NOTES`].
pub(crate) const TEMPLATE: &str = r#"{
  "assetPackID": "my-pack",
  "downloadPolicy": {
    "prefetch": {
      "installationEventTypes": ["firstInstallation", "subsequentUpdate"]
    }
  },
  "fileSelectors": [
    { "directory": "Assets" }
  ],
  "platforms": ["iOS", "iPadOS", "macOS", "tvOS", "visionOS"]
}
"#;

/// What each field of [`TEMPLATE`] means. JSON has no comments, so these go to stderr.
const TEMPLATE_NOTES: &str = r#"# Packaging manifest template (the JSON is on stdout or in -o FILE; these notes are not).
#
# assetPackID     1 to 64 characters from A-Z a-z 0-9 . - (not starting with '.');
#                 unique in the app, never reusable once the pack is archived.
# downloadPolicy  exactly one of:
#                   {"essential": {"installationEventTypes": [...]}}  before first launch
#                   {"prefetch":  {"installationEventTypes": [...]}}  in the background
#                   {"onDemand":  {}}                                  when the app asks
#                 event types: "firstInstallation", "subsequentUpdate" (at least one).
# fileSelectors   {"file": "intro.m4v"} or {"directory": "Textures"} (recursive), relative
#                 to the manifest's directory (or --root); no "..", no absolute paths,
#                 no links leading out of that directory.
# platforms       optional; leave it out to target every platform.
#                 Names: "iOS", "iPadOS", "macOS", "tvOS", "visionOS".
# language        optional; add "language": "fr-CA" for a localized pack
#                 (BCP-47: language, optional script, optional region).
#
# Next: packyard pack build manifest.json -o my-pack.tar
"#;

/// `packyard pack` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum PackCommand {
    /// Print a template packaging manifest (notes on stderr, JSON on stdout or in FILE).
    ///
    /// The JSON holds only fields the platform's packaging tool also reads, so the file
    /// works unchanged with `packyard pack build` and with that tool.
    Template {
        /// Write the template to FILE instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Overwrite FILE if it exists.
        #[arg(long, requires = "output")]
        force: bool,
    },
    /// Build a deterministic pack archive from a manifest and the files it selects.
    Build {
        /// The packaging manifest (JSON).
        manifest: PathBuf,
        /// Where to write the archive; replaced only when the build succeeds.
        #[arg(short, long, value_name = "OUT")]
        output: PathBuf,
        /// The directory selectors are relative to [default: the manifest's directory].
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
    },
}

/// Runs one `packyard pack` subcommand.
pub(crate) fn run(command: PackCommand) -> anyhow::Result<()> {
    match command {
        PackCommand::Template { output, force } => template(output.as_deref(), force),
        PackCommand::Build {
            manifest,
            output,
            root,
        } => build(&manifest, &output, root.as_deref()),
    }
}

fn template(output: Option<&Path>, force: bool) -> anyhow::Result<()> {
    eprint!("{TEMPLATE_NOTES}");
    let Some(path) = output else {
        print!("{TEMPLATE}");
        return Ok(());
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .create_new(!force)
        .open(path)
        .with_context(|| {
            if path.exists() && !force {
                format!("{} exists; pass --force to overwrite it", path.display())
            } else {
                format!("cannot write {}", path.display())
            }
        })?;
    file.write_all(TEMPLATE.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn build(manifest: &Path, output: &Path, root: Option<&Path>) -> anyhow::Result<()> {
    let summary = packyard_pack::build(manifest, root, output, TerminalBar::new())?;
    print_summary(output, &summary);
    Ok(())
}

fn print_summary(output: &Path, s: &BuildSummary) {
    println!("built {}", output.display());
    println!("  pack     {}", s.manifest.asset_pack_id());
    println!(
        "  files    {} ({}, {} bytes)",
        s.files,
        HumanBytes(s.content_bytes),
        s.content_bytes
    );
    println!(
        "  archive  {} ({} bytes)",
        HumanBytes(s.archive_bytes),
        s.archive_bytes
    );
    println!("  blake3   {}", s.archive_hash.to_hex());
    for w in &s.warnings {
        eprintln!("warning: {w}");
    }
}

/// A byte progress bar on stderr, only when stderr is a terminal (never in pipes or logs).
struct TerminalBar(Option<ProgressBar>);

impl TerminalBar {
    fn new() -> Self {
        Self(std::io::stderr().is_terminal().then(ProgressBar::hidden))
    }
}

impl Progress for TerminalBar {
    fn start(&mut self, total_bytes: u64) {
        let Some(bar) = &self.0 else { return };
        bar.set_length(total_bytes);
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
        {
            bar.set_style(style);
        }
    }

    fn advance(&mut self, bytes: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(bytes);
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
