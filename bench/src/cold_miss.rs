//! `packyard-bench cold-miss`: an edge that holds nothing gets 1,000 requests at once. How
//! long until the first byte, and how many times does it fetch each chunk from the origin?
//! (Once is right: concurrent misses on a chunk share one fetch.)
//!
//! Two packs, each uploaded and released but never downloaded (on-demand packs are not
//! prefetched), so each scenario starts cold:
//! - **same range**: every request asks for the first `range` bytes of pack A: a thundering
//!   herd on a few chunks.
//! - **distinct ranges**: request `i` asks for the `i`-th `range`-sized slice of pack B, so
//!   together they cover the whole pack once.
//!
//! Chunks touched come from the version's chunk list (the edge's `…/chunks`) and the ranges
//! asked for; fetches from the edge's `packyard_edge_origin_fetches_total`.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use packyard_core::ChunkList;
use serde::Serialize;

use crate::dedup_bench::{DedupConfig, build_synthetic_pack};
use crate::error::{BenchError, io_err};
use crate::load::client::{Protocol, Server};
use crate::load::report::Percentiles;
use crate::load::runner::{RunPlan, run};
use crate::load::schedule::Pace;
use crate::load::workload::{Ask, Planned, RequestSource};
use crate::machine::Machine;
use crate::noise::Noise;
use crate::side::http_call::call;
use crate::side::packyard::{EdgeSetup, Packyard, pack_path};
use crate::store_bench::{StoreKind, origin_toml, start_garage};
use crate::units::{ByteSize, Percent};

/// What to run.
#[derive(Debug, Clone)]
pub struct ColdMissConfig {
    /// The `packyard` binary.
    pub packyard_bin: PathBuf,
    /// Requests, all at once (one connection each).
    pub requests: usize,
    /// Bytes per request.
    pub range: u64,
    /// CPUs of the edge.
    pub server_cpus: Option<String>,
    /// Where packs and server data go.
    pub work_dir: PathBuf,
    /// Where the origin keeps its chunks: one run per store, side by side.
    pub stores: Vec<StoreKind>,
}

/// One scenario's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ColdMissRow {
    /// Where the origin kept its chunks.
    pub store: StoreKind,
    /// `same range` or `distinct ranges`.
    pub scenario: String,
    /// Requests answered correctly.
    pub ok: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Time to the response head, from when each request was sent.
    pub first_byte_us: Percentiles,
    /// Time to the last byte.
    pub latency_us: Percentiles,
    /// Distinct chunks the ranges cover.
    pub chunks_touched: u64,
    /// Fetches from the origin during the scenario.
    pub origin_fetches: u64,
    /// `origin_fetches / chunks_touched`.
    pub fetches_per_chunk: f64,
}

/// Everything `cold-miss` measured.
#[derive(Debug, Clone, Serialize)]
pub struct ColdMissReport {
    /// Where it ran.
    pub machine: Machine,
    /// Requests per scenario.
    pub requests: usize,
    /// Bytes per request.
    pub range: u64,
    /// Pack size.
    pub pack_bytes: u64,
    /// Chunks per pack.
    pub pack_chunks: usize,
    /// One row per scenario.
    pub rows: Vec<ColdMissRow>,
}

/// Range `i` (`distinct`) or range 0 of a file.
struct Slices {
    path: String,
    size: u64,
    len: u64,
    distinct: bool,
}

impl Slices {
    fn ask(&self, ticket: u64) -> Ask {
        let slots = (self.size / self.len).max(1);
        let start = if self.distinct {
            (ticket % slots) * self.len
        } else {
            0
        };
        Ask::Span {
            start,
            end: (start + self.len).min(self.size) - 1,
        }
    }
}

impl RequestSource for Slices {
    fn plan(&self, ticket: u64, _noise: &mut Noise) -> Planned {
        let ask = self.ask(ticket);
        let mut headers = Vec::new();
        if let Some(range) = ask.range_header()
            && let Ok(v) = http::HeaderValue::from_str(&range)
        {
            headers.push((http::header::RANGE, v));
        }
        Planned {
            method: Method::GET,
            path: self.path.clone(),
            headers,
            body: Bytes::new(),
            expect: ask.expect(self.size),
        }
    }
}

/// Distinct chunks that the asks of tickets `0..n` cover.
fn chunks_touched(list: &ChunkList, slices: &Slices, n: u64) -> u64 {
    let mut ids = std::collections::BTreeSet::new();
    for t in 0..n {
        if let Ask::Span { start, end } = slices.ask(t) {
            ids.extend(list.covering(start..end + 1).map(|(c, _)| c.id));
        }
    }
    ids.len() as u64
}

