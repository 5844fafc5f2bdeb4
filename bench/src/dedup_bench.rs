//! The dedup benchmark: two versions of a pack whose files differ in a few percent, built
//! with `packyard pack build`, chunked with several average chunk sizes; for each, how many
//! chunks a version has and how many of its bytes a node holding the previous one must fetch.

use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File};
use std::path::Path;

use packyard_core::Blake3Hash;
use packyard_origin::ingest::{ChunkingParams, Ingested, ingest};
use packyard_pack::{NoProgress, build};
use serde::Serialize;

use crate::error::{BenchError, io_err};
use crate::machine::Machine;
use crate::noise::Noise;
use crate::units::Percent;

/// What to measure.
#[derive(Debug, Clone)]
pub struct DedupConfig {
    /// Files in the pack.
    pub files: u64,
    /// Share of the files that get new contents (same size) in version N+1.
    pub changed: Percent,
    /// File sizes are log-uniform between these two, in bytes.
    pub min_file: u64,
    /// See `min_file`.
    pub max_file: u64,
    /// The chunk bounds to compare.
    pub params: Vec<ChunkingParams>,
    /// Seeds the file sizes, contents and which files change.
    pub seed: u64,
}

impl DedupConfig {
    /// The synthetic pack of a run that compares no chunk sizes (`fleet`, `delta`), checked.
    pub fn synthetic(
        files: u64,
        changed: Percent,
        min_file: u64,
        max_file: u64,
        seed: u64,
    ) -> Result<Self, BenchError> {
        if files == 0 || min_file == 0 || min_file > max_file {
            return Err(BenchError::Setup(
                "--files must be at least 1 and 0 < --min-file ≤ --max-file".into(),
            ));
        }
        Ok(Self {
            files,
            changed,
            min_file,
            max_file,
            params: Vec::new(),
            seed,
        })
    }
}

/// One chunk size's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct DedupRow {
    /// Average chunk size aimed at, in bytes.
    pub chunk_avg: u32,
    /// Minimum and maximum, in bytes.
    pub chunk_min: u32,
    /// See `chunk_min`.
    pub chunk_max: u32,
    /// Chunks in version N+1.
    pub chunks: usize,
    /// Mean chunk length in version N+1, in bytes.
    pub mean_chunk_bytes: u64,
    /// Bytes of version N+1 in chunks version N lacks (each distinct chunk once).
    pub new_bytes: u64,
    /// `new_bytes` as a percentage of version N+1's size.
    pub new_percent: f64,
}

/// Everything one `packyard-bench dedup` measured.
#[derive(Debug, Clone, Serialize)]
pub struct DedupReport {
    /// Where it ran.
    pub machine: Machine,
    /// Files per version.
    pub files: u64,
    /// Files whose contents differ.
    pub changed_files: u64,
    /// Their total size: the least any chunking must re-send.
    pub changed_bytes: u64,
    /// The archive's size (both versions have the same).
    pub archive_bytes: u64,
    /// One row per chunk size.
    pub rows: Vec<DedupRow>,
}

/// One file of the synthetic pack.
pub(crate) struct FileSpec {
    path: String,
    len: u64,
    changed: bool,
}

/// Builds both versions in a temporary directory under `work` and chunks them.
pub fn run_dedup(config: &DedupConfig, work: &Path) -> Result<DedupReport, BenchError> {
    let specs = plan_files(config);
    let tmp = tempfile::Builder::new()
        .prefix("packyard-bench-dedup-")
        .tempdir_in(work)
        .map_err(io_err("create a directory in", work))?;
    let mut archives = Vec::new();
    for version in [1u64, 2] {
        let root = tmp.path().join(format!("v{version}"));
        write_tree(&root, &specs, config.seed, version, "bench-pack")?;
        let out = tmp.path().join(format!("v{version}.tar"));
        build(&root.join("Manifest.json"), None, &out, NoProgress)?;
        archives.push(out);
    }
    let mut rows = Vec::new();
    let mut archive_bytes = 0;
    for params in &config.params {
        let v1 = chunk(&archives[0], params)?;
        let v2 = chunk(&archives[1], params)?;
        archive_bytes = v2.size;
        let new_bytes = v2.chunk_list.delta_bytes(&v1.chunk_list);
        let chunks = v2.chunk_list.chunks().len();
        rows.push(DedupRow {
            chunk_avg: params.avg(),
            chunk_min: params.min(),
            chunk_max: params.max(),
            chunks,
            mean_chunk_bytes: v2.size / chunks.max(1) as u64,
            new_bytes,
            new_percent: percent(new_bytes, v2.size),
        });
    }
    let changed: Vec<&FileSpec> = specs.iter().filter(|s| s.changed).collect();
    Ok(DedupReport {
        machine: Machine::current(),
        files: config.files,
        changed_files: changed.len() as u64,
        changed_bytes: changed.iter().map(|s| s.len).sum(),
        archive_bytes,
        rows,
    })
}

