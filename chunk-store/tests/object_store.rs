//! The object chunk store against a real three-node Garage cluster: the whole conformance
//! suite, corruption found on read, and a store that cannot be reached.

use std::time::Duration;

use bytes::Bytes;
use packyard_chunk_store::conformance::{self, chunk};
use packyard_chunk_store::garage::Garage;
use packyard_chunk_store::object::Bucket;
use packyard_chunk_store::{ChunkStore, ChunkStoreError, ObjectChunkStore, ObjectStoreConfig};

#[test]
fn the_conformance_suite_passes_against_a_three_node_garage() {
    let garage = Garage::start(3);
    for (name, check) in conformance::checks::<ObjectChunkStore>() {
        let store = ObjectChunkStore::open(&garage.config_with_prefix(name)).unwrap();
        eprintln!("conformance: {name}");
        check(&store);
    }
}

#[test]
fn a_chunk_damaged_in_its_segment_is_reported_corrupt_counted_and_removed_and_its_neighbour_kept() {
    let garage = Garage::start(1);
    let config = garage.config_with_prefix("corrupt");
    let store = ObjectChunkStore::open(&config).unwrap();
    let (id, bytes) = chunk(1, 4096);
    let (other, other_bytes) = chunk(2, 3000);
    store
        .put_many(&[(id, &bytes[..]), (other, &other_bytes[..])])
        .unwrap();
    // Both in one segment, and a byte of the first flipped in the bucket.
    let bucket = Bucket::open(&config).unwrap();
    let segments = bucket.list("segments").unwrap();
    assert_eq!(segments.len(), 1, "{segments:?}");
    let mut rotten = bucket.get(&segments[0].key).unwrap().unwrap().to_vec();
    rotten[100] ^= 0xff;
    bucket.put(&segments[0].key, Bytes::from(rotten)).unwrap();

    assert!(matches!(store.get(&id), Err(ChunkStoreError::Corrupt { id: c }) if c == id));
    assert_eq!(store.stats().unwrap().corrupt_found, 1);
    assert!(!store.contains(&id).unwrap(), "the corrupt chunk is gone");
    assert!(store.get(&id).unwrap().is_none());
    assert_eq!(
        store.get(&other).unwrap().as_deref(),
        Some(&other_bytes[..]),
        "the chunk it shared a segment with is kept, written anew"
    );
    // Another process finds the same.
    let fresh = ObjectChunkStore::open(&config).unwrap();
    assert!(!fresh.contains(&id).unwrap());
    assert!(fresh.contains(&other).unwrap());
}

#[test]
fn a_store_that_cannot_be_reached_is_named_in_the_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = ObjectStoreConfig {
        endpoint: format!("http://127.0.0.1:{port}"),
        bucket: "chunks".into(),
        region: "garage".into(),
        access_key_id: Some("GK0000".into()),
        secret_access_key: Some("secret".into()),
        connect_timeout_secs: 1,
        request_timeout_secs: 2,
        max_retries: 0,
        ..ObjectStoreConfig::default()
    };
    let store = ObjectChunkStore::open(&config).unwrap();
    let (id, bytes) = chunk(2, 100);
    let started = std::time::Instant::now();
    let err = store.put(&id, &bytes).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ChunkStoreError::Unavailable { .. }), "{text}");
    assert!(
        text.contains(&format!("s3 bucket chunks at http://127.0.0.1:{port}")),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn credentials_come_from_a_file_before_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s3.toml");
    std::fs::write(
        &file,
        "access_key_id = \"from-file\"\nsecret_access_key = \"file-secret\"\n",
    )
    .unwrap();
    let config = ObjectStoreConfig {
        bucket: "b".into(),
        credentials_file: Some(file.clone()),
        access_key_id: Some("in-config".into()),
        secret_access_key: Some("config-secret".into()),
        ..ObjectStoreConfig::default()
    };
    assert_eq!(config.credentials().unwrap().access_key_id, "from-file");
    std::fs::write(&file, "access_key = \"typo\"\n").unwrap();
    let err = config.credentials().err().unwrap().to_string();
    assert!(
        err.contains("store.credentials_file") && err.contains("s3.toml"),
        "{err}"
    );
    assert!(
        !format!("{config:?}").contains("config-secret"),
        "the secret is never printed"
    );
}

