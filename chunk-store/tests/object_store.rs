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
fn a_chunk_whose_object_was_overwritten_is_reported_corrupt_counted_and_removed() {
    let garage = Garage::start(1);
    let config = garage.config_with_prefix("corrupt");
    let store = ObjectChunkStore::open(&config).unwrap();
    let (id, bytes) = chunk(1, 4096);
    store.put(&id, &bytes).unwrap();
    let bucket = Bucket::open(&config).unwrap();
    bucket
        .put(
            &format!("chunks/{id}"),
            Bytes::from_static(b"not the chunk"),
        )
        .unwrap();

    assert!(matches!(store.get(&id), Err(ChunkStoreError::Corrupt { id: c }) if c == id));
    assert_eq!(store.stats().unwrap().corrupt_found, 1);
    assert!(
        !store.contains(&id).unwrap(),
        "the corrupt object is deleted"
    );
    assert!(store.get(&id).unwrap().is_none());
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
        let (id, bytes) = chunk(seed, 1_000 + usize::from(seed) * 100);
        disk.put(&id, &bytes).unwrap();
        ids.push(id);
    }
    // One chunk rots on the disk before the move.
    let rotten = ids[29];
    std::fs::write(disk.path_of(&rotten), b"rot").unwrap();
    let bucket = ObjectChunkStore::open(&garage.config_with_prefix("moved")).unwrap();

    // Stopped after ten chunks…
    let first = copy_chunks(&disk, &bucket, true, |r| {
        if r.copied >= 10 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    assert_eq!(first.copied, 10);
    // …and run again: the ten are not sent twice, the rest are, the rotten one is named.
    let second = copy_chunks(&disk, &bucket, true, |_| ControlFlow::Continue(())).unwrap();
    assert_eq!((second.present, second.copied), (10, 19), "{second:?}");
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
