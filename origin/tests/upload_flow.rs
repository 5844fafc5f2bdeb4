//! The whole upload flow against a real control plane on 127.0.0.1: reserve through the
//! admin API, PUT the parts to the origin, commit, and watch the version settle.

// Test code: a failed step should fail the test at once.
#![allow(clippy::unwrap_used)]

mod support;

use packyard_core::quota::QuotaLimits;
use packyard_core::upload_credential::Scope;
use packyard_origin::process::ProcessHooks;
use support::{
    ControlPlane, Origin, PART_BYTES, assert_rebuilds, build_pack, chunk_list, get, noise, put,
    status_url, unix_now, upload_all,
};

/// A control plane and an origin over a fresh data directory.
async fn start() -> (ControlPlane, Origin, tempfile::TempDir) {
    start_with(QuotaLimits::default()).await
}

async fn start_with(quota: QuotaLimits) -> (ControlPlane, Origin, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let (listener, url) = Origin::bind().await;
    let control = ControlPlane::start(&url, quota).await;
    let origin = Origin::start(listener, data.path(), &control, ProcessHooks::default()).await;
    (control, origin, data)
}

const PREFETCH: &str = r#"{"prefetch":{"installationEventTypes":["firstInstallation"]}}"#;

#[tokio::test]
async fn a_pack_uploaded_in_parts_out_of_order_with_a_retry_becomes_complete_and_its_chunks_rebuild_it()
 {
    let (control, origin, data) = start().await;
    let archive = build_pack(16, &[], PREFETCH);
    assert!(
        archive.len() as u64 > 3 * PART_BYTES,
        "{} bytes",
        archive.len()
    );
    let pack = control.pack("com.example.flow", "level-2").await;
    let version = control.version(&pack).await;
    let file = control
        .reserve(&version, archive.len() as u64, "ASSET")
        .await;
    assert!(file.operations.len() >= 4);
    assert!(file.operations[0].url.starts_with(&origin.url));

    // Parts in reverse order, two at once, and the first part sent twice (the retry
    // replaces the earlier copy).
    let mut ops = file.operations.clone();
    ops.reverse();
    for pair in ops.chunks(2) {
        let sends = pair.iter().map(|op| {
            let (url, body) = (op.url.clone(), op.slice(&archive).to_vec());
            async move { put(&url, body).await }
        });
        for (s, v) in futures_join(sends).await {
            assert_eq!(s, 200, "{v}");
        }
    }
    let first = &file.operations[0];
    let (s, v) = put(&first.url, first.slice(&archive).to_vec()).await;
    assert_eq!((s, v["length"].as_u64()), (200, Some(first.length)));

    let (s, v) = control.commit(&file.id, &archive).await;
    assert_eq!(s, 200, "{v}");
    let a = control.settled(&version).await;
    assert_eq!(a["state"], "COMPLETE", "{a}");
    assert_eq!(a["size"], archive.len() as u64);
    assert_eq!(
        a["downloadPolicy"]["prefetch"]["installationEventTypes"][0],
        "firstInstallation"
    );
    assert_eq!(a["platforms"], serde_json::json!(["IOS"]));

    let list = chunk_list(&control, &version).await;
    assert!(list.chunks().len() > 10, "{} chunks", list.chunks().len());
    assert_rebuilds(data.path(), &list, &archive);

    // Staged parts are deleted once the control plane has the report.
    assert!(!data.path().join("staging").join(&file.id).exists());
    // A part after the commit is refused, and nothing is stored for it.
    let (s, v) = put(&first.url, first.slice(&archive).to_vec()).await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("committed"),
        "{v}"
    );
    assert!(!data.path().join("staging").join(&file.id).exists());
    origin.shut_down().await;
}