/// Sets up, for each store, an edge with two cold packs over an origin on that store, and
/// runs both scenarios.
pub async fn run_cold_miss(config: &ColdMissConfig) -> Result<ColdMissReport, BenchError> {
    if config.requests == 0 || config.range == 0 {
        return Err(BenchError::Setup(
            "--requests and --range must be at least 1".into(),
        ));
    }
    let work = tempfile::Builder::new()
        .prefix("packyard-bench-cold-miss-")
        .tempdir_in(&config.work_dir)
        .map_err(io_err("create a directory in", &config.work_dir))?;
    let garage = if config.stores.contains(&StoreKind::Garage) {
        eprintln!("starting a three-node Garage …");
        Some(start_garage().await?)
    } else {
        None
    };
    let mut rows = Vec::new();
    let mut packs = (0, 0);
    for store in &config.stores {
        let toml = garage
            .as_ref()
            .filter(|_| *store == StoreKind::Garage)
            .map(|g| origin_toml(g, "cold-miss"));
        let dir = work.path().join(format!("{store:?}"));
        let (mut store_rows, bytes, chunks) = run_on(config, *store, toml.as_deref(), &dir).await?;
        rows.append(&mut store_rows);
        packs = (bytes, chunks);
    }
    Ok(ColdMissReport {
        machine: Machine::current(),
        requests: config.requests,
        range: config.range,
        pack_bytes: packs.0,
        pack_chunks: packs.1,
        rows,
    })
}

/// Both scenarios against an origin whose configuration is `origin_toml` (none: on disk);
/// returns the rows, the pack size and its chunks.
async fn run_on(
    config: &ColdMissConfig,
    store: StoreKind,
    origin_toml: Option<&str>,
    dir: &std::path::Path,
) -> Result<(Vec<ColdMissRow>, u64, usize), BenchError> {
    std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
    // Enough 1 MiB files that the distinct ranges cover the pack once.
    let files = (config.requests as u64 * config.range)
        .div_ceil(1 << 20)
        .max(1);
    let mut packyard = Packyard::start_with(
        &config.packyard_bin,
        &dir.join("packyard"),
        &EdgeSetup {
            cpus: config.server_cpus.clone(),
            cache_memory_bytes: 1 << 30,
        },
        origin_toml,
    )
    .await?;
    let app = packyard.create_app("com.example.cold").await?;
    let mut packs = Vec::new();
    for (i, ident) in ["cold-a", "cold-b"].into_iter().enumerate() {
        let pack_config = DedupConfig {
            files,
            changed: Percent(0.0),
            min_file: 1 << 20,
            max_file: 1 << 20,
            params: Vec::new(),
            seed: 77 + i as u64,
        };
        let archive = build_synthetic_pack(dir, ident, &pack_config, 1)?;
        let pack = packyard.create_pack(&app, ident).await?;
        let (version, number) = packyard.upload(&pack, &archive).await?;
        packyard.release_to_store(&app, &version).await?;
        let path = pack_path(&app, ident, number);
        packyard.wait_served(&path).await?;
        let (status, body) = call(
            Method::GET,
            &format!("http://{}{path}/chunks", packyard.edge),
            None,
            Bytes::new(),
            false,
        )
        .await
        .map_err(BenchError::Setup)?;
        let list: ChunkList = serde_json::from_slice(&body)
            .map_err(|e| BenchError::Setup(format!("the chunk list of {path} ({status}): {e}")))?;
        packs.push((path, list));
    }
    let server = Server {
        addr: packyard.edge,
        authority: packyard.edge.to_string(),
    };
    let mut rows = Vec::new();
    for ((path, list), (scenario, distinct)) in packs
        .iter()
        .zip([("same range", false), ("distinct ranges", true)])
    {
        let slices = Slices {
            path: path.clone(),
            size: list.size(),
            len: config.range.min(list.size()),
            distinct,
        };
        let touched = chunks_touched(list, &slices, config.requests as u64);
        let before = packyard
            .edge_metric("packyard_edge_origin_fetches_total")
            .await?;
        let plan = RunPlan {
            label: format!("cold edge, {scenario}"),
            servers: vec![server.clone()],
            protocol: Protocol::Http1,
            connections: config.requests,
            streams: 1,
            pace: Pace::Closed,
            warmup: Duration::ZERO,
            duration: Some(Duration::from_secs(120)),
            requests: Some(config.requests as u64),
            timeout: Duration::from_secs(60),
            seed: 5,
            progress: true,
        };
        eprintln!(
            "{store}, {scenario}: {} requests at once …",
            config.requests
        );
        let report = run(&plan, Arc::new(slices)).await?;
        let after = packyard
            .edge_metric("packyard_edge_origin_fetches_total")
            .await?;
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a counter's value"
        )]
        let fetches = (after - before).max(0.0) as u64;
        rows.push(ColdMissRow {
            store,
            scenario: scenario.to_owned(),
            ok: report.requests,
            errors: report.errors,
            first_byte_us: report.first_byte_us,
            latency_us: report.latency_us,
            chunks_touched: touched,
            origin_fetches: fetches,
            fetches_per_chunk: if touched == 0 {
                0.0
            } else {
                fetches as f64 / touched as f64
            },
        });
    }
    Ok((rows, packs[0].1.size(), packs[0].1.chunks().len()))
}

