//! The edge cache's eviction policy on a Zipf workload: hit ratios of S3-FIFO (`quick_cache`,
//! what the edge uses) side by side with LRU, at several cache sizes.
//!
//! The workload: a catalogue of packs of log-uniform size, cut into chunks of about 64 KiB
//! (16 KiB plus an exponential tail, capped at 256 KiB, like FastCDC's default), downloaded by
//! devices with Zipf(s) popularity over packs (popularity independent of size). A download
//! reads the pack's chunks in order; a share of downloads resume from a random chunk. Each
//! chunk read is a cache lookup; a miss admits the chunk. The first quarter of downloads warms
//! the cache and is not counted. Both policies see the same trace.

use std::fmt;

use packyard_core::chunk_list::Blake3Hash;
use packyard_edge::cache::{ChunkPolicy, LruPolicy, S3FifoPolicy};
use serde::Serialize;

use crate::machine::Machine;
use crate::noise::Noise;

/// What to run.
#[derive(Debug, Clone)]
pub struct CacheBenchConfig {
    /// Packs in the catalogue.
    pub packs: usize,
    /// Smallest and largest pack, in bytes (log-uniform between).
    pub min_pack: u64,
    /// Largest pack, in bytes.
    pub max_pack: u64,
    /// Downloads in the trace (the first quarter warms up).
    pub downloads: usize,
    /// Zipf exponents of pack popularity to run.
    pub zipf: Vec<f64>,
    /// Cache sizes, as percentages of the catalogue's bytes.
    pub cache_percents: Vec<f64>,
    /// Share of downloads (0..1) that resume from a random chunk.
    pub resume_share: f64,
    /// Seeds the catalogue and the trace.
    pub seed: u64,
}

