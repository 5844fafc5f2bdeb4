//! `packyard-bench object-store`: the origin over a three-node Garage (an S3-compatible
//! distributed store), measured against what Garage accepts from a plain S3 client, and
//! beside an origin on its own disk.
//!
//! - **Ingest**, in rounds (each with its own archive, so nothing is in the store before; the
//!   contenders take turns going first):
//!   - *plain S3 client, chunk objects*: `object_store`'s S3 client PUTs the archive's chunks
//!     (cut as the origin cuts them) as one object each, `in_flight` requests at once;
//!   - *origin on Garage, chunks*: `packyard versions upload`'s way, timed from the chunk list
//!     to COMPLETE: the chunks sent to the origin in bundles of 8 MiB, `in_flight` at once
//!     (each bundle one segment object), the origin's checks, and processing (every chunk
//!     read back, the archive's SHA-256 and BLAKE3 checked);
//!   - *origin on Garage, whole archive*: the hosted API's way (parts), another archive of the
//!     same size and shape;
//!   - *origin on disk, chunks*: the same archive as the first two, on an origin that keeps its
//!     chunks in its data folder;
//!   - *plain S3 client, 8 MiB objects*: the same archive as objects of the upload part size:
//!     the plain client's best way to write these bytes, which the origin is held to.
//! - **Re-upload**: version 1 of a pack of `reupload_size`, then version 2 with `changed` of
//!   its files new: bytes sent and time, beside version 2 sent whole.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use object_store::ObjectStore as _;
use packyard_chunk_store::garage::Garage;
use packyard_origin::ingest::{Cut, cut_file};
use serde::Serialize;

use crate::dedup_bench::{DedupConfig, build_synthetic_pack};
use crate::error::{BenchError, io_err};
use crate::machine::Machine;
use crate::side::packyard::{EdgeSetup, Packyard};
use crate::spread::Spread;
use crate::units::{ByteSize, Percent};

/// Where an origin keeps its chunks in a benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// Its data folder (the embedded disk store).
    Disk,
    /// A three-node Garage on loopback, three copies of every object.
    Garage,
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Disk => "disk",
            Self::Garage => "garage (3 nodes)",
        })
    }
}

/// Starts a three-node Garage (the binary `scripts/install-garage.sh` caches).
pub async fn start_garage() -> Result<Garage, BenchError> {
    tokio::task::spawn_blocking(|| {
        std::panic::catch_unwind(|| Garage::start(3)).map_err(|panic| {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            BenchError::Setup(format!(
                "could not start Garage ({}); install it with scripts/install-garage.sh: {why}",
                packyard_chunk_store::garage::binary().display()
            ))
        })
    })
    .await
    .map_err(|e| BenchError::Setup(e.to_string()))?
}

/// An origin's configuration file putting its chunks and parts in `garage`'s bucket under
/// `prefix`, with every node as an endpoint.
pub fn origin_toml(garage: &Garage, prefix: &str) -> String {
    let c = &garage.config;
    let endpoints: Vec<&str> = garage.nodes.iter().map(|n| n.endpoint.as_str()).collect();
    format!(
        "[store]\nkind = \"s3\"\nendpoint = \"{}\"\nbucket = \"{}\"\nregion = \"{}\"\n\
         prefix = \"{prefix}\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n\
         request_timeout_secs = 120\nmax_retries = 3\n",
        endpoints.join(","),
        c.bucket,
        c.region,
        c.access_key_id.as_deref().unwrap_or_default(),
        c.secret_access_key.as_deref().unwrap_or_default(),
    )
}

/// What to run.
#[derive(Debug, Clone)]
pub struct StoreBenchConfig {
    /// The `packyard` binary.
    pub packyard_bin: PathBuf,
    /// Archive size per ingest round.
    pub size: u64,
    /// Ingest rounds.
    pub rounds: usize,
    /// Requests in flight at once, for the plain client and the uploads alike.
    pub in_flight: usize,
    /// Size of the re-uploaded pack (0: skip).
    pub reupload_size: u64,
    /// Share of its files changed in version 2.
    pub changed: Percent,
    /// Where archives and server data go.
    pub work_dir: PathBuf,
}

/// One contender's throughput over the rounds.
#[derive(Debug, Clone, Serialize)]
pub struct IngestRow {
    /// Who wrote.
    pub contender: String,
    /// MB/s (10^6 bytes per second of wall time), one per round.
    pub mb_per_s: Vec<f64>,
}

