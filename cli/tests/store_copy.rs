//! `packyard store copy`: an origin's disk store moved into a real Garage bucket, through the
//! binary, twice (the second run finds everything there), and refused for a configuration
//! without a bucket.

#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use packyard_chunk_store::conformance::chunk;
use packyard_chunk_store::garage::Garage;
use packyard_chunk_store::{ChunkStore, DiskChunkStore, ObjectChunkStore};

fn packyard() -> Command {
    Command::cargo_bin("packyard").unwrap()
}

#[test]
fn a_disk_store_is_copied_into_the_bucket_and_a_second_run_copies_nothing() {
    let garage = Garage::start(1);
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskChunkStore::open(dir.path().join("store")).unwrap();
    let mut ids = Vec::new();
    for seed in 0..12 {
        let (id, bytes) = chunk(seed, 5_000);
        disk.put(&id, &bytes).unwrap();
        ids.push(id);
    }
    let bucket = garage.config_with_prefix("from-disk");
    let config = dir.path().join("origin.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nkind = \"s3\"\nendpoint = \"{}\"\nbucket = \"{}\"\nregion = \"{}\"\n\
             prefix = \"from-disk\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
            bucket.endpoint,
            bucket.bucket,
            bucket.region,
            bucket.access_key_id.clone().unwrap(),
            bucket.secret_access_key.clone().unwrap()
        ),
    )
    .unwrap();
    let run = || {
        let out = packyard()
            .args(["store", "copy", "--from"])
            .arg(dir.path())
            .arg("--config")
            .arg(&config)
            .env_remove("PACKYARD_STORE_ACCESS_KEY_ID")
            .env_remove("PACKYARD_STORE_SECRET_ACCESS_KEY")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        String::from_utf8(out.stdout).unwrap()
    };
    let first = run();
    assert!(
        first.contains("copied 12 chunks (60000 bytes); 0 were there already; 12 verified"),
        "{first}"
    );
    let second = run();
    assert!(
        second.contains("copied 0 chunks (0 bytes); 12 were there already"),
        "{second}"
    );
    let store = ObjectChunkStore::open(&bucket).unwrap();
    for id in &ids {
        assert_eq!(store.get(id).unwrap(), disk.get(id).unwrap());
    }

    // A configuration that keeps chunks on disk names no bucket to copy into.
    std::fs::write(&config, "origin_id = \"1\"\n").unwrap();
    let out = packyard()
        .args(["store", "copy", "--from"])
        .arg(dir.path())
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("keeps chunks on disk"), "{stderr}");
}