/// Runs the futures concurrently and collects their outputs in order.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn an_interrupted_upload_learns_what_is_missing_and_sends_only_that() {
    let (control, origin, _data) = start().await;
    let archive = build_pack(10, &[], PREFETCH);
    let pack = control.pack("com.example.resume", "level-2").await;
    let version = control.version(&pack).await;
    let file = control
        .reserve(&version, archive.len() as u64, "ASSET")
        .await;
    let n = file.operations.len() as u64;
    // The connection "drops" after parts 1 and 3.
    for op in file
        .operations
        .iter()
        .filter(|op| op.part == 1 || op.part == 3)
    {
        assert_eq!(put(&op.url, op.slice(&archive).to_vec()).await.0, 200);
    }
    let (s, status) = get(status_url(&file)).await;
    assert_eq!(s, 200, "{status}");
    assert_eq!(status["fileSize"], archive.len() as u64);
    assert_eq!(status["partBytes"], PART_BYTES);
    assert_eq!(status["state"], "AWAITING_UPLOAD");
    let missing: Vec<u64> = status["missingParts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (1..=n).filter(|p| *p != 1 && *p != 3).collect();
    assert_eq!(missing, expected);
    assert_eq!(status["parts"][0]["partNumber"], 1);
    assert_eq!(status["parts"][0]["length"], PART_BYTES);
    for op in file
        .operations
        .iter()
        .filter(|op| missing.contains(&op.part))
    {
        assert_eq!(put(&op.url, op.slice(&archive).to_vec()).await.0, 200);
    }
    let (_, status) = get(status_url(&file)).await;
    assert_eq!(status["missingParts"], serde_json::json!([]));
    control.commit(&file.id, &archive).await;
    assert_eq!(control.settled(&version).await["state"], "COMPLETE");
    origin.shut_down().await;
}

#[tokio::test]
async fn a_checksum_mismatch_fails_the_version_with_the_reason_and_the_origin_carries_on() {
    let (control, origin, _data) = start().await;
    let archive = build_pack(6, &[], PREFETCH);
    let pack = control.pack("com.example.mismatch", "level-2").await;
    let version = control.version(&pack).await;
    let file = control
        .reserve(&version, archive.len() as u64, "ASSET")
        .await;
    upload_all(&file, &archive).await;
    let (s, v) = control.commit_hex(&file.id, &"ab".repeat(32)).await;
    assert_eq!(s, 200, "{v}");
    let a = control.settled(&version).await;
    assert_eq!(a["state"], "FAILED", "{a}");
    let error = &a["stateDetails"]["errors"][0];
    assert_eq!(error["code"], "CHECKSUM_MISMATCH", "{a}");
    let detail = error["description"].as_str().unwrap();
    assert!(detail.contains(&"ab".repeat(32)), "{detail}");
    assert!(
        detail.contains(&hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            &archive
        ))),
        "{detail}"
    );

    // The origin is fine: the next version of the same pack completes.
    let version = control.version(&pack).await;
    let file = control
        .reserve(&version, archive.len() as u64, "ASSET")
        .await;
    upload_all(&file, &archive).await;
    control.commit(&file.id, &archive).await;
    assert_eq!(control.settled(&version).await["state"], "COMPLETE");
    origin.shut_down().await;
}

#[tokio::test]
async fn an_over_quota_reservation_is_refused_before_any_byte_and_unknown_files_take_no_parts() {
    let quota = QuotaLimits {
        max_bytes: 3_000_000,
        ..QuotaLimits::default()
    };
    let (control, origin, data) = start_with(quota).await;
    let pack = control.pack("com.example.quota", "level-2").await;
    let version = control.version(&pack).await;
    let (s, v) = control.try_reserve(&version, 5_000_000, "ASSET").await;
    assert_eq!(
        s, 409,
        "quota is a conflict with what is stored (rule R9): {v}"
    );
    assert!(
        v["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("rule R9"),
        "{v}"
    );
    // No file was reserved, so there is nothing to send a part to: with a credential of the
    // right shape the file is unknown (without one, nothing is asked: 401).
    let shaped = format!("expires={}&signature={}", unix_now() + 60, "A".repeat(43));
    let (s, v) = put(
        &format!("{}/v1/uploads/nosuchfile/parts/1?{shaped}", origin.url),
        vec![0; 10],
    )
    .await;
    assert_eq!(s, 404, "{v}");
    assert_eq!(v["errors"][0]["code"], "NOT_FOUND");
    let (s, _) = get(&format!("{}/v1/uploads/nosuchfile?{shaped}", origin.url)).await;
    assert_eq!(s, 404);
    let (s, _) = put(
        &format!("{}/v1/uploads/..%2F..%2Fetc/parts/1", origin.url),
        vec![0; 10],
    )
    .await;
    assert_eq!(s, 404);
    let staging = data.path().join("staging");
    assert_eq!(
        std::fs::read_dir(&staging).unwrap().count(),
        0,
        "nothing staged"
    );
    origin.shut_down().await;
}

#[tokio::test]
async fn wrong_length_and_out_of_range_parts_are_refused_naming_expected_and_got() {
    let (control, origin, data) = start().await;
    let size = 2 * PART_BYTES + 10;
    let pack = control.pack("com.example.length", "level-2").await;
    let version = control.version(&pack).await;
    let file = control.reserve(&version, size, "ASSET").await;
    let url = |n: u64| file.operations[usize::try_from(n - 1).unwrap()].url.clone();

    let (s, v) = put(&url(1), vec![1; 1000]).await;
    assert_eq!(s, 400, "{v}");
    let detail = v["errors"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("exactly {PART_BYTES} bytes; got 1000")),
        "{detail}"
    );
    let (s, v) = put(&url(3), vec![1; 11]).await;
    assert_eq!(s, 413, "{v}");
    assert!(
        v["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("exactly 10 bytes; got 11")
    );
    // A part past the last, with a credential for it (which the admin API never gives).
    let part_4 = control
        .signed_url(&origin.url, &file.id, Scope::Part(4), unix_now() + 600)
        .await;
    let (s, v) = put(&part_4, vec![1; 10]).await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("no part 4"),
        "{v}"
    );
    let (s, _) = put(&url(1).replace("/parts/1?", "/parts/0?"), vec![1; 10]).await;
    assert_eq!(s, 400);
    // A chunked body with no Content-Length, too long: cut off at the cap.
    let part_3 = url(3);
    let status = chunked_put(&origin.url, part_3.trim_start_matches(&origin.url), 3, 8).await;
    assert_eq!(status, 413);

    let (_, status) = get(status_url(&file)).await;
    assert_eq!(
        status["parts"],
        serde_json::json!([]),
        "nothing stored: {status}"
    );
    assert_eq!(status["missingParts"], serde_json::json!([1, 2, 3]));
    let dir = data.path().join("staging").join(&file.id);
    let leftovers = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(leftovers, 0, "no temporary files left behind");
    let (s, _) = get(&format!("{}/healthz", origin.url)).await;
    assert_eq!(s, 200);
    origin.shut_down().await;
}

