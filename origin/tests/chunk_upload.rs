//! A file sent as chunks (its chunk list, then only the chunks the store lacks) against a
//! real control plane and origin: a second version that changes a few files sends a few of
//! its bytes, and every lie a client can tell is refused with the reason.

// Test code: a failed step should fail the test at once.
#![allow(clippy::unwrap_used)]

mod support;

use packyard_admin_client::ChunkEntry;
use packyard_core::Blake3Hash;
use packyard_core::quota::QuotaLimits;
use packyard_origin::ingest::{ChunkingParams, ingest};
use packyard_origin::process::ProcessHooks;
use serde_json::{Value, json};
use support::{
    ControlPlane, Origin, Reserved, assert_rebuilds, build_pack, chunk_list, files_in as walk,
};

const PREFETCH: &str = r#"{"prefetch":{"installationEventTypes":["firstInstallation"]}}"#;

async fn start() -> (ControlPlane, Origin, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let (listener, url) = Origin::bind().await;
    let control = ControlPlane::start(&url, QuotaLimits::default()).await;
    let origin = Origin::start(listener, data.path(), &control, ProcessHooks::default()).await;
    (control, origin, data)
}

/// The archive cut as the origin cuts it: each chunk's id, length and bytes.
fn cut(archive: &[u8]) -> Vec<(Blake3Hash, u32, Vec<u8>)> {
    let mut chunks = Vec::new();
    let mut sink = |id: Blake3Hash, bytes: &[u8]| {
        chunks.push((id, u32::try_from(bytes.len()).unwrap(), bytes.to_vec()));
        Ok::<(), std::io::Error>(())
    };
    ingest(archive, &ChunkingParams::default(), &mut sink).unwrap();
    chunks
}

fn entries(chunks: &[(Blake3Hash, u32, Vec<u8>)]) -> Vec<ChunkEntry> {
    chunks.iter().map(|(id, len, _)| (*id, *len)).collect()
}

/// Sends `archive` as chunks as a new version of `pack`, commits it and waits; returns the
/// version and the bytes sent.
async fn send(control: &ControlPlane, pack: &str, archive: &[u8]) -> (String, u64) {
    let version = control.version(pack).await;
    let file = control
        .reserve(&version, archive.len() as u64, "ASSET")
        .await;
    let chunks = cut(archive);
    let missing = control
        .client
        .send_chunk_list(&file, &entries(&chunks))
        .await
        .unwrap();
    let mut sent = 0u64;
    let mut seen = std::collections::HashSet::new();
    for (id, len, bytes) in &chunks {
        if missing.contains(id) && seen.insert(*id) {
            control
                .client
                .send_chunk(&file, id, bytes.clone())
                .await
                .unwrap();
            sent += u64::from(*len);
        }
    }
    let (status, body) = control.commit(&file.id, archive).await;
    assert_eq!(status, 200, "{body}");
    let settled = control.settled(&version).await;
    assert_eq!(settled["state"], "COMPLETE", "{settled}");
    (version, sent)
}

#[tokio::test]
async fn a_version_with_a_few_changed_files_sends_only_the_chunks_the_store_lacks() {
    let (control, origin, data) = start().await;
    let pack = control.pack("com.example.delta", "level-2").await;
    let first = build_pack(40, &[], PREFETCH);
    let (v1, sent) = send(&control, &pack, &first).await;
    assert_eq!(
        sent,
        first.len() as u64,
        "the first version sends every byte"
    );
    assert_rebuilds(data.path(), &chunk_list(&control, &v1).await, &first);

    // 2 of 40 files (5 %, 5.6 % of the bytes) changed: what goes is those files and the
    // chunks around their edges (chunks average 64 KiB; these files are 200 to 400 KB, so
    // the edges weigh: a pack of larger files comes closer to the share of its files).
    let second = build_pack(40, &[7, 23], PREFETCH);
    let (v2, sent) = send(&control, &pack, &second).await;
    let share = sent as f64 / second.len() as f64;
    eprintln!(
        "the second version sent {sent} of {} bytes ({:.1} %)",
        second.len(),
        share * 100.0
    );
    assert!(share <= 0.10, "sent {:.1} % of the archive", share * 100.0);
    assert!(sent > 0, "the changed files were sent");
    assert_rebuilds(data.path(), &chunk_list(&control, &v2).await, &second);
    origin.shut_down().await;
}