#[test]
fn with_one_of_three_garage_nodes_killed_chunks_are_still_written_and_read_through_the_others() {
    let mut garage = Garage::start(3);
    let endpoints: Vec<String> = garage.nodes.iter().map(|n| n.endpoint.clone()).collect();
    let config = ObjectStoreConfig {
        endpoint: endpoints.join(","),
        ..garage.config_with_prefix("one-down")
    };
    let store = ObjectChunkStore::open(&config).unwrap();
    let (before, before_bytes) = chunk(1, 70_000);
    store.put(&before, &before_bytes).unwrap();

    // The node the store was using goes away, hard.
    garage.nodes[0].kill();
    let (during, during_bytes) = chunk(2, 70_000);
    store.put(&during, &during_bytes).unwrap();
    assert_eq!(
        store.get(&before).unwrap().as_deref(),
        Some(&before_bytes[..])
    );
    assert_eq!(
        store.get(&during).unwrap().as_deref(),
        Some(&during_bytes[..])
    );

    // Back, it has missed nothing: through it alone, both are there.
    garage.nodes[0].restart();
    let only_first = ObjectChunkStore::open(&ObjectStoreConfig {
        endpoint: endpoints[0].clone(),
        ..config.clone()
    })
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let got = only_first.get(&during);
        if let Ok(Some(bytes)) = got {
            assert_eq!(&bytes[..], &during_bytes[..]);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{got:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        only_first.get(&before).unwrap().as_deref(),
        Some(&before_bytes[..])
    );
}

#[test]
fn a_disk_store_is_copied_into_the_bucket_verified_and_an_interrupted_copy_resumes() {
    use packyard_chunk_store::DiskChunkStore;
    use packyard_chunk_store::copy::copy_chunks;
    use std::ops::ControlFlow;

    let garage = Garage::start(1);
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskChunkStore::open(dir.path()).unwrap();
    let mut ids = Vec::new();
    for seed in 0..30 {
        let (id, bytes) = chunk(seed, 100_000 + usize::from(seed) * 10_000);
        disk.put(&id, &bytes).unwrap();
        ids.push(id);
    }
    // One chunk rots on the disk before the move.
    let rotten = ids[29];
    std::fs::write(disk.path_of(&rotten), b"rot").unwrap();
    // Segments of 1 MiB: the copy writes about five chunks at a time.
    let config = ObjectStoreConfig {
        segment_bytes: 1 << 20,
        ..garage.config_with_prefix("moved")
    };
    let bucket = ObjectChunkStore::open(&config).unwrap();

    // Stopped after ten chunks (and the rest of the segment they were written in)…
    let first = copy_chunks(&disk, &bucket, true, |r| {
        if r.copied >= 10 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    assert!((10..20).contains(&first.copied), "{first:?}");
    // …and run again: those are not sent twice, the rest are, the rotten one is named.
    let second = copy_chunks(&disk, &bucket, true, |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(
        (second.present, second.copied),
        (first.copied, 29 - first.copied),
        "{second:?}"
    );
    assert_eq!(second.verified, 29);
    // Met in one run or the other, whichever reached it: reported once, never copied.
    let corrupt: Vec<_> = first
        .corrupt
        .iter()
        .chain(&second.corrupt)
        .copied()
        .collect();
    assert_eq!(corrupt, vec![rotten]);
    for id in &ids[..29] {
        assert_eq!(bucket.get(id).unwrap(), disk.get(id).unwrap(), "{id}");
    }
    assert!(
        !bucket.contains(&rotten).unwrap(),
        "nothing under a wrong id"
    );
}

#[test]
fn chunks_written_together_are_one_segment_object_and_another_process_finds_them() {
    let garage = Garage::start(1);
    let config = garage.config_with_prefix("grouped");
    let a = ObjectChunkStore::open(&config).unwrap();
    let b = ObjectChunkStore::open(&config).unwrap();
    // B reads the (empty) index first, so A's chunks are news to it.
    assert_eq!(b.stats().unwrap().chunks, 0);
    let chunks: Vec<_> = (0..40).map(|seed| chunk(seed, 20_000)).collect();
    let refs: Vec<_> = chunks.iter().map(|(id, b)| (*id, &b[..])).collect();
    let puts = a.put_many(&refs).unwrap();
    assert!(puts.iter().all(|p| *p == packyard_chunk_store::Put::Stored));
    let bucket = Bucket::open(&config).unwrap();
    assert_eq!(
        bucket.list("segments").unwrap().len(),
        1,
        "forty chunks put together are one object"
    );
    let ids: Vec<_> = chunks.iter().map(|(id, _)| *id).collect();
    assert!(b.contains_many(&ids).unwrap().iter().all(|f| *f));
    for (id, bytes) in &chunks {
        assert_eq!(b.get(id).unwrap().as_deref(), Some(&bytes[..]));
    }
    // Put again soon after: already present, nothing written.
    assert!(
        a.put_many(&refs)
            .unwrap()
            .iter()
            .all(|p| *p == packyard_chunk_store::Put::AlreadyPresent)
    );
    assert_eq!(bucket.list("segments").unwrap().len(), 1);
}

#[test]
fn a_chunk_removed_by_another_process_is_found_gone_by_recheck_and_by_reads() {
    let garage = Garage::start(1);
    let config = garage.config_with_prefix("rechecked");
    let a = ObjectChunkStore::open(&config).unwrap();
    let b = ObjectChunkStore::open(&config).unwrap();
    let (id, bytes) = chunk(7, 10_000);
    let (kept, kept_bytes) = chunk(8, 10_000);
    a.put_many(&[(id, &bytes[..]), (kept, &kept_bytes[..])])
        .unwrap();
    assert!(b.contains(&id).unwrap(), "b now remembers where it is");
    let c = ObjectChunkStore::open(&config).unwrap();
    assert!(c.contains(&kept).unwrap(), "and so does c");
    // Removing one chunk rewrites the segment it shares with `kept`.
    assert!(a.remove(&id).unwrap());
    // b's memory still says present; the bucket does not.
    assert_eq!(b.recheck(&[id, kept]).unwrap(), vec![false, true]);
    assert!(!b.contains(&id).unwrap());
    assert!(a.remove(&id).is_ok_and(|removed| !removed));
    // A read through a memory of the old segment finds the chunk moved, not lost.
    assert_eq!(c.get(&kept).unwrap().as_deref(), Some(&kept_bytes[..]));
    assert_eq!(c.get(&id).unwrap(), None);
}

#[test]
fn garbage_collection_deletes_dead_segments_rewrites_mostly_dead_ones_and_leaves_mostly_live_ones()
{
    use packyard_chunk_store::gc::collect_garbage;
    use std::collections::HashSet;
    use std::time::{Duration, SystemTime};

    let garage = Garage::start(1);
    let config = garage.config_with_prefix("gc");
    let store = ObjectChunkStore::open(&config).unwrap();
    let group = |seeds: std::ops::Range<u8>| -> Vec<(packyard_core::Blake3Hash, Vec<u8>)> {
        seeds.map(|s| chunk(s, 10_000)).collect()
    };
    let put = |chunks: &[(packyard_core::Blake3Hash, Vec<u8>)]| {
        let refs: Vec<_> = chunks.iter().map(|(id, b)| (*id, &b[..])).collect();
        store.put_many(&refs).unwrap();
    };
    let all_dead = group(0..4);
    let half_dead = group(10..14);
    let mostly_live = group(20..30);
    put(&all_dead);
    put(&half_dead);
    put(&mostly_live);
    let ids = |c: &[(packyard_core::Blake3Hash, Vec<u8>)]| -> Vec<_> {
        c.iter().map(|(id, _)| *id).collect()
    };
    let mut live: HashSet<_> = ids(&half_dead[..2]).into_iter().collect();
    live.extend(ids(&mostly_live[1..]));

    let later = SystemTime::now() + Duration::from_secs(7200);
    let report = collect_garbage(&store, &live, Duration::from_secs(3600), later).unwrap();
    let removed: HashSet<_> = report.removed.iter().copied().collect();
    let mut expected: HashSet<_> = ids(&all_dead).into_iter().collect();
    expected.extend(ids(&half_dead[2..]));
    assert_eq!(removed, expected, "{report:?}");
    assert_eq!(report.bytes_removed, 6 * 10_000);
    assert_eq!(
        report.kept_grouped, 1,
        "one dead chunk in ten stays with its segment"
    );

    let bucket = Bucket::open(&config).unwrap();
    assert_eq!(
        bucket.list("segments").unwrap().len(),
        2,
        "the dead segment is gone, the half-dead one rewritten, the mostly live one left"
    );
    let fresh = ObjectChunkStore::open(&config).unwrap();
    for (id, bytes) in half_dead[..2].iter().chain(&mostly_live) {
        assert_eq!(fresh.get(id).unwrap().as_deref(), Some(&bytes[..]), "{id}");
    }
    for id in &expected {
        assert!(!fresh.contains(id).unwrap(), "{id}");
    }
}

#[test]
fn chunk_objects_from_before_segments_are_regrouped_verified_and_a_stopped_run_goes_on() {
    use std::ops::ControlFlow;

    let garage = Garage::start(1);
    let config = ObjectStoreConfig {
        segment_bytes: 1 << 20,
        ..garage.config_with_prefix("regroup")
    };
    let bucket = Bucket::open(&config).unwrap();
    // Thirty chunks as the store kept them before segments, one object each; one rotted.
    let chunks: Vec<_> = (0..30).map(|seed| chunk(seed, 200_000)).collect();
    for (id, bytes) in &chunks {
        bucket
            .put(&format!("chunks/{id}"), Bytes::from(bytes.clone()))
            .unwrap();
    }
    let rotten = chunks[29].0;
    bucket
        .put(&format!("chunks/{rotten}"), Bytes::from_static(b"rot"))
        .unwrap();
    let store = ObjectChunkStore::open(&config).unwrap();
    assert!(!store.contains(&chunks[0].0).unwrap(), "not read before");

    // Stopped after the first segment…
    let first = store.regroup(|_| ControlFlow::Break(())).unwrap();
    assert!((5..29).contains(&first.moved), "{first:?}");
    // …and run again: the rest moves, the rotten one is named and left.
    let second = store.regroup(|_| ControlFlow::Continue(())).unwrap();
    assert_eq!(first.moved + second.moved, 29, "{second:?}");
    assert_eq!(second.corrupt, vec![rotten]);
    let left: Vec<_> = bucket.list("chunks").unwrap();
    assert_eq!(left.len(), 1, "only the rotten object stays: {left:?}");

    let fresh = ObjectChunkStore::open(&config).unwrap();
    for (id, bytes) in &chunks[..29] {
        assert_eq!(fresh.get(id).unwrap().as_deref(), Some(&bytes[..]), "{id}");
    }
    assert!(!fresh.contains(&rotten).unwrap());
}
