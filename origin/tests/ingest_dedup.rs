//! Two versions of a pack built with `packyard pack build` from real files, where a few
//! files change, share most of their chunks once ingested.

// Setup failures should fail the test.
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::fs::{self, File};
use std::io::BufReader;
use std::path::Path;

use packyard_core::Blake3Hash;
use packyard_origin::ingest::{ChunkingParams, Ingested, ingest};
use packyard_pack::{NoProgress, build};

/// Deterministic incompressible bytes (SplitMix64).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

const FILES: u64 = 200;

/// Writes a pack source of `FILES` files (20 to 230 KiB each) into `dir`; the files whose
/// index is in `changed` get other contents of the same size.
fn write_source(dir: &Path, changed: &[u64]) {
    fs::write(
        dir.join("Manifest.json"),
        r#"{"assetPackID":"level-2","downloadPolicy":{"onDemand":{}},"fileSelectors":[{"directory":"assets"}]}"#,
    )
    .unwrap();
    for i in 0..FILES {
        let len = usize::try_from(20_000 + (i * 7_919) % 210_000).unwrap();
        let seed = if changed.contains(&i) {
            1_000_000 + i
        } else {
            i
        };
        let path = dir.join(format!("assets/group-{:02}/file-{i:03}.bin", i % 10));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, noise(seed, len)).unwrap();
    }
}

fn build_and_ingest(changed: &[u64], params: &ChunkingParams) -> (Ingested, u64) {
    let src = tempfile::tempdir().unwrap();
    write_source(src.path(), changed);
    let out = src.path().join("pack.tar");
    let summary = build(&src.path().join("Manifest.json"), None, &out, NoProgress).unwrap();
    let mut sink = |_: Blake3Hash, _: &[u8]| Ok::<_, Infallible>(());
    let ingested = ingest(BufReader::new(File::open(&out).unwrap()), params, &mut sink).unwrap();
    assert_eq!(ingested.chunk_list.archive_hash(), summary.archive_hash);
    assert_eq!(ingested.size, summary.archive_bytes);
    (ingested, summary.content_bytes)
}

#[test]
fn a_version_with_ten_changed_files_shares_most_chunks_with_the_previous_one() {
    let params = ChunkingParams::with_avg(64 << 10).unwrap();
    let changed: Vec<u64> = (0..10).map(|k| 7 + k * 19).collect();
    let (v1, _) = build_and_ingest(&[], &params);
    let (v2, _) = build_and_ingest(&changed, &params);
    let changed_bytes: u64 = changed.iter().map(|i| 20_000 + (i * 7_919) % 210_000).sum();

    let v1_ids: std::collections::HashSet<_> =
        v1.chunk_list.chunks().iter().map(|c| c.id).collect();
    let shared = v2
        .chunk_list
        .chunks()
        .iter()
        .filter(|c| v1_ids.contains(&c.id));
    let (shared_chunks, shared_bytes) =
        shared.fold((0, 0u64), |(n, b), c| (n + 1, b + u64::from(c.len)));
    let new_bytes = v2.chunk_list.delta_bytes(&v1.chunk_list);
    println!(
        "v2: {} chunks, {} bytes; shared with v1: {shared_chunks} chunks, {shared_bytes} bytes; \
         new: {new_bytes} bytes ({:.1} %), of which changed file contents: {changed_bytes}",
        v2.chunk_list.chunks().len(),
        v2.size,
        new_bytes as f64 * 100.0 / v2.size as f64,
    );
    assert_eq!(v1.size, v2.size, "same file sizes, same archive size");
    assert_ne!(v1.chunk_list.archive_hash(), v2.chunk_list.archive_hash());
    assert!(new_bytes >= changed_bytes, "every changed byte is new");
    // 10 of 200 files (5 %) changed; each change may drag in up to a chunk on either side.
    assert!(
        new_bytes * 100 <= v2.size * 15,
        "{new_bytes} of {} bytes are new",
        v2.size
    );
    assert!(shared_chunks * 100 >= v2.chunk_list.chunks().len() * 80);
}

#[test]
fn the_same_sources_give_the_same_chunk_list() {
    let params = ChunkingParams::default();
    let (a, _) = build_and_ingest(&[3], &params);
    let (b, _) = build_and_ingest(&[3], &params);
    assert_eq!(a, b);
}
