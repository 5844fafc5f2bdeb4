//! Unit and property tests of [`ingest`] and [`ChunkingParams`]. The dedup test over real
//! pack archives is in `tests/ingest_dedup.rs`.

use std::convert::Infallible;
use std::io::{self, Read};

use packyard_core::Blake3Hash;
use packyard_core::chunk_list::MAX_CHUNK_LEN;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

use super::*;

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

/// Small bounds, so a few kilobytes hold many boundaries.
fn small(avg: u32) -> ChunkingParams {
    ChunkingParams::fastcdc_checked(avg / 4, avg, avg * 4).expect("valid small params")
}

/// Ingests `data`, collecting what the sink was handed.
fn run(data: &[u8], params: &ChunkingParams) -> (Ingested, Vec<(Blake3Hash, Vec<u8>)>) {
    let mut seen = Vec::new();
    let mut sink = |id: Blake3Hash, bytes: &[u8]| -> Result<(), Infallible> {
        seen.push((id, bytes.to_vec()));
        Ok(())
    };
    let ingested = ingest(data, params, &mut sink).expect("ingest from memory");
    (ingested, seen)
}

#[test]
fn chunk_ids_are_the_blake3_of_their_bytes_and_match_the_list() {
    let data = noise(1, 300_000);
    let (ingested, seen) = run(&data, &small(4096));
    assert!(seen.len() > 20, "only {} chunks", seen.len());
    for (i, (id, bytes)) in seen.iter().enumerate() {
        assert_eq!(*id, Blake3Hash::of(bytes), "chunk {i}");
        let listed = ingested.chunk_list.chunks()[i];
        assert_eq!((listed.id, listed.len as usize), (*id, bytes.len()));
    }
}

#[test]
fn chunks_respect_the_bounds_except_a_short_last_one() {
    let params = small(1024);
    for data in [noise(2, 200_000), vec![0u8; 50_000]] {
        let (ingested, _) = run(&data, &params);
        let chunks = ingested.chunk_list.chunks();
        let (last, rest) = chunks.split_last().expect("non-empty input has chunks");
        assert!(last.len <= params.max());
        for c in rest {
            assert!((params.min()..=params.max()).contains(&c.len), "{c:?}");
        }
    }
}

#[test]
fn empty_input_gives_an_empty_list_with_the_empty_hashes() {
    let (ingested, seen) = run(&[], &ChunkingParams::default());
    assert!(seen.is_empty());
    assert_eq!(ingested.size, 0);
    assert!(ingested.chunk_list.chunks().is_empty());
    assert_eq!(ingested.chunk_list.archive_hash(), Blake3Hash::of(&[]));
    assert_eq!(ingested.sha256, <[u8; 32]>::from(Sha256::digest([])));
}

#[test]
fn a_shifted_copy_shares_almost_every_chunk() {
    let params = small(4096);
    let data = noise(3, 400_000);
    let mut shifted = b"a few new bytes at the front".to_vec();
    shifted.extend_from_slice(&data);
    let (a, _) = run(&data, &params);
    let (b, _) = run(&shifted, &params);
    let delta = b.chunk_list.delta_bytes(&a.chunk_list);
    assert!(delta < 4 * u64::from(params.max()), "{delta} new bytes");
}

/// Reads `good` bytes, then fails.
struct FailsAfter {
    good: usize,
}

impl Read for FailsAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.good == 0 {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.good).min(1000);
        buf[..n].fill(7);
        self.good -= n;
        Ok(n)
    }
}