/// The re-upload's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Reupload {
    /// Version 2's archive size.
    pub bytes: u64,
    /// Files in the pack.
    pub files: u64,
    /// Share of them changed.
    pub changed: f64,
    /// Seconds to send version 1 as chunks (everything new), until COMPLETE.
    pub first_secs: f64,
    /// Bytes of version 2 sent as chunks.
    pub sent_bytes: u64,
    /// Chunks of version 2 sent, of all its chunks.
    pub sent_chunks: usize,
    /// Chunks in version 2.
    pub chunks: usize,
    /// Seconds to send version 2 as chunks, until COMPLETE.
    pub delta_secs: f64,
    /// Seconds to send version 2 whole (parts), until COMPLETE.
    pub whole_secs: f64,
}

/// Everything `object-store` measured.
#[derive(Debug, Clone, Serialize)]
pub struct StoreBenchReport {
    /// Where it ran.
    pub machine: Machine,
    /// Archive size per ingest round.
    pub size: u64,
    /// Chunks per ingest archive (the first round's).
    pub chunks: usize,
    /// Requests in flight.
    pub in_flight: usize,
    /// One row per contender.
    pub ingest: Vec<IngestRow>,
    /// `origin on Garage, chunks ÷ plain S3 client, 8 MiB objects`, per round: the origin
    /// against the plain client's best way to write the same bytes.
    pub ratio_to_plain: Vec<f64>,
    /// `origin on Garage, chunks ÷ plain S3 client, chunk objects`, per round.
    pub ratio_to_plain_chunks: Vec<f64>,
    /// `origin on Garage, chunks ÷ origin on disk, chunks`, per round.
    pub ratio_to_disk: Vec<f64>,
    /// `plain client, chunk objects ÷ plain client, 8 MiB objects`, per round: what the store
    /// gives up to small objects.
    pub small_objects: Vec<f64>,
    /// The re-upload, when run.
    pub reupload: Option<Reupload>,
}

const PLAIN: &str = "plain S3 client (object_store), chunk objects";
const GARAGE_CHUNKS: &str = "origin on Garage, chunks";
const GARAGE_WHOLE: &str = "origin on Garage, whole archive (other bytes)";
const DISK_CHUNKS: &str = "origin on disk, chunks";
const PLAIN_PARTS: &str = "plain S3 client (object_store), 8 MiB objects";
const CONTENDERS: [&str; 5] = [PLAIN, GARAGE_CHUNKS, GARAGE_WHOLE, DISK_CHUNKS, PLAIN_PARTS];

/// The object size of the plain client's second way: the upload part size.
const PART_OBJECT: usize = 8 << 20;

/// A pack of about `size` bytes in files of 64 KiB to 4 MiB (log-uniform; mean about
/// 1 MiB), seeded by `seed`.
fn pack_shape(size: u64, changed: Percent, seed: u64) -> DedupConfig {
    let (min, max) = (64u64 << 10, 4u64 << 20);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "a mean file size, rounded"
    )]
    let mean = ((max - min) as f64 / (max as f64 / min as f64).ln()) as u64;
    DedupConfig {
        files: size.div_ceil(mean).max(1),
        changed,
        min_file: min,
        max_file: max,
        params: Vec::new(),
        seed,
    }
}

/// `garage`'s bucket through `object_store`'s S3 client, on its own.
fn plain_client(garage: &Garage) -> Result<Arc<dyn object_store::ObjectStore>, BenchError> {
    let c = &garage.config;
    let s3 = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&garage.nodes[0].endpoint)
        .with_bucket_name(&c.bucket)
        .with_region(&c.region)
        .with_access_key_id(c.access_key_id.clone().unwrap_or_default())
        .with_secret_access_key(c.secret_access_key.clone().unwrap_or_default())
        .with_allow_http(true)
        .build()
        .map_err(|e| BenchError::Setup(format!("the plain S3 client: {e}")))?;
    Ok(Arc::new(s3))
}

/// PUTs `archive` as objects `{prefix}/{i}`, one per `(offset, length)` of `pieces`,
/// `in_flight` at once.
async fn plain_put(
    s3: &Arc<dyn object_store::ObjectStore>,
    archive: &Path,
    pieces: &[(usize, usize)],
    prefix: &str,
    in_flight: usize,
) -> Result<Duration, BenchError> {
    let bytes = Bytes::from(std::fs::read(archive).map_err(io_err("read", archive))?);
    let started = Instant::now();
    let mut puts = tokio::task::JoinSet::new();
    for (i, &(offset, len)) in pieces.iter().enumerate() {
        let piece = bytes.slice(offset..offset + len);
        while puts.len() >= in_flight {
            joined(puts.join_next().await)?;
        }
        let (s3, path) = (
            s3.clone(),
            object_store::path::Path::from(format!("{prefix}/{i}")),
        );
        puts.spawn(async move { s3.put(&path, piece.into()).await.map(|_| ()) });
    }
    while let Some(done) = puts.join_next().await {
        joined(Some(done))?;
    }
    Ok(started.elapsed())
}