#[tokio::test]
async fn a_commit_with_missing_parts_fails_naming_them() {
    let (control, origin, _data) = start().await;
    let bytes = noise(5, usize::try_from(3 * PART_BYTES).unwrap());
    let pack = control.pack("com.example.missing", "level-2").await;
    let version = control.version(&pack).await;
    let file = control.reserve(&version, bytes.len() as u64, "ASSET").await;
    let op = &file.operations[1];
    assert_eq!(put(&op.url, op.slice(&bytes).to_vec()).await.0, 200);
    control.commit(&file.id, &bytes).await;
    let a = control.settled(&version).await;
    assert_eq!(
        a["stateDetails"]["errors"][0]["code"], "UPLOAD_INCOMPLETE",
        "{a}"
    );
    let detail = a["stateDetails"]["errors"][0]["description"]
        .as_str()
        .unwrap();
    assert!(detail.contains("parts 1, 3 of 3"), "{detail}");
    origin.shut_down().await;
}

#[tokio::test]
async fn an_opaque_archive_needs_a_manifest_file_whose_policy_the_version_takes() {
    let (control, origin, _data) = start().await;
    let aar = noise(9, 1_500_000);
    let pack = control.pack("com.example.aar", "level-2").await;

    let version = control.version(&pack).await;
    let file = control.reserve(&version, aar.len() as u64, "ASSET").await;
    upload_all(&file, &aar).await;
    control.commit(&file.id, &aar).await;
    let a = control.settled(&version).await;
    assert_eq!(a["state"], "FAILED", "{a}");
    assert_eq!(a["stateDetails"]["errors"][0]["code"], "MANIFEST_MISSING");
    let detail = a["stateDetails"]["errors"][0]["description"]
        .as_str()
        .unwrap();
    assert!(
        detail.contains("upload a MANIFEST file or build the archive with packyard pack build")
    );

    let manifest = br#"{"assetPackID":"level-2","downloadPolicy":{"essential":{"installationEventTypes":["firstInstallation","subsequentUpdate"]}},"fileSelectors":[],"platforms":["iOS","tvOS"],"language":"fr-CA"}"#;
    let version = control.version(&pack).await;
    let file = control.reserve(&version, aar.len() as u64, "ASSET").await;
    let mfile = control
        .reserve(&version, manifest.len() as u64, "MANIFEST")
        .await;
    upload_all(&file, &aar).await;
    upload_all(&mfile, manifest).await;
    control.commit(&file.id, &aar).await;
    control.commit(&mfile.id, manifest).await;
    let a = control.settled(&version).await;
    assert_eq!(a["state"], "COMPLETE", "{a}");
    assert_eq!(
        a["downloadPolicy"]["essential"]["installationEventTypes"],
        serde_json::json!(["firstInstallation", "subsequentUpdate"])
    );
    assert_eq!(a["platforms"], serde_json::json!(["IOS", "TV_OS"]));
    assert_eq!(a["locale"], "fr-CA");
    origin.shut_down().await;
}

