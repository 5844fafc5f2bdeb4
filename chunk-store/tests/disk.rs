//! [`DiskChunkStore`] keeps every promise of the `ChunkStore` trait, and the ones only a disk
//! can break: corruption under a chunk's name, restarts, crashes mid-write.

// Test helpers outside `#[test]` functions: a failed setup step should fail the test at once.
#![allow(clippy::unwrap_used)]

use std::fs;

use packyard_chunk_store::conformance::chunk;
use packyard_chunk_store::{ChunkStats, ChunkStore, ChunkStoreError, DiskChunkStore, Put};
use packyard_core::chunk_list::Blake3Hash;
use tempfile::TempDir;

fn fresh() -> (TempDir, DiskChunkStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = DiskChunkStore::open(dir.path()).unwrap();
    (dir, store)
}

packyard_chunk_store::conformance_tests!(fresh);

#[test]
fn chunks_live_under_a_two_level_fan_out_named_by_their_id() {
    let (dir, store) = fresh();
    let (id, bytes) = chunk(1, 1_000);
    store.put(&id, &bytes).unwrap();
    let hex = id.to_hex();
    let expected = dir
        .path()
        .join("chunks")
        .join(&hex[..2])
        .join(&hex[2..4])
        .join(&hex);
    assert_eq!(store.path_of(&id), expected);
    assert_eq!(fs::read(expected).unwrap(), bytes);
    assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
}

#[test]
fn a_flipped_byte_on_disk_is_reported_corrupt_and_the_file_removed() {
    let (_dir, store) = fresh();
    let (id, bytes) = chunk(2, 70_000);
    let (good, good_bytes) = chunk(3, 500);
    store.put(&id, &bytes).unwrap();
    store.put(&good, &good_bytes).unwrap();

    let path = store.path_of(&id);
    let mut on_disk = fs::read(&path).unwrap();
    on_disk[12_345] ^= 0x01;
    fs::write(&path, on_disk).unwrap();

    match store.get(&id) {
        Err(ChunkStoreError::Corrupt { id: named }) => assert_eq!(named, id),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(!path.exists(), "a corrupt chunk is removed");
    assert!(store.get(&id).unwrap().is_none());
    let stats = store.stats().unwrap();
    assert_eq!(
        stats,
        ChunkStats {
            chunks: 1,
            bytes: 500,
            corrupt_found: 1
        }
    );
    // The good chunk is untouched, and the corrupt one can be stored again.
    assert_eq!(store.get(&good).unwrap().as_deref(), Some(&good_bytes[..]));
    assert_eq!(store.put(&id, &bytes).unwrap(), Put::Stored);
    assert_eq!(store.get(&id).unwrap().as_deref(), Some(&bytes[..]));
}

#[test]
fn a_truncated_chunk_file_is_rewritten_by_the_next_put() {
    let (_dir, store) = fresh();
    let (id, bytes) = chunk(4, 10_000);
    store.put(&id, &bytes).unwrap();
    fs::write(store.path_of(&id), &bytes[..10]).unwrap();
    assert_eq!(store.put(&id, &bytes).unwrap(), Put::Stored);
    assert_eq!(store.get(&id).unwrap().as_deref(), Some(&bytes[..]));
}

#[test]
fn reopening_a_directory_finds_the_chunks_written_before() {
    let dir = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    {
        let store = DiskChunkStore::open(dir.path()).unwrap();
        for seed in 0..20 {
            let c = chunk(seed, 100 + usize::from(seed));
            store.put(&c.0, &c.1).unwrap();
            written.push(c);
        }
    }
    let store = DiskChunkStore::open(dir.path()).unwrap();
    assert_eq!(store.stats().unwrap().chunks, 20);
    for (id, bytes) in &written {
        assert_eq!(store.put(id, bytes).unwrap(), Put::AlreadyPresent);
        assert_eq!(store.get(id).unwrap().as_deref(), Some(&bytes[..]));
    }
}

#[test]
fn temporary_files_left_by_a_crash_are_deleted_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let (id, bytes) = chunk(5, 1_000);
    {
        let store = DiskChunkStore::open(dir.path()).unwrap();
        store.put(&id, &bytes).unwrap();
    }
    // What a crash between writing and renaming leaves: a partial chunk in tmp/.
    let tmp = dir.path().join("tmp");
    fs::write(
        tmp.join(format!("{}.1234.0", Blake3Hash::of(b"x").to_hex())),
        b"partial",
    )
    .unwrap();
    fs::write(tmp.join("stray"), b"junk").unwrap();

    let store = DiskChunkStore::open(dir.path()).unwrap();
    assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0);
    assert_eq!(store.stats().unwrap().chunks, 1);
    assert_eq!(store.get(&id).unwrap().as_deref(), Some(&bytes[..]));
}

#[test]
fn files_that_are_not_chunks_are_not_listed() {
    let (dir, store) = fresh();
    let (id, bytes) = chunk(6, 100);
    store.put(&id, &bytes).unwrap();
    let chunks = dir.path().join("chunks");
    fs::write(chunks.join("README"), b"not a chunk").unwrap();
    fs::create_dir_all(chunks.join("zz").join("yy")).unwrap();
    fs::write(store.path_of(&id).with_file_name("notes.txt"), b"x").unwrap();
    let ids: Vec<_> = store.ids().unwrap().map(Result::unwrap).collect();
    assert_eq!(ids, vec![id]);
}