/// The `(offset, length)` of each chunk of `cut`.
fn chunk_pieces(cut: &Cut) -> Vec<(usize, usize)> {
    let mut offset = 0;
    cut.chunks
        .iter()
        .map(|(_, len)| {
            let piece = (offset, *len as usize);
            offset += *len as usize;
            piece
        })
        .collect()
}

/// A file of `size` bytes in pieces of [`PART_OBJECT`].
fn part_pieces(size: u64) -> Vec<(usize, usize)> {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    (0..size)
        .step_by(PART_OBJECT)
        .map(|offset| (offset, PART_OBJECT.min(size - offset)))
        .collect()
}

fn joined(
    done: Option<Result<Result<(), object_store::Error>, tokio::task::JoinError>>,
) -> Result<(), BenchError> {
    match done {
        None | Some(Ok(Ok(()))) => Ok(()),
        Some(Ok(Err(e))) => Err(BenchError::Setup(format!("a plain S3 PUT failed: {e}"))),
        Some(Err(e)) => Err(BenchError::Setup(format!("a plain S3 PUT stopped: {e}"))),
    }
}

#[allow(clippy::cast_precision_loss, reason = "MB/s")]
fn mb_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / took.as_secs_f64().max(1e-9) / 1e6
}

/// Starts Garage and two Packyards (one on Garage, one on disk) and runs the ingest rounds
/// and the re-upload.
pub async fn run_store_bench(config: &StoreBenchConfig) -> Result<StoreBenchReport, BenchError> {
    if config.rounds == 0 || config.size == 0 || config.in_flight == 0 {
        return Err(BenchError::Setup(
            "--rounds, --size and --in-flight must be at least 1".into(),
        ));
    }
    let work = tempfile::Builder::new()
        .prefix("packyard-bench-object-store-")
        .tempdir_in(&config.work_dir)
        .map_err(io_err("create a directory in", &config.work_dir))?;
    let dir = work.path();
    eprintln!("starting a three-node Garage …");
    let garage = start_garage().await?;
    let s3 = plain_client(&garage)?;
    let edge = EdgeSetup {
        cpus: None,
        cache_memory_bytes: 64 << 20,
    };
    let on_garage = Packyard::start_with(
        &config.packyard_bin,
        &dir.join("garage-side"),
        &edge,
        Some(&origin_toml(&garage, "origin")),
    )
    .await?;
    let on_disk = Packyard::start(&config.packyard_bin, &dir.join("disk-side"), &edge).await?;
    let app_g = on_garage.create_app("com.example.store").await?;
    let app_d = on_disk.create_app("com.example.store").await?;

    let mut rows: Vec<IngestRow> = CONTENDERS
        .iter()
        .map(|c| IngestRow {
            contender: (*c).to_owned(),
            mb_per_s: Vec::new(),
        })
        .collect();
    let mut chunks = 0;
    for round in 0..config.rounds {
        let seed = 1000 + round as u64;
        let shape = pack_shape(config.size, Percent(0.0), seed);
        let archive = build_synthetic_pack(dir, &format!("ingest{round}"), &shape, 1)?;
        let other = build_synthetic_pack(
            dir,
            &format!("whole{round}"),
            &pack_shape(config.size, Percent(0.0), seed + 500),
            1,
        )?;
        let cut = cut_file(&archive).map_err(io_err("cut", &archive))?;
        let size = std::fs::metadata(&archive)
            .map_err(io_err("read", &archive))?
            .len();
        let other_size = std::fs::metadata(&other)
            .map_err(io_err("read", &other))?
            .len();
        if round == 0 {
            chunks = cut.chunks.len();
        }
        for turn in 0..CONTENDERS.len() {
            let which = (round + turn) % CONTENDERS.len();
            let name = CONTENDERS[which];
            eprintln!("round {}: {name} …", round + 1);
            let mb = match name {
                PLAIN | PLAIN_PARTS => {
                    let (pieces, prefix) = if name == PLAIN {
                        (chunk_pieces(&cut), format!("plain/{round}"))
                    } else {
                        (part_pieces(size), format!("plain-parts/{round}"))
                    };
                    let took = plain_put(&s3, &archive, &pieces, &prefix, config.in_flight);
                    mb_per_s(size, took.await?)
                }
                GARAGE_CHUNKS | DISK_CHUNKS => {
                    let (side, app) = if name == GARAGE_CHUNKS {
                        (&on_garage, &app_g)
                    } else {
                        (&on_disk, &app_d)
                    };
                    let pack = side.create_pack(app, &format!("ingest-{round}")).await?;
                    let started = Instant::now();
                    side.upload_chunks(&pack, &archive, &cut, config.in_flight)
                        .await?;
                    mb_per_s(size, started.elapsed())
                }
                _ => {
                    let pack = on_garage
                        .create_pack(&app_g, &format!("whole-{round}"))
                        .await?;
                    let started = Instant::now();
                    on_garage.upload(&pack, &other).await?;
                    mb_per_s(other_size, started.elapsed())
                }
            };
            rows[which].mb_per_s.push(mb);
        }
        for file in [&archive, &other] {
            std::fs::remove_file(file).map_err(io_err("remove", file))?;
        }
    }
    let per_round = |a: usize, b: usize| -> Vec<f64> {
        rows[a]
            .mb_per_s
            .iter()
            .zip(&rows[b].mb_per_s)
            .map(|(x, y)| x / y)
            .collect()
    };
    let ratio_to_plain = per_round(1, 4);
    let ratio_to_plain_chunks = per_round(1, 0);
    let ratio_to_disk = per_round(1, 3);
    let small_objects = per_round(0, 4);
    let reupload = if config.reupload_size == 0 {
        None
    } else {
        Some(reupload(&on_garage, &app_g, dir, config).await?)
    };
    Ok(StoreBenchReport {
        machine: Machine::current(),
        size: config.size,
        chunks,
        in_flight: config.in_flight,
        ingest: rows,
        ratio_to_plain,
        ratio_to_plain_chunks,
        ratio_to_disk,
        small_objects,
        reupload,
    })
}

