//! The ingest benchmark: Packyard's chunk+hash pass against `b3sum` on the same file, runs
//! alternating so that a noisy neighbour hurts every contender alike.

use std::fmt;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use packyard_core::Blake3Hash;
use packyard_origin::ingest::{ChunkingParams, ingest};
use serde::Serialize;

use crate::error::{BenchError, io_err};
use crate::machine::Machine;
use crate::spread::Spread;

/// What to measure.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// The input file.
    pub file: PathBuf,
    /// Chunk size bounds for Packyard.
    pub params: ChunkingParams,
    /// How many rounds; each round runs every contender once.
    pub runs: usize,
    /// The `b3sum` binary.
    pub b3sum: PathBuf,
    /// Also measure ingest that writes each chunk to a file in a scratch directory here.
    pub scratch: Option<PathBuf>,
}

/// One contender in the ingest benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Contender {
    /// Packyard's `ingest`, chunks thrown away: chunking and hashing alone.
    PackyardDiscard,
    /// Packyard's `ingest`, each chunk written to its own file (no fsync).
    PackyardToDir,
    /// `b3sum`, as installed: memory-mapped, all cores.
    B3sum,
    /// `b3sum --num-threads 1`: one core, like Packyard's pass.
    B3sumOneThread,
}

impl Contender {
    /// The name printed in tables.
    pub fn label(self) -> &'static str {
        match self {
            Contender::PackyardDiscard => "packyard ingest (discard chunks)",
            Contender::PackyardToDir => "packyard ingest (chunks to files)",
            Contender::B3sum => "b3sum (all cores)",
            Contender::B3sumOneThread => "b3sum --num-threads 1",
        }
    }

    fn is_packyard(self) -> bool {
        matches!(self, Contender::PackyardDiscard | Contender::PackyardToDir)
    }
}

/// One contender's runs.
#[derive(Debug, Clone, Serialize)]
pub struct ContenderResult {
    /// Who.
    pub contender: Contender,
    /// Wall time of each run, in seconds, in run order.
    pub seconds: Vec<f64>,
    /// Throughput over the runs, in MB/s (10^6 bytes per second).
    pub mb_per_s: Spread,
}

/// A Packyard contender's throughput divided by a peer's, run by run.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    /// The Packyard contender.
    pub packyard: Contender,
    /// The peer.
    pub peer: Contender,
    /// Packyard MB/s ÷ peer MB/s, over the rounds.
    pub ratio: Spread,
}

/// Everything one `packyard-bench ingest` measured.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    /// Where it ran.
    pub machine: Machine,
    /// The input's size in bytes.
    pub file_bytes: u64,
    /// The input's BLAKE3, on which every contender agreed.
    pub archive_hash: String,
    /// Packyard's chunk bounds, in bytes.
    pub chunk_min: u32,
    /// Average chunk size aimed at.
    pub chunk_avg: u32,
    /// Largest chunk.
    pub chunk_max: u32,
    /// Chunks Packyard cut.
    pub chunks: usize,
    /// Rounds run.
    pub runs: usize,
    /// Per contender.
    pub results: Vec<ContenderResult>,
    /// Packyard ÷ peer.
    pub ratios: Vec<Ratio>,
}

/// Runs the benchmark: `runs` rounds, each running every contender once, starting with a
/// different one each round.
pub fn run_ingest(config: &IngestConfig) -> Result<IngestReport, BenchError> {
    let file_bytes = fs::metadata(&config.file)
        .map_err(io_err("read the size of", &config.file))?
        .len();
    let mut contenders = vec![Contender::PackyardDiscard];
    if config.scratch.is_some() {
        contenders.push(Contender::PackyardToDir);
    }
    contenders.extend([Contender::B3sum, Contender::B3sumOneThread]);

    let mut seconds = vec![Vec::new(); contenders.len()];
    let mut expected: Option<Blake3Hash> = None;
    let mut chunks = 0;
    for round in 0..config.runs {
        for k in 0..contenders.len() {
            let i = (round + k) % contenders.len();
            let contender = contenders[i];
            let (elapsed, hash, n) = run_one(contender, config)?;
            if contender == Contender::PackyardDiscard {
                chunks = n;
            }
            match expected {
                None => expected = Some(hash),
                Some(e) if e != hash => {
                    return Err(BenchError::HashMismatch {
                        contender: contender.label().to_owned(),
                        got: hash.to_hex(),
                        expected: e.to_hex(),
                    });
                }
                Some(_) => {}
            }
            seconds[i].push(elapsed);
        }
    }
    let mb = file_bytes as f64 / 1e6;
    let throughput = |s: &[f64]| s.iter().map(|t| mb / t).collect::<Vec<_>>();
    let results: Vec<ContenderResult> = contenders
        .iter()
        .zip(&seconds)
        .filter_map(|(&contender, s)| {
            Some(ContenderResult {
                contender,
                seconds: s.clone(),
                mb_per_s: Spread::of(&throughput(s))?,
            })
        })
        .collect();
    let mut ratios = Vec::new();
    for p in results.iter().filter(|r| r.contender.is_packyard()) {
        for q in results.iter().filter(|r| !r.contender.is_packyard()) {
            // Same round, same file, same neighbours: seconds of the peer ÷ seconds of ours.
            let per_round: Vec<f64> = q
                .seconds
                .iter()
                .zip(&p.seconds)
                .map(|(b, a)| b / a)
                .collect();
            if let Some(ratio) = Spread::of(&per_round) {
                ratios.push(Ratio {
                    packyard: p.contender,
                    peer: q.contender,
                    ratio,
                });
            }
        }
    }
    Ok(IngestReport {
        machine: Machine::current(),
        file_bytes,
        archive_hash: expected.map(|h| h.to_hex()).unwrap_or_default(),
        chunk_min: config.params.min(),
        chunk_avg: config.params.avg(),
        chunk_max: config.params.max(),
        chunks,
        runs: config.runs,
        results,
        ratios,
    })
}