async fn put_json(url: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .put(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn put_bytes(url: &str, bytes: Vec<u8>) -> (u16, Value) {
    let r = reqwest::Client::new()
        .put(url)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn chunk_url(file: &Reserved, id: &Blake3Hash) -> String {
    let url = file.chunks_url.as_deref().unwrap();
    let (path, query) = url.split_once('?').unwrap();
    format!("{path}/{id}?{query}")
}

fn detail(body: &Value) -> String {
    body["errors"][0]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn lies_about_chunks_are_refused_with_the_reason_and_nothing_is_stored_under_a_wrong_id() {
    let (control, origin, data) = start().await;
    let pack = control.pack("com.example.lies", "level-2").await;
    let archive = build_pack(8, &[], PREFETCH);
    let chunks = cut(&archive);
    let version = control.version(&pack).await;
    let file = control
        .reserve(&version, archive.len() as u64, "ASSET")
        .await;
    let list_url = file.chunks_url.clone().unwrap();
    let listed = |chunks: &[(Blake3Hash, u32, Vec<u8>)]| json!({ "chunks": chunks.iter().map(|(id, len, _)| json!({"id": id.to_hex(), "length": len})).collect::<Vec<_>>() });

    // A list that does not add up to the reserved size.
    let (status, body) = put_json(&list_url, listed(&chunks[1..])).await;
    assert_eq!(status, 400, "{body}");
    assert!(detail(&body).contains("adds up to"), "{body}");
    // A list that lies about a size (the sum kept right by a second lie).
    let mut lying = listed(&chunks);
    lying["chunks"][0]["length"] = json!(chunks[0].1 + 1);
    lying["chunks"][1]["length"] = json!(chunks[1].1 - 1);
    let (status, body) = put_json(&list_url, lying).await;
    assert_eq!(status, 200, "{body}");
    // …is caught when a chunk's bytes do not have the length the list gave.
    let (status, body) = put_bytes(&chunk_url(&file, &chunks[0].0), chunks[0].2.clone()).await;
    assert_eq!(status, 400, "{body}");
    assert!(detail(&body).contains("in the chunk list"), "{body}");

    // The honest list; then bytes that are not the chunk they are sent as.
    let (status, body) = put_json(&list_url, listed(&chunks)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["missing"].as_array().unwrap().len(),
        chunks.len(),
        "{body}"
    );
    let mut wrong = chunks[0].2.clone();
    wrong[0] ^= 1;
    let (status, body) = put_bytes(&chunk_url(&file, &chunks[0].0), wrong).await;
    assert_eq!(status, 400, "{body}");
    assert!(detail(&body).contains("hash to"), "{body}");
    // A chunk the list does not name, and a credential for another scope.
    let stranger = Blake3Hash::of(b"not in the list");
    let (status, body) = put_bytes(&chunk_url(&file, &stranger), b"not in the list".to_vec()).await;
    assert_eq!(status, 400, "{body}");
    assert!(detail(&body).contains("not in the chunk list"), "{body}");
    let status_url = file.status_url.clone().unwrap();
    let (path, query) = status_url.split_once('?').unwrap();
    let forged = format!("{path}/chunks?{query}");
    let (status, _) = put_json(&forged, listed(&chunks)).await;
    assert_eq!(status, 403, "a status credential does not send chunks");

    // Nothing is stored under a wrong id: the store holds no chunk yet.
    let store = data.path().join("store").join("chunks");
    let stored = walk(&store);
    assert!(stored.is_empty(), "{stored:?}");

    // Committing before every chunk is sent fails the version, naming what is missing.
    for (id, _, bytes) in &chunks[..chunks.len() - 1] {
        let (status, body) = put_bytes(&chunk_url(&file, id), bytes.clone()).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = control.commit(&file.id, &archive).await;
    assert_eq!(status, 200, "{body}");
    let settled = control.settled(&version).await;
    assert_eq!(settled["state"], "FAILED", "{settled}");
    let text = settled.to_string();
    assert!(
        text.contains("never sent") && text.contains(&chunks.last().unwrap().0.to_hex()),
        "{text}"
    );
    origin.shut_down().await;
}

#[tokio::test]
async fn a_chunk_list_learns_nothing_of_the_chunks_of_another_pack() {
    let (control, origin, _data) = start().await;
    let archive = build_pack(6, &[], PREFETCH);
    let theirs = control.pack("com.example.theirs", "level-2").await;
    send(&control, &theirs, &archive).await;

    // Another app's pack lists the same bytes: every chunk is "missing", so nobody learns
    // from the answer what the store holds for others; sending them costs a write each.
    let mine = control.pack("com.example.mine", "level-2").await;
    let (_, sent) = send(&control, &mine, &archive).await;
    assert_eq!(sent, archive.len() as u64);
    origin.shut_down().await;
}

#[tokio::test]
async fn a_list_sent_again_after_a_break_asks_only_for_the_chunks_not_yet_sent() {
    let (control, origin, _data) = start().await;
    let pack = control.pack("com.example.resume", "level-2").await;
    let archive = build_pack(6, &[], PREFETCH);
    let chunks = cut(&archive);
    let bytes_of: std::collections::HashMap<_, _> = chunks
        .iter()
        .map(|(id, _, bytes)| (*id, bytes.clone()))
        .collect();
    let version = control.version(&pack).await;
    let file = control
        .reserve(&version, archive.len() as u64, "ASSET")
        .await;
    let missing = control
        .client
        .send_chunk_list(&file, &entries(&chunks))
        .await
        .unwrap();
    let half = missing.len() / 2;
    assert!(half > 0, "a pack of several chunks");
    for id in &missing[..half] {
        control
            .client
            .send_chunk(&file, id, bytes_of[id].clone())
            .await
            .unwrap();
    }

    // The client stops here; run again, it sends the same list and is asked for the rest.
    let again = control
        .client
        .send_chunk_list(&file, &entries(&chunks))
        .await
        .unwrap();
    assert_eq!(again, missing[half..].to_vec());
    for id in &again {
        control
            .client
            .send_chunk(&file, id, bytes_of[id].clone())
            .await
            .unwrap();
    }
    let (status, body) = control.commit(&file.id, &archive).await;
    assert_eq!(status, 200, "{body}");
    let settled = control.settled(&version).await;
    assert_eq!(settled["state"], "COMPLETE", "{settled}");
    origin.shut_down().await;
}

/// A bundle body: each chunk framed by its id and its length (4 bytes, big-endian).
fn bundle(chunks: &[(Blake3Hash, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (id, bytes) in chunks {
        body.extend_from_slice(id.as_bytes());
        body.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_be_bytes());
        body.extend_from_slice(bytes);
    }
    body
}

#[tokio::test]
async fn a_bundle_of_chunks_is_stored_whole_or_not_at_all_and_its_lies_are_refused_with_the_reason()
{
    let (control, origin, data) = start().await;
    let pack = control.pack("com.example.bundle", "level-2").await;
    let archive = build_pack(8, &[], PREFETCH);
    let chunks = cut(&archive);
    let version = control.version(&pack).await;
    let file = control
        .reserve(&version, archive.len() as u64, "ASSET")
        .await;
    control
        .client
        .send_chunk_list(&file, &entries(&chunks))
        .await
        .unwrap();
    let url = {
        let (path, query) = file.chunks_url.as_deref().unwrap().split_once('?').unwrap();
        format!("{path}/bundle?{query}")
    };
    let (a, b) = (&chunks[0], &chunks[1]);
    let honest = bundle(&[(a.0, &a.2), (b.0, &b.2)]);

    // Cut short inside a frame, and inside a chunk's bytes.
    let (status, body) = put_bytes(&url, honest[..20].to_vec()).await;
    assert_eq!(status, 400, "{body}");
    assert!(detail(&body).contains("bundle ends"), "{body}");
    let (status, body) = put_bytes(&url, honest[..honest.len() - 1].to_vec()).await;
    assert_eq!(status, 400, "{body}");
    assert!(detail(&body).contains(&format!("chunk {}", b.0)), "{body}");
    // The second chunk's bytes are not its own: the first is not stored either.
    let mut wrong = b.2.clone();
    wrong[0] ^= 1;
    let (status, body) = put_bytes(&url, bundle(&[(a.0, &a.2), (b.0, &wrong)])).await;
    assert_eq!(status, 400, "{body}");
    assert!(detail(&body).contains("hash to"), "{body}");
    // A chunk the list does not name; a length the list does not give; nothing at all.
    let stranger = b"not in the list";
    let (status, body) = put_bytes(
        &url,
        bundle(&[(a.0, &a.2), (Blake3Hash::of(stranger), stranger)]),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(detail(&body).contains("not in the chunk list"), "{body}");
    let (status, body) = put_bytes(&url, bundle(&[(a.0, &a.2[1..])])).await;
    assert_eq!(status, 400, "{body}");
    assert!(detail(&body).contains("in the chunk list"), "{body}");
    let (status, body) = put_bytes(&url, Vec::new()).await;
    assert_eq!(status, 400, "{body}");
    assert!(detail(&body).contains("empty"), "{body}");
    let stored = walk(&data.path().join("store").join("chunks"));
    assert!(stored.is_empty(), "nothing stored half-way: {stored:?}");

    // The client sends what is missing in bundles; the version completes.
    let (status, body) = put_bytes(&url, honest).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["chunks"], 2, "{body}");
    let path = data.path().join("archive.zip");
    std::fs::write(&path, &archive).unwrap();
    let sent = control
        .client
        .send_missing_chunks(&file, &entries(&chunks), &path, 4)
        .await
        .unwrap();
    assert_eq!(
        sent.bytes,
        archive.len() as u64 - u64::from(a.1) - u64::from(b.1),
        "the two sent before are not sent again"
    );
    let (status, body) = control.commit(&file.id, &archive).await;
    assert_eq!(status, 200, "{body}");
    let settled = control.settled(&version).await;
    assert_eq!(settled["state"], "COMPLETE", "{settled}");
    assert_rebuilds(data.path(), &chunk_list(&control, &version).await, &archive);
    origin.shut_down().await;
}