/// Version 1 then version 2 of one pack sent as chunks, then version 2 whole.
async fn reupload(
    side: &Packyard,
    app: &str,
    dir: &Path,
    config: &StoreBenchConfig,
) -> Result<Reupload, BenchError> {
    let shape = pack_shape(config.reupload_size, config.changed, 7);
    eprintln!(
        "re-upload: building versions 1 and 2 ({} files, {} changed) …",
        shape.files, config.changed
    );
    let v1 = build_synthetic_pack(dir, "reupload", &shape, 1)?;
    let v2 = build_synthetic_pack(dir, "reupload", &shape, 2)?;
    let pack = side.create_pack(app, "reupload").await?;
    let cut1 = cut_file(&v1).map_err(io_err("cut", &v1))?;
    eprintln!("re-upload: version 1 as chunks …");
    let started = Instant::now();
    side.upload_chunks(&pack, &v1, &cut1, config.in_flight)
        .await?;
    let first_secs = started.elapsed().as_secs_f64();
    let cut2 = cut_file(&v2).map_err(io_err("cut", &v2))?;
    eprintln!("re-upload: version 2 as chunks …");
    let started = Instant::now();
    let (_, _, sent) = side
        .upload_chunks(&pack, &v2, &cut2, config.in_flight)
        .await?;
    let delta_secs = started.elapsed().as_secs_f64();
    eprintln!("re-upload: version 2 whole …");
    let started = Instant::now();
    side.upload(&pack, &v2).await?;
    let whole_secs = started.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&v2).map_err(io_err("read", &v2))?.len();
    Ok(Reupload {
        bytes,
        files: shape.files,
        changed: config.changed.0,
        first_secs,
        sent_bytes: sent.bytes,
        sent_chunks: sent.chunks,
        chunks: cut2.chunks.len(),
        delta_secs,
        whole_secs,
    })
}

fn spread(values: &[f64]) -> Spread {
    Spread::of(values).unwrap_or(Spread {
        min: 0.0,
        median: 0.0,
        max: 0.0,
    })
}