/// One policy at one cache size and Zipf exponent.
#[derive(Debug, Clone, Serialize)]
pub struct CacheRow {
    /// Zipf exponent of pack popularity.
    pub zipf: f64,
    /// Cache size as a percentage of the catalogue.
    pub cache_percent: f64,
    /// Cache size in bytes.
    pub cache_bytes: u64,
    /// The policy.
    pub policy: String,
    /// Chunk reads served from the cache, in percent.
    pub request_hit_percent: f64,
    /// Bytes served from the cache, in percent.
    pub byte_hit_percent: f64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct CacheReport {
    /// Where it ran.
    pub machine: Machine,
    /// Packs in the catalogue.
    pub packs: usize,
    /// Chunks in the catalogue.
    pub chunks: usize,
    /// Bytes in the catalogue.
    pub catalogue_bytes: u64,
    /// Chunk reads counted per run (after warm-up).
    pub counted_reads: u64,
    /// Downloads in the trace.
    pub downloads: usize,
    /// Every policy × size × exponent.
    pub rows: Vec<CacheRow>,
}

struct Pack {
    chunks: Vec<(Blake3Hash, u64)>,
}

fn catalogue(config: &CacheBenchConfig, noise: &mut Noise) -> Vec<Pack> {
    let mut next_id = 0u64;
    let (lo, hi) = (
        (config.min_pack.max(1) as f64).ln(),
        (config.max_pack.max(config.min_pack).max(1) as f64).ln(),
    );
    (0..config.packs)
        .map(|_| {
            let target = (lo + (hi - lo) * noise.unit()).exp();
            let mut chunks = Vec::new();
            let mut size = 0.0;
            while size < target {
                // 16 KiB minimum plus an exponential tail of mean 48 KiB, at most 256 KiB.
                let tail = -(1.0 - noise.unit()).ln() * 48.0 * 1024.0;
                let len = (16.0 * 1024.0 + tail).min(256.0 * 1024.0);
                size += len;
                next_id += 1;
                let mut id = [0u8; 32];
                id[..8].copy_from_slice(&next_id.to_le_bytes());
                id[8..16].copy_from_slice(&noise.next_u64().to_le_bytes());
                #[allow(clippy::cast_possible_truncation, reason = "at most 256 KiB")]
                chunks.push((Blake3Hash::from_bytes(id), len as u64));
            }
            Pack { chunks }
        })
        .collect()
}

/// One download: which pack, and from which chunk.
type Download = (usize, usize);

fn trace(packs: &[Pack], s: f64, config: &CacheBenchConfig, noise: &mut Noise) -> Vec<Download> {
    // Popularity rank → pack, shuffled so popularity is independent of size.
    let mut by_rank: Vec<usize> = (0..packs.len()).collect();
    for i in (1..by_rank.len()).rev() {
        let j = usize::try_from(noise.below(i as u64 + 1)).unwrap_or(0);
        by_rank.swap(i, j);
    }
    let mut cdf = Vec::with_capacity(packs.len());
    let mut total = 0.0;
    for rank in 1..=packs.len() {
        total += 1.0 / (rank as f64).powf(s);
        cdf.push(total);
    }
    (0..config.downloads)
        .map(|_| {
            let u = noise.unit() * total;
            let rank = cdf.partition_point(|&c| c < u).min(packs.len() - 1);
            let pack = by_rank[rank];
            let chunks = packs[pack].chunks.len() as u64;
            let start = if noise.unit() < config.resume_share {
                usize::try_from(noise.below(chunks)).unwrap_or(0)
            } else {
                0
            };
            (pack, start)
        })
        .collect()
}

fn replay(policy: &mut dyn ChunkPolicy, packs: &[Pack], trace: &[Download]) -> (f64, f64, u64) {
    let warm_up = trace.len() / 4;
    let (mut reads, mut hits, mut bytes, mut hit_bytes) = (0u64, 0u64, 0u64, 0u64);
    for (n, &(pack, start)) in trace.iter().enumerate() {
        for &(id, len) in &packs[pack].chunks[start..] {
            let hit = policy.touch(&id);
            if !hit {
                policy.admit(id, len);
            }
            if n >= warm_up {
                reads += 1;
                bytes += len;
                if hit {
                    hits += 1;
                    hit_bytes += len;
                }
            }
        }
    }
    let pct = |a: u64, b: u64| {
        if b == 0 {
            0.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    (pct(hits, reads), pct(hit_bytes, bytes), reads)
}

/// Runs every policy at every size and exponent on the same catalogue.
pub fn run_cache(config: &CacheBenchConfig) -> CacheReport {
    let mut noise = Noise::new(config.seed);
    let packs = catalogue(config, &mut noise);
    let catalogue_bytes: u64 = packs.iter().flat_map(|p| &p.chunks).map(|c| c.1).sum();
    let mut rows = Vec::new();
    let mut counted_reads = 0;
    for &s in &config.zipf {
        let trace = trace(&packs, s, config, &mut noise);
        for &percent in &config.cache_percents {
            #[allow(clippy::cast_possible_truncation, reason = "a fraction of a u64")]
            let budget = (catalogue_bytes as f64 * percent / 100.0) as u64;
            let policies: [Box<dyn ChunkPolicy>; 2] = [
                Box::new(LruPolicy::new(budget)),
                Box::new(S3FifoPolicy::new(budget)),
            ];
            for mut policy in policies {
                let (request_hit_percent, byte_hit_percent, reads) =
                    replay(policy.as_mut(), &packs, &trace);
                counted_reads = reads;
                rows.push(CacheRow {
                    zipf: s,
                    cache_percent: percent,
                    cache_bytes: budget,
                    policy: policy.name().to_owned(),
                    request_hit_percent,
                    byte_hit_percent,
                });
            }
        }
    }
    CacheReport {
        machine: Machine::current(),
        packs: packs.len(),
        chunks: packs.iter().map(|p| p.chunks.len()).sum(),
        catalogue_bytes,
        counted_reads,
        downloads: config.downloads,
        rows,
    }
}

impl fmt::Display for CacheReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |b: u64| b as f64 / f64::from(1u32 << 20);
        writeln!(
            f,
            "cache: {} packs, {} chunks, {:.0} MiB catalogue; {} downloads, {} chunk reads \
             counted per run (after a quarter warm-up)",
            self.packs,
            self.chunks,
            mib(self.catalogue_bytes),
            self.downloads,
            self.counted_reads,
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| zipf s | cache | policy | request hit % | byte hit % | vs LRU (requests) |"
        )?;
        writeln!(f, "|---:|---:|---|---:|---:|---:|")?;
        let mut lru = 0.0;
        for r in &self.rows {
            let vs = if r.policy == "LRU" {
                lru = r.request_hit_percent;
                String::from("")
            } else {
                format!("{:+.1} pts", r.request_hit_percent - lru)
            };
            writeln!(
                f,
                "| {} | {} % ({:.0} MiB) | {} | {:.1} | {:.1} | {} |",
                r.zipf,
                r.cache_percent,
                mib(r.cache_bytes),
                r.policy,
                r.request_hit_percent,
                r.byte_hit_percent,
                vs,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_run_reports_every_policy_and_a_bigger_cache_hits_more() {
        let config = CacheBenchConfig {
            packs: 40,
            min_pack: 256 << 10,
            max_pack: 4 << 20,
            downloads: 400,
            zipf: vec![1.0],
            cache_percents: vec![5.0, 50.0],
            resume_share: 0.25,
            seed: 3,
        };
        let report = run_cache(&config);
        assert_eq!(report.rows.len(), 4);
        for policy in ["LRU", "S3-FIFO (quick_cache)"] {
            let hits: Vec<f64> = report
                .rows
                .iter()
                .filter(|r| r.policy == policy)
                .map(|r| r.request_hit_percent)
                .collect();
            assert!(hits[0] < hits[1], "{policy}: {hits:?}");
        }
    }
}
