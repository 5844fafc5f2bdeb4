//! `packyard store copy`: moves an origin's disk store into the bucket its new configuration
//! names, so a running cluster switches to object storage without uploading anything again.

use std::ops::ControlFlow;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use packyard_chunk_store::copy::copy_chunks;
use packyard_chunk_store::{DiskChunkStore, ObjectChunkStore};
use packyard_origin::OriginConfig;
use packyard_origin::config::StoreConfig;

/// `packyard store …`.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    #[command(subcommand)]
    command: StoreCommand,
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Copy every chunk of an origin's disk store into the bucket an origin configuration
    /// names (its `[store]` table, `kind = "s3"`), each verified on both sides; chunks the
    /// bucket already holds are skipped, so run it again after a break, and once more after
    /// the origins have switched, to catch what arrived meanwhile.
    Copy {
        /// The origin's data folder (its `store/` is read) or the store folder itself.
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
        /// The origin configuration naming the bucket (credentials as the origin takes them).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Do not read every chunk back from the bucket after writing it.
        #[arg(long)]
        no_verify: bool,
    },
}

impl StoreArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        match &self.command {
            StoreCommand::Copy {
                from,
                config,
                no_verify,
            } => copy(from, config, !*no_verify),
        }
    }
}

fn copy(from: &std::path::Path, config: &std::path::Path, verify: bool) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(config).with_context(|| format!("reading {}", config.display()))?;
    let origin = OriginConfig::from_toml(&text).with_context(|| config.display().to_string())?;
    let StoreConfig::S3(bucket) = &origin.store else {
        bail!(
            "{} keeps chunks on disk; give the configuration with the bucket (`[store]` with \
             kind = \"s3\")",
            config.display()
        );
    };
    bucket
        .validate()
        .map_err(|e| anyhow::anyhow!("{}: {e}", config.display()))?;
    let dir = if from.join("store").join("chunks").is_dir() {
        from.join("store")
    } else {
        from.to_owned()
    };
    if !dir.join("chunks").is_dir() {
        bail!("{} holds no chunk store (no chunks/ folder)", dir.display());
    }
    let source =
        DiskChunkStore::open(&dir).with_context(|| format!("opening {}", dir.display()))?;
    let target = ObjectChunkStore::open(bucket)?;
    target
        .bucket()
        .check()
        .with_context(|| format!("reaching the {}", target.bucket().name()))?;
    eprintln!(
        "copying {} into the {}",
        dir.display(),
        target.bucket().name()
    );
    let mut last = std::time::Instant::now();
    let report = copy_chunks(&source, &target, verify, |r| {
        if last.elapsed() >= std::time::Duration::from_secs(5) {
            eprintln!(
                "… {} copied ({} bytes), {} already there",
                r.copied, r.copied_bytes, r.present
            );
            last = std::time::Instant::now();
        }
        ControlFlow::Continue(())
    })?;
    println!(
        "copied {} chunks ({} bytes); {} were there already; {} verified",
        report.copied, report.copied_bytes, report.present, report.verified
    );
    if !report.corrupt.is_empty() {
        for id in &report.corrupt {
            eprintln!("chunk {id} was corrupt on disk and was not copied");
        }
        bail!(
            "{} chunks were corrupt on disk; the versions that name them must be uploaded again",
            report.corrupt.len()
        );
    }
    Ok(())
}