/// Runs one contender once: its wall time, the BLAKE3 it computed and (for Packyard) how many
/// chunks it cut.
fn run_one(
    contender: Contender,
    config: &IngestConfig,
) -> Result<(f64, Blake3Hash, usize), BenchError> {
    match contender {
        Contender::PackyardDiscard => {
            let file = File::open(&config.file).map_err(io_err("open", &config.file))?;
            let mut sink = |_: Blake3Hash, _: &[u8]| Ok::<_, std::io::Error>(());
            let start = Instant::now();
            let ingested = ingest(file, &config.params, &mut sink)?;
            let elapsed = start.elapsed().as_secs_f64();
            Ok((
                elapsed,
                ingested.chunk_list.archive_hash(),
                ingested.chunk_list.chunks().len(),
            ))
        }
        Contender::PackyardToDir => {
            let scratch = config.scratch.as_deref().unwrap_or(Path::new("."));
            let dir = tempfile::Builder::new()
                .prefix("packyard-bench-chunks-")
                .tempdir_in(scratch)
                .map_err(io_err("create a chunk directory in", scratch))?;
            let file = File::open(&config.file).map_err(io_err("open", &config.file))?;
            let mut sink = |id: Blake3Hash, bytes: &[u8]| {
                let path = dir.path().join(id.to_hex());
                if path.exists() {
                    return Ok(());
                }
                fs::write(path, bytes)
            };
            let start = Instant::now();
            let ingested = ingest(file, &config.params, &mut sink)?;
            let elapsed = start.elapsed().as_secs_f64();
            // Removing the chunks is not part of the measurement.
            drop(dir);
            Ok((
                elapsed,
                ingested.chunk_list.archive_hash(),
                ingested.chunk_list.chunks().len(),
            ))
        }
        Contender::B3sum | Contender::B3sumOneThread => {
            let mut cmd = Command::new(&config.b3sum);
            cmd.arg("--no-names");
            if contender == Contender::B3sumOneThread {
                cmd.args(["--num-threads", "1"]);
            }
            cmd.arg(&config.file);
            let tool = format!("{cmd:?}");
            let start = Instant::now();
            let out = cmd.output().map_err(|e| BenchError::Peer {
                tool: tool.clone(),
                reason: e.to_string(),
            })?;
            let elapsed = start.elapsed().as_secs_f64();
            let text = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() {
                return Err(BenchError::Peer {
                    tool,
                    reason: format!(
                        "{}: {}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                });
            }
            let hash = Blake3Hash::parse_hex(text.trim()).map_err(|e| BenchError::Peer {
                tool,
                reason: e.to_string(),
            })?;
            Ok((elapsed, hash, 0))
        }
    }
}

impl fmt::Display for IngestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "ingest: {:.2} GiB file, {} chunks (min/avg/max {}/{}/{} KiB), {} rounds, {} CPUs ({})",
            self.file_bytes as f64 / f64::from(1u32 << 30),
            self.chunks,
            self.chunk_min >> 10,
            self.chunk_avg >> 10,
            self.chunk_max >> 10,
            self.runs,
            self.machine.cpus,
            self.machine.cpu_model,
        )?;
        writeln!(f)?;
        writeln!(f, "| contender | MB/s min | MB/s median | MB/s max |")?;
        writeln!(f, "|---|---:|---:|---:|")?;
        for r in &self.results {
            writeln!(
                f,
                "| {} | {:.0} | {:.0} | {:.0} |",
                r.contender.label(),
                r.mb_per_s.min,
                r.mb_per_s.median,
                r.mb_per_s.max
            )?;
        }
        writeln!(f)?;
        writeln!(f, "| Packyard ÷ peer (same round) | min | median | max |")?;
        writeln!(f, "|---|---:|---:|---:|")?;
        for r in &self.ratios {
            writeln!(
                f,
                "| {} ÷ {} | {:.2} | {:.2} | {:.2} |",
                r.packyard.label(),
                r.peer.label(),
                r.ratio.min,
                r.ratio.median,
                r.ratio.max
            )?;
        }
        Ok(())
    }
}