#[tokio::test]
async fn processing_stopped_part_way_without_a_report_is_finished_after_a_restart() {
    // A SIGKILLed origin process: cli/tests/origin_crash.rs. Here a hook stops processing
    // at a known point, so the part-way state is exact.
    let data = tempfile::tempdir().unwrap();
    let (listener, url) = Origin::bind().await;
    let control = ControlPlane::start(&url, QuotaLimits::default()).await;
    let hooks = ProcessHooks {
        stop_after_chunks: Some(5),
        ..ProcessHooks::default()
    };
    let origin = Origin::start(listener, data.path(), &control, hooks).await;
    let archive = build_pack(12, &[], PREFETCH);
    let pack = control.pack("com.example.crash", "level-2").await;
    let version = control.version(&pack).await;
    let file = control
        .reserve(&version, archive.len() as u64, "ASSET")
        .await;
    upload_all(&file, &archive).await;
    control.commit(&file.id, &archive).await;

    // Processing stops after five chunks, as a crash would: nothing is reported. Once the
    // origin has shut down (its tasks joined), exactly those five are stored.
    let chunks_dir = data.path().join("store").join("chunks");
    let count = || walk_files(&chunks_dir);
    packyard_net::eventually::eventually(
        "five chunks stored",
        std::time::Duration::from_secs(15),
        || async { count() >= 5 },
    )
    .await;
    origin.shut_down().await;
    assert_eq!(count(), 5);
    assert_eq!(
        control.version_attributes(&version).await["state"],
        "PROCESSING"
    );

    let (listener, _) = Origin::bind().await;
    let origin = Origin::start(listener, data.path(), &control, ProcessHooks::default()).await;
    let a = control.settled(&version).await;
    assert_eq!(a["state"], "COMPLETE", "{a}");
    let list = chunk_list(&control, &version).await;
    assert_rebuilds(data.path(), &list, &archive);
    origin.shut_down().await;
}

fn walk_files(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { walk_files(&p) } else { 1 })
        .sum()
}

#[tokio::test]
async fn two_versions_differing_in_a_few_files_share_most_chunks() {
    let (control, origin, data) = start().await;
    let pack = control.pack("com.example.dedup", "level-2").await;
    let mut lists = Vec::new();
    for changed in [&[][..], &[3, 11, 17][..]] {
        let archive = build_pack(24, changed, PREFETCH);
        let version = control.version(&pack).await;
        let file = control
            .reserve(&version, archive.len() as u64, "ASSET")
            .await;
        upload_all(&file, &archive).await;
        control.commit(&file.id, &archive).await;
        assert_eq!(control.settled(&version).await["state"], "COMPLETE");
        let list = chunk_list(&control, &version).await;
        assert_rebuilds(data.path(), &list, &archive);
        lists.push(list);
    }
    let v1: std::collections::HashSet<_> = lists[0].chunks().iter().map(|c| c.id).collect();
    let v2 = lists[1].chunks();
    let shared = v2.iter().filter(|c| v1.contains(&c.id)).count();
    let stored = walk_files(&data.path().join("store").join("chunks"));
    println!(
        "v1: {} chunks, v2: {} chunks, shared: {shared}, stored in all: {stored}, new bytes in v2: {}",
        lists[0].chunks().len(),
        v2.len(),
        lists[1].delta_bytes(&lists[0])
    );
    assert!(
        shared * 100 >= v2.len() * 70,
        "{shared} of {} shared",
        v2.len()
    );
    assert!(stored < lists[0].chunks().len() + v2.len() - shared / 2);
    origin.shut_down().await;
}

/// PUTs `count` chunks of `len` bytes with `Transfer-Encoding: chunked` (no Content-Length)
/// over a raw connection; returns the response status.
async fn chunked_put(base: &str, path: &str, count: usize, len: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..count {
        request.extend_from_slice(format!("{len:x}\r\n").as_bytes());
        request.extend(std::iter::repeat_n(b'x', len));
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    conn.write_all(&request).await.unwrap();
    let mut response = Vec::new();
    let _ = conn.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    text.split(' ').nth(1).unwrap().parse().unwrap()
}