impl fmt::Display for StoreBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "object-store: {} rounds of a {} archive ({} chunks), {} requests in flight; {} CPUs ({})",
            self.ingest.first().map_or(0, |r| r.mb_per_s.len()),
            ByteSize(self.size),
            self.chunks,
            self.in_flight,
            self.machine.cpus,
            self.machine.cpu_model,
        )?;
        writeln!(f)?;
        writeln!(f, "| contender | MB/s min | MB/s median | MB/s max |")?;
        writeln!(f, "|---|---:|---:|---:|")?;
        for row in &self.ingest {
            let s = spread(&row.mb_per_s);
            writeln!(
                f,
                "| {} | {:.1} | {:.1} | {:.1} |",
                row.contender, s.min, s.median, s.max
            )?;
        }
        writeln!(f)?;
        writeln!(f, "| ratio (same round) | min | median | max |")?;
        writeln!(f, "|---|---:|---:|---:|")?;
        for (name, ratios) in [
            (
                "origin on Garage ÷ plain client, 8 MiB objects",
                &self.ratio_to_plain,
            ),
            (
                "origin on Garage ÷ plain client, chunk objects",
                &self.ratio_to_plain_chunks,
            ),
            ("origin on Garage ÷ origin on disk", &self.ratio_to_disk),
            (
                "plain client: chunk objects ÷ 8 MiB objects",
                &self.small_objects,
            ),
        ] {
            let s = spread(ratios);
            writeln!(
                f,
                "| {name} | {:.2} | {:.2} | {:.2} |",
                s.min, s.median, s.max
            )?;
        }
        if let Some(r) = &self.reupload {
            writeln!(f)?;
            #[allow(clippy::cast_precision_loss, reason = "a share")]
            let share = r.sent_bytes as f64 / r.bytes as f64 * 100.0;
            writeln!(
                f,
                "re-upload of a {} pack ({} files, {:.0} % changed) to the origin on Garage:",
                ByteSize(r.bytes),
                r.files,
                r.changed
            )?;
            writeln!(f)?;
            writeln!(
                f,
                "| version 1 as chunks s | version 2 sent | % of version 2 | chunks sent | version 2 as chunks s | version 2 whole s |"
            )?;
            writeln!(f, "|---:|---:|---:|---:|---:|---:|")?;
            writeln!(
                f,
                "| {:.1} | {} | {share:.2} % | {} of {} | {:.1} | {:.1} |",
                r.first_secs,
                ByteSize(r.sent_bytes),
                r.sent_chunks,
                r.chunks,
                r.delta_secs,
                r.whole_secs
            )?;
        }
        Ok(())
    }
}

/// Flags of `packyard-bench object-store`.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreBenchArgs {
    /// The `packyard` binary [default: $CARGO_TARGET_DIR/release/packyard].
    #[arg(long)]
    pub packyard_bin: Option<PathBuf>,
    /// Archive size per ingest round.
    #[arg(long, default_value = "256MiB")]
    pub size: ByteSize,
    /// Ingest rounds (each contender goes first in turn).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Requests in flight at once, for the plain client and the uploads alike.
    #[arg(long, default_value_t = 8)]
    pub in_flight: usize,
    /// Size of the re-uploaded pack; 0 skips the re-upload.
    #[arg(long, default_value = "1GiB")]
    pub reupload_size: ByteSize,
    /// Share of the re-uploaded pack's files changed in version 2.
    #[arg(long, default_value = "5%")]
    pub changed: Percent,
    /// Where archives and server data go (a temporary directory inside).
    #[arg(long, env = "TMPDIR", default_value = "/tmp")]
    pub work_dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl StoreBenchArgs {
    /// The run these flags describe.
    pub fn config(&self) -> Result<StoreBenchConfig, BenchError> {
        Ok(StoreBenchConfig {
            packyard_bin: crate::side::packyard::find_packyard(self.packyard_bin.as_deref())?,
            size: self.size.0,
            rounds: self.rounds,
            in_flight: self.in_flight,
            reupload_size: self.reupload_size.0,
            changed: self.changed,
            work_dir: self.work_dir.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ways_of_cutting_tile_the_file_once() {
        let size = 2 * PART_OBJECT + 5;
        let parts = part_pieces(size as u64);
        assert_eq!(
            parts,
            [
                (0, PART_OBJECT),
                (PART_OBJECT, PART_OBJECT),
                (2 * PART_OBJECT, 5)
            ]
        );
        let id = packyard_core::Blake3Hash::of(b"x");
        let cut = Cut {
            chunks: vec![(id, 3), (id, 7), (id, 1)],
            sha256: [0; 32],
        };
        assert_eq!(chunk_pieces(&cut), [(0, 3), (3, 7), (10, 1)]);
    }
}