/// Decides every file's path and size, and which files change.
pub(crate) fn plan_files(config: &DedupConfig) -> Vec<FileSpec> {
    let mut sizes = Noise::new(config.seed);
    let (lo, hi) = (config.min_file.max(1) as f64, config.max_file.max(1) as f64);
    let mut specs: Vec<FileSpec> = (0..config.files)
        .map(|i| {
            let len = (lo * (hi / lo).powf(sizes.unit())).round();
            FileSpec {
                path: format!("assets/dir-{:02}/file-{i:05}.bin", i % 40),
                // Sizes are at most `max_file`, a u64.
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "0 < len ≤ max_file"
                )]
                len: len as u64,
                changed: false,
            }
        })
        .collect();
    // Choose which files change: a partial Fisher-Yates shuffle of the indices.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "0 ≤ share ≤ files"
    )]
    let n_changed = ((config.files as f64) * config.changed.0 / 100.0).round() as u64;
    let mut pick = Noise::new(config.seed ^ 0xc4a9_6e5d);
    let mut order: Vec<usize> = (0..specs.len()).collect();
    for k in 0..usize::try_from(n_changed).unwrap_or(0).min(order.len()) {
        let span = (order.len() - k) as u64;
        let j = k + usize::try_from(pick.below(span)).unwrap_or(0);
        order.swap(k, j);
        specs[order[k]].changed = true;
    }
    specs
}

/// Builds version `version` of a synthetic pack `pack_id` (files as `config` says; a changed
/// file has other contents in every version above 1) into `dir/<pack_id>-v<version>.tar`.
pub(crate) fn build_synthetic_pack(
    dir: &Path,
    pack_id: &str,
    config: &DedupConfig,
    version: u64,
) -> Result<std::path::PathBuf, BenchError> {
    let specs = plan_files(config);
    let root = dir.join(format!("{pack_id}-v{version}"));
    write_tree(&root, &specs, config.seed, version, pack_id)?;
    let out = dir.join(format!("{pack_id}-v{version}.tar"));
    build(&root.join("Manifest.json"), None, &out, NoProgress)?;
    fs::remove_dir_all(&root).map_err(io_err("remove", &root))?;
    Ok(out)
}

/// Versions 1 and 2 of synthetic pack `pack_id`, built into `dir`.
pub(crate) fn build_versions(
    dir: &Path,
    pack_id: &str,
    config: &DedupConfig,
) -> Result<(std::path::PathBuf, std::path::PathBuf), BenchError> {
    eprintln!(
        "building versions 1 and 2 ({} files, {} changed) …",
        config.files, config.changed
    );
    Ok((
        build_synthetic_pack(dir, pack_id, config, 1)?,
        build_synthetic_pack(dir, pack_id, config, 2)?,
    ))
}

/// Writes the manifest and every file of `version` under `root`. A changed file's contents
/// in version 2 come from another seed; everything else is the same in both versions.
fn write_tree(
    root: &Path,
    specs: &[FileSpec],
    seed: u64,
    version: u64,
    pack_id: &str,
) -> Result<(), BenchError> {
    let manifest = root.join("Manifest.json");
    fs::create_dir_all(root).map_err(io_err("create", root))?;
    fs::write(
        &manifest,
        format!(
            r#"{{"assetPackID":"{pack_id}","downloadPolicy":{{"onDemand":{{}}}},"fileSelectors":[{{"directory":"assets"}}]}}"#
        ),
    )
    .map_err(io_err("write", &manifest))?;
    let dirs: BTreeSet<_> = specs
        .iter()
        .filter_map(|s| Path::new(&s.path).parent())
        .collect();
    for d in dirs {
        let d = root.join(d);
        fs::create_dir_all(&d).map_err(io_err("create", &d))?;
    }
    for (i, s) in specs.iter().enumerate() {
        let generation = if s.changed { version } else { 1 };
        let file_seed = seed ^ ((i as u64) << 20) ^ (generation << 56);
        let path = root.join(&s.path);
        let len = usize::try_from(s.len).unwrap_or(usize::MAX);
        fs::write(&path, Noise::new(file_seed).bytes(len)).map_err(io_err("write", &path))?;
    }
    Ok(())
}

fn chunk(archive: &Path, params: &ChunkingParams) -> Result<Ingested, BenchError> {
    let file = File::open(archive).map_err(io_err("open", archive))?;
    let mut sink = |_: Blake3Hash, _: &[u8]| Ok::<_, std::io::Error>(());
    Ok(ingest(file, params, &mut sink)?)
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

impl fmt::Display for DedupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |b: u64| b as f64 / f64::from(1u32 << 20);
        writeln!(
            f,
            "dedup: {} files, {} changed ({:.1} MiB, {:.2} % of the archive); archive {:.1} MiB",
            self.files,
            self.changed_files,
            mib(self.changed_bytes),
            percent(self.changed_bytes, self.archive_bytes),
            mib(self.archive_bytes),
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| avg chunk | min / max | chunks | mean chunk | new bytes in N+1 | % of N+1 |"
        )?;
        writeln!(f, "|---:|---:|---:|---:|---:|---:|")?;
        for r in &self.rows {
            writeln!(
                f,
                "| {} KiB | {} / {} KiB | {} | {:.0} KiB | {:.1} MiB | {:.2} % |",
                r.chunk_avg >> 10,
                r.chunk_min >> 10,
                r.chunk_max >> 10,
                r.chunks,
                r.mean_chunk_bytes as f64 / 1024.0,
                mib(r.new_bytes),
                r.new_percent,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_dedup_run_re_sends_at_least_the_changed_bytes() {
        let config = DedupConfig {
            files: 40,
            changed: Percent(10.0),
            min_file: 4 << 10,
            max_file: 256 << 10,
            params: vec![ChunkingParams::with_avg(64 << 10).expect("valid")],
            seed: 1,
        };
        let work = tempfile::tempdir().expect("temp dir");
        let report = run_dedup(&config, work.path()).expect("dedup run");
        assert_eq!(report.changed_files, 4);
        let row = &report.rows[0];
        assert!(row.new_bytes >= report.changed_bytes, "{report}");
        assert!(row.new_bytes < report.archive_bytes / 2, "{report}");
    }
}
