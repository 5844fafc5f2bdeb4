//! `packyard-bench delta`: what an edge holding version N fetches from the origin to serve
//! version N+1, when N+1 changes a few percent of the pack's files.
//!
//! The `dedup` benchmark computes the same thing offline from chunk lists; this one measures
//! it end to end: both versions go through the admin API and the origin's real ingest, the
//! edge serves N in full (so it holds N's chunks), then serves N+1 in full, and the bytes it
//! received from the origin in between come from its own
//! `packyard_edge_origin_fetched_bytes_total`. The chunk lists' prediction
//! (`ChunkList::delta_bytes`) is printed next to it.

use std::fmt;
use std::path::PathBuf;

use bytes::Bytes;
use http::Method;
use packyard_core::ChunkList;
use serde::Serialize;

use crate::dedup_bench::{DedupConfig, build_versions};
use crate::error::{BenchError, io_err};
use crate::machine::Machine;
use crate::side::http_call::call;
use crate::side::packyard::{EdgeSetup, Packyard, pack_path};
use crate::units::Percent;

/// What to run.
#[derive(Debug, Clone)]
pub struct DeltaConfig {
    /// The `packyard` binary.
    pub packyard_bin: PathBuf,
    /// The pack, versions N and N+1.
    pub pack: DedupConfig,
    /// Where packs and server data go.
    pub work_dir: PathBuf,
}

/// What `delta` measured.
#[derive(Debug, Clone, Serialize)]
pub struct DeltaReport {
    /// Where it ran.
    pub machine: Machine,
    /// Files per version.
    pub files: u64,
    /// Share of files changed, in percent.
    pub changed_percent: f64,
    /// Size of version N+1's archive.
    pub full_bytes: u64,
    /// Chunks in N+1.
    pub chunks: usize,
    /// Bytes the edge received from the origin to serve N in full (from empty).
    pub first_fetch_bytes: u64,
    /// Bytes the edge received from the origin to serve N+1 in full, holding N.
    pub delta_fetch_bytes: u64,
    /// `delta_fetch_bytes` as a percentage of `full_bytes`.
    pub delta_percent: f64,
    /// What the chunk lists predict (`ChunkList::delta_bytes`).
    pub predicted_bytes: u64,
}

async fn chunk_list(packyard: &Packyard, path: &str) -> Result<ChunkList, BenchError> {
    let url = format!("http://{}{path}/chunks", packyard.edge);
    let (status, body) = call(Method::GET, &url, None, Bytes::new(), false)
        .await
        .map_err(BenchError::Setup)?;
    serde_json::from_slice(&body)
        .map_err(|e| BenchError::Setup(format!("the chunk list at {url} ({status}): {e}")))
}

