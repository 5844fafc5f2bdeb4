//! `packyard store copy`: moves an origin's disk store into the bucket its new configuration
//! names, so a running cluster switches to object storage without uploading anything again.
//! `packyard store regroup`: moves a bucket's chunk objects (one per chunk, from before
//! segments) into segments.

use std::ops::ControlFlow;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use packyard_chunk_store::copy::copy_chunks;
use packyard_chunk_store::{DiskChunkStore, ObjectChunkStore};
use packyard_core::Blake3Hash;
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
    /// Move the chunks a bucket holds one object each (`chunks/{id}`, as Packyard kept them
    /// before it grouped chunks into segments) into segments, each verified; run it before
    /// the upgraded origins start. Resumes after a break.
    Regroup {
        /// The origin configuration naming the bucket.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
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
            StoreCommand::Regroup { config } => regroup(config),
        }
    }
}

/// The bucket an origin configuration names, checked.
fn bucket_of(config: &std::path::Path) -> anyhow::Result<ObjectChunkStore> {
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
    let target = ObjectChunkStore::open(bucket)?;
    target
        .bucket()
        .check()
        .with_context(|| format!("reaching the {}", target.bucket().name()))?;
    Ok(target)
}

fn regroup(config: &std::path::Path) -> anyhow::Result<()> {
    let store = bucket_of(config)?;
    eprintln!(
        "moving chunk objects of the {} into segments",
        store.bucket().name()
    );
    let mut last = std::time::Instant::now();
    let report = store.regroup(|r| {
        if last.elapsed() >= std::time::Duration::from_secs(5) {
            eprintln!("… {} moved ({} bytes)", r.moved, r.bytes);
            last = std::time::Instant::now();
        }
        ControlFlow::Continue(())
    })?;
    println!(
        "moved {} chunks ({} bytes) into segments",
        report.moved, report.bytes
    );
    corrupt_named(&report.corrupt, "in the bucket and was left where it is")
}

fn copy(from: &std::path::Path, config: &std::path::Path, verify: bool) -> anyhow::Result<()> {
    let target = bucket_of(config)?;
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
    corrupt_named(&report.corrupt, "on disk and was not copied")
}

/// Names each corrupt chunk (`where_what`: where it was and what became of it) and fails
/// when there is any.
fn corrupt_named(corrupt: &[Blake3Hash], where_what: &str) -> anyhow::Result<()> {
    for id in corrupt {
        eprintln!("chunk {id} was corrupt {where_what}");
    }
    if !corrupt.is_empty() {
        bail!(
            "{} chunks were corrupt; the versions that name them must be uploaded again",
            corrupt.len()
        );
    }
    Ok(())
}
