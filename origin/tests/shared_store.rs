//! Origins over one bucket of a real Garage store: any origin takes any part of an upload,
//! one of them processes it (under the control plane's lease), the chunks are in the
//! bucket, and an origin's own folder holds nothing that matters.

// Test code: a failed step should fail the test at once.
#![allow(clippy::unwrap_used)]

mod support;

use packyard_chunk_store::garage::Garage;
use packyard_chunk_store::{ChunkStore, ObjectChunkStore, ObjectStoreConfig};
use packyard_core::quota::QuotaLimits;
use packyard_origin::config::StoreConfig;
use packyard_origin::process::ProcessHooks;
use support::{ControlPlane, Origin, PART_BYTES, build_pack, chunk_list, files_in as walk, put};

const PREFETCH: &str = r#"{"prefetch":{"installationEventTypes":["firstInstallation"]}}"#;

/// Everything in `dir` but the origin's certificates, recursively: files left behind.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in walk(dir) {
        if !entry.starts_with(dir.join("tls")) {
            found.push(entry);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_sent_to_two_origins_become_one_version_whose_chunks_are_in_the_bucket() {
    let garage = tokio::task::spawn_blocking(|| Garage::start(1))
        .await
        .unwrap();
    let bucket = garage.config_with_prefix("two-origins");
    let (listener_a, url_a) = Origin::bind().await;
    let (listener_b, url_b) = Origin::bind().await;
    let control = ControlPlane::start(&url_a, QuotaLimits::default()).await;
    let (data_a, data_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let s3 = StoreConfig::S3(Box::new(bucket.clone()));
    let hooks = ProcessHooks::default();
    let a = Origin::start_on(
        listener_a,
        data_a.path(),
        &control,
        hooks.clone(),
        "1",
        s3.clone(),
    );
    let b = Origin::start_on(listener_b, data_b.path(), &control, hooks, "2", s3).await;
    let a = a.await;

    let archive = build_pack(16, &[], PREFETCH);
    let pack = control.pack("com.example.shared", "level-2").await;
    let version = control.version(&pack).await;
    let file = control
        .reserve(&version, archive.len() as u64, "ASSET")
        .await;
    assert!(
        file.operations.len() >= 3,
        "{} parts",
        file.operations.len()
    );
    // Every other part goes to the second origin: the signed URL is good on any origin.
    for (i, op) in file.operations.iter().enumerate() {
        let url = if i % 2 == 1 {
            op.url.replacen(&url_a, &url_b, 1)
        } else {
            op.url.clone()
        };
        let (status, body) = put(&url, op.slice(&archive).to_vec()).await;
        assert_eq!(status, 200, "part {} through {url}: {body}", op.part);
    }
    let (status, body) = control.commit(&file.id, &archive).await;
    assert_eq!(status, 200, "{body}");
    let settled = control.settled(&version).await;
    assert_eq!(settled["state"], "COMPLETE", "{settled}");

    // Every chunk is in the bucket and they rebuild the archive.
    let list = chunk_list(&control, &version).await;
    let rebuilt = tokio::task::spawn_blocking(move || {
        let store = ObjectChunkStore::open(&bucket).unwrap();
        let mut out = Vec::new();
        for c in list.chunks() {
            out.extend_from_slice(
                &store
                    .get(&c.id)
                    .unwrap()
                    .expect("the chunk is in the bucket"),
            );
        }
        out
    })
    .await
    .unwrap();
    assert!(
        rebuilt == archive,
        "the bucket's chunks rebuild the archive"
    );
    // Neither origin's folder keeps a part or a chunk.
    for data in [data_a.path(), data_b.path()] {
        assert_eq!(files_under(data), Vec::<std::path::PathBuf>::new());
    }
    a.shut_down().await;
    b.shut_down().await;
    assert!(PART_BYTES < archive.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_sent_while_the_store_cannot_be_reached_is_refused_with_a_503_naming_it() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let store = ObjectStoreConfig {
        endpoint: format!("http://127.0.0.1:{port}"),
        bucket: "packs".into(),
        region: "garage".into(),
        access_key_id: Some("GK00".into()),
        secret_access_key: Some("secret".into()),
        connect_timeout_secs: 1,
        request_timeout_secs: 2,
        max_retries: 0,
        ..ObjectStoreConfig::default()
    };
    let (listener, url) = Origin::bind().await;
    let control = ControlPlane::start(&url, QuotaLimits::default()).await;
    let data = tempfile::tempdir().unwrap();
    let origin = Origin::start_on(
        listener,
        data.path(),
        &control,
        ProcessHooks::default(),
        "1",
        StoreConfig::S3(Box::new(store)),
    )
    .await;
    let pack = control.pack("com.example.down", "level-2").await;
    let version = control.version(&pack).await;
    let bytes = vec![7u8; 1000];
    let file = control.reserve(&version, bytes.len() as u64, "ASSET").await;
    let op = &file.operations[0];
    let (status, body) = put(&op.url, op.slice(&bytes).to_vec()).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["errors"][0]["code"], "UNAVAILABLE.STORE", "{body}");
    let detail = body["errors"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("s3 bucket packs at http://127.0.0.1:{port}")),
        "{detail}"
    );
    assert_eq!(files_under(data.path()), Vec::<std::path::PathBuf>::new());
    origin.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processing_waits_while_the_store_is_unreachable_and_completes_when_it_returns() {
    let mut garage = tokio::task::spawn_blocking(|| Garage::start(1))
        .await
        .unwrap();
    let (listener, url) = Origin::bind().await;
    let control = ControlPlane::start(&url, QuotaLimits::default()).await;
    let data = tempfile::tempdir().unwrap();
    let mut bucket = garage.config_with_prefix("waits");
    (bucket.connect_timeout_secs, bucket.request_timeout_secs) = (1, 2);
    let origin = Origin::start_on(
        listener,
        data.path(),
        &control,
        ProcessHooks::default(),
        "1",
        StoreConfig::S3(Box::new(bucket)),
    )
    .await;
    let archive = build_pack(8, &[], PREFETCH);
    let pack = control.pack("com.example.waits", "level-2").await;
    let version = control.version(&pack).await;
    let file = control
        .reserve(&version, archive.len() as u64, "ASSET")
        .await;
    for op in &file.operations {
        let (status, body) = put(&op.url, op.slice(&archive).to_vec()).await;
        assert_eq!(status, 200, "part {}: {body}", op.part);
    }

    // The store goes before the commit: processing cannot read the parts, and the version
    // neither completes nor fails while it is gone.
    garage.nodes[0].kill();
    let (status, body) = control.commit(&file.id, &archive).await;
    assert_eq!(status, 200, "{body}");
    let watched = std::time::Instant::now();
    while watched.elapsed() < std::time::Duration::from_secs(6) {
        let v = control.client.version(&version).await.unwrap();
        assert_eq!(
            v.state.as_str(),
            "PROCESSING",
            "with the store unreachable: {}",
            v.attributes()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    // The store returns: processing resumes by itself and completes.
    garage.nodes[0].restart();
    let settled = control.settled(&version).await;
    assert_eq!(settled["state"], "COMPLETE", "{settled}");
    origin.shut_down().await;
}