/// Builds both versions, sets up Packyard, serves N then N+1 through the edge.
pub async fn run_delta(config: &DeltaConfig) -> Result<DeltaReport, BenchError> {
    let work = tempfile::Builder::new()
        .prefix("packyard-bench-delta-")
        .tempdir_in(&config.work_dir)
        .map_err(io_err("create a directory in", &config.work_dir))?;
    let dir = work.path();
    let (v1, v2) = build_versions(dir, "delta-pack", &config.pack)?;
    let mut packyard = Packyard::start(
        &config.packyard_bin,
        &dir.join("packyard"),
        &EdgeSetup {
            cpus: None,
            // Version N stays in the edge (memory, else its disk tier) while N+1 is served.
            cache_memory_bytes: 2 << 30,
        },
    )
    .await?;
    let app = packyard.create_app("com.example.delta").await?;
    let pack = packyard.create_pack(&app, "delta-pack").await?;
    let metric = "packyard_edge_origin_fetched_bytes_total";

    eprintln!("version 1: upload, release, serve …");
    let (version, number) = packyard.upload(&pack, &v1).await?;
    packyard.release_to_store(&app, &version).await?;
    let path1 = pack_path(&app, "delta-pack", number);
    packyard.wait_served(&path1).await?;
    let list1 = chunk_list(&packyard, &path1).await?;
    let m0 = packyard.edge_metric(metric).await?;
    let got = packyard.download(&path1).await?;
    if got != list1.size() {
        return Err(BenchError::Setup(format!(
            "version 1: served {got} of {} bytes",
            list1.size()
        )));
    }
    let m1 = packyard.edge_metric(metric).await?;

    eprintln!("version 2: upload, release, serve …");
    let (version, number) = packyard.upload(&pack, &v2).await?;
    packyard.release_to_store(&app, &version).await?;
    let path2 = pack_path(&app, "delta-pack", number);
    packyard.wait_served(&path2).await?;
    let list2 = chunk_list(&packyard, &path2).await?;
    let got = packyard.download(&path2).await?;
    if got != list2.size() {
        return Err(BenchError::Setup(format!(
            "version 2: served {got} of {} bytes",
            list2.size()
        )));
    }
    let m2 = packyard.edge_metric(metric).await?;
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "counters of bytes, far below 2^53"
    )]
    let (first, delta) = ((m1 - m0).max(0.0) as u64, (m2 - m1).max(0.0) as u64);
    Ok(DeltaReport {
        machine: Machine::current(),
        files: config.pack.files,
        changed_percent: config.pack.changed.0,
        full_bytes: list2.size(),
        chunks: list2.chunks().len(),
        first_fetch_bytes: first,
        delta_fetch_bytes: delta,
        delta_percent: delta as f64 * 100.0 / list2.size().max(1) as f64,
        predicted_bytes: list2.delta_bytes(&list1),
    })
}

impl fmt::Display for DeltaReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |b: u64| b as f64 / f64::from(1u32 << 20);
        writeln!(
            f,
            "delta: {} files, {} % changed; version N+1 is {:.1} MiB in {} chunks",
            self.files,
            self.changed_percent,
            mib(self.full_bytes),
            self.chunks
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| edge fetched for N (empty cache) | edge fetched for N+1 (holding N) | % of N+1 | chunk lists predict | target |"
        )?;
        writeln!(f, "|---:|---:|---:|---:|---|")?;
        writeln!(
            f,
            "| {:.1} MiB | {:.1} MiB | {:.2} % | {:.1} MiB | ≤ 10 % {} |",
            mib(self.first_fetch_bytes),
            mib(self.delta_fetch_bytes),
            self.delta_percent,
            mib(self.predicted_bytes),
            if self.delta_percent <= 10.0 {
                "(met)"
            } else {
                "(missed)"
            },
        )
    }
}

/// Flags of `packyard-bench delta`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeltaArgs {
    /// The `packyard` binary [default: $CARGO_TARGET_DIR/release/packyard].
    #[arg(long)]
    pub packyard_bin: Option<PathBuf>,
    /// Files in the pack.
    #[arg(long, default_value_t = 1000)]
    pub files: u64,
    /// Share of files with new contents in version N+1.
    #[arg(long, default_value = "5%")]
    pub changed: Percent,
    /// Smallest file; sizes are log-uniform between this and --max-file.
    #[arg(long, default_value = "16KiB")]
    pub min_file: crate::units::ByteSize,
    /// Largest file.
    #[arg(long, default_value = "1MiB")]
    pub max_file: crate::units::ByteSize,
    /// Seeds file sizes, contents and which files change.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where packs and server data go (a temporary directory inside).
    #[arg(long, env = "TMPDIR", default_value = "/tmp")]
    pub work_dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl DeltaArgs {
    /// The run these flags describe.
    pub fn config(&self) -> Result<DeltaConfig, BenchError> {
        Ok(DeltaConfig {
            packyard_bin: crate::side::packyard::find_packyard(self.packyard_bin.as_deref())?,
            pack: DedupConfig::synthetic(
                self.files,
                self.changed,
                self.min_file.0,
                self.max_file.0,
                self.seed,
            )?,
            work_dir: self.work_dir.clone(),
        })
    }
}