#[test]
fn a_read_error_says_how_far_reading_got() {
    let mut sink = |_: Blake3Hash, _: &[u8]| Ok::<_, Infallible>(());
    let err =
        ingest(FailsAfter { good: 12_345 }, &small(1024), &mut sink).expect_err("the reader fails");
    match &err {
        IngestError::Read { offset, source } => {
            assert_eq!(*offset, 12_345);
            assert_eq!(source.to_string(), "disk on fire");
        }
        other => panic!("expected a read error, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "reading the archive failed after 12345 bytes"
    );
}

#[test]
fn a_sink_error_names_the_chunk_it_refused() {
    let data = noise(4, 100_000);
    let mut calls = 0;
    let mut sink = |_: Blake3Hash, _: &[u8]| {
        calls += 1;
        if calls == 3 {
            Err("store full")
        } else {
            Ok(())
        }
    };
    let err = ingest(data.as_slice(), &small(4096), &mut sink).expect_err("the sink fails");
    let (expected, _) = run(&data, &small(4096));
    let third = expected.chunk_list.chunks()[2];
    let offset: u64 = expected.chunk_list.chunks()[..2]
        .iter()
        .map(|c| u64::from(c.len))
        .sum();
    match err {
        IngestError::Sink {
            index,
            id,
            offset: at,
            len,
            source,
        } => {
            assert_eq!(
                (index, id, at, len),
                (2, third.id, offset, third.len as usize)
            );
            assert_eq!(source, "store full");
        }
        other => panic!("expected a sink error, got {other:?}"),
    }
}

#[test]
fn params_default_and_spec_range_are_accepted() {
    let d = ChunkingParams::default();
    assert_eq!((d.min(), d.avg(), d.max()), (16 << 10, 64 << 10, 256 << 10));
    assert_eq!(ChunkingParams::new(d.min(), d.avg(), d.max()), Ok(d));
    for avg in [64 << 10, 128 << 10, 256 << 10, 512 << 10, 1 << 20] {
        let p = ChunkingParams::with_avg(avg).expect("SPEC range");
        assert_eq!((p.min(), p.max()), (avg / 4, avg * 4));
    }
}

#[test]
fn params_refusals_name_the_field_and_the_rule() {
    let refused = |min, avg, max| ChunkingParams::new(min, avg, max).expect_err("refused");
    let e = refused(16 << 10, 32 << 10, 128 << 10);
    assert_eq!(e.field, "avg");
    assert!(
        e.to_string()
            .contains("from 65536 (64 KiB) to 1048576 (1 MiB)"),
        "{e}"
    );
    assert_eq!(refused(1 << 20, 2 << 20, 8 << 20).field, "avg");
    assert_eq!(
        refused(64 << 10, 100_000, 1 << 20).field,
        "avg",
        "not a power of two"
    );
    assert_eq!(
        refused(256 << 10, 256 << 10, 1 << 20).field,
        "min",
        "min = avg"
    );
    assert_eq!(
        refused(32, 256 << 10, 1 << 20).field,
        "min",
        "below FastCDC's 64"
    );
    assert_eq!(refused(65_537, 256 << 10, 1 << 20).field, "min", "odd");
    assert_eq!(
        refused(64 << 10, 256 << 10, 256 << 10).field,
        "max",
        "max = avg"
    );
    let e = refused(64 << 10, 256 << 10, MAX_CHUNK_LEN + 2);
    assert_eq!(e.field, "max");
    assert!(e.to_string().contains(&MAX_CHUNK_LEN.to_string()), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn chunks_reassemble_to_the_input_and_the_whole_hashes_match(
        seed in any::<u64>(),
        len in 0usize..120_000,
        avg_bits in 8u32..14,
        zero_runs in any::<bool>(),
    ) {
        let mut data = noise(seed, len);
        if zero_runs {
            // Low-entropy stretches, where cuts fall at the maximum instead of the content.
            for block in data.chunks_mut(20_000).step_by(2) {
                block.fill(0);
            }
        }
        let params = small(1 << avg_bits);
        let (ingested, seen) = run(&data, &params);
        let joined: Vec<u8> = seen.iter().flat_map(|(_, b)| b.iter().copied()).collect();
        prop_assert_eq!(&joined, &data);
        for (id, bytes) in &seen {
            prop_assert_eq!(*id, Blake3Hash::of(bytes));
        }
        prop_assert_eq!(ingested.size, data.len() as u64);
        prop_assert_eq!(ingested.chunk_list.size(), data.len() as u64);
        prop_assert_eq!(ingested.chunk_list.archive_hash(), Blake3Hash::of(&data));
        prop_assert_eq!(ingested.sha256, <[u8; 32]>::from(Sha256::digest(&data)));
    }
}