impl fmt::Display for ColdMissReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "cold-miss: {} requests at once, {} each, on an edge that holds nothing; packs of {:.1} MiB in {} chunks; {} CPUs ({})",
            self.requests,
            ByteSize(self.range),
            self.pack_bytes as f64 / f64::from(1u32 << 20),
            self.pack_chunks,
            self.machine.cpus,
            self.machine.cpu_model,
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| origin's store | scenario | ok | errors | first byte p50 ms | p99 ms | max ms | last byte p50 ms | p99 ms | chunks touched | origin fetches | fetches per chunk |"
        )?;
        writeln!(
            f,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        let ms = |us: u64| us as f64 / 1000.0;
        for r in &self.rows {
            writeln!(
                f,
                "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {:.2} |",
                r.store,
                r.scenario,
                r.ok,
                r.errors,
                ms(r.first_byte_us.p50),
                ms(r.first_byte_us.p99),
                ms(r.first_byte_us.max),
                ms(r.latency_us.p50),
                ms(r.latency_us.p99),
                r.chunks_touched,
                r.origin_fetches,
                r.fetches_per_chunk,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_slices_tile_the_file_and_the_same_slice_repeats() {
        let s = Slices {
            path: "/p".into(),
            size: 1000,
            len: 300,
            distinct: true,
        };
        let asks: Vec<Ask> = (0..4).map(|t| s.ask(t)).collect();
        assert_eq!(
            asks,
            [
                Ask::Span { start: 0, end: 299 },
                Ask::Span {
                    start: 300,
                    end: 599
                },
                Ask::Span {
                    start: 600,
                    end: 899
                },
                Ask::Span { start: 0, end: 299 },
            ]
        );
        let same = Slices {
            distinct: false,
            ..s
        };
        assert!((0..5).all(|t| same.ask(t) == Ask::Span { start: 0, end: 299 }));
    }
}

/// Flags of `packyard-bench cold-miss`.
#[derive(Debug, Clone, clap::Args)]
pub struct ColdMissArgs {
    /// The `packyard` binary [default: $CARGO_TARGET_DIR/release/packyard].
    #[arg(long)]
    pub packyard_bin: Option<PathBuf>,
    /// Requests sent at once, one connection each.
    #[arg(long, default_value_t = 1000)]
    pub requests: usize,
    /// Bytes per request.
    #[arg(long, default_value = "64KiB")]
    pub range: ByteSize,
    /// Where packs and server data go (a temporary directory inside).
    #[arg(long, env = "TMPDIR", default_value = "/tmp")]
    pub work_dir: PathBuf,
    /// Where the origin keeps its chunks; repeat the flag to run several side by side.
    #[arg(long = "store", value_enum, default_values_t = [StoreKind::Disk])]
    pub stores: Vec<StoreKind>,
    /// Core pinning.
    #[command(flatten)]
    pub pin: crate::side::pinning::PinArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl ColdMissArgs {
    /// The run these flags describe, the edge on `server_cpus`.
    pub fn config(&self, server_cpus: Option<String>) -> Result<ColdMissConfig, BenchError> {
        Ok(ColdMissConfig {
            packyard_bin: crate::side::packyard::find_packyard(self.packyard_bin.as_deref())?,
            requests: self.requests,
            range: self.range.0,
            server_cpus,
            work_dir: self.work_dir.clone(),
            stores: self.stores.clone(),
        })
    }
}
