//! A real multi-range delta client against the edge: zsync 0.6.2 (Debian's), seeded with
//! version 1 of a pack, builds version 2 from the edge's immutable URL. zsync asks for
//! several ranges per request and reads the `multipart/byteranges` answer; it loops forever
//! on a body that does not open with CRLF before the first boundary (nginx sends one), so
//! this test runs it under a deadline and checks the bytes it built. zsync talks to the edge
//! through a proxy that keeps every request head and answer head, so the test sees that
//! requests did name several ranges and were answered `multipart/byteranges`.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

#[path = "support/dev.rs"]
mod dev;
#[path = "support/procs.rs"]
mod procs;

use dev::{Dev, TestApp};

/// Files of the pack, and which of them version 2 rewrites: spread through the archive, so
/// version 2 differs from version 1 in several separate byte ranges.
const FILES: u64 = 40;
const REWRITTEN: [u64; 4] = [3, 14, 25, 36];

/// Builds the pack with every file from `seed`, except the rewritten ones in version 2.
fn build(dir: &Path, version: u64) -> Vec<u8> {
    let files = (0..FILES).map(|i| {
        let seed = if version == 2 && REWRITTEN.contains(&i) {
            1_000 + i
        } else {
            i + 1
        };
        (seed, 40_000 + usize::try_from(i * 1_777 % 60_000).unwrap())
    });
    procs::build_pack(
        dir,
        &format!("v{version}"),
        "level-1",
        r#"{"onDemand": {}}"#,
        files,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zsync_seeded_with_version_1_builds_version_2_from_the_edge_with_multi_range_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (v1, v2) = (build(dir, 1), build(dir, 2));
    let dev = Dev::start(dir, &[]);
    let t = TestApp::new(&dev, "com.example.zsync").await;
    let (http, app, token) = (t.http.clone(), t.id.clone(), t.token.clone());
    let pack = t.pack("level-1").await;
    for bytes in [&v1, &v2] {
        t.upload(&dev, &pack, bytes).await;
    }
    // Version 2's immutable URL; the internal channel serves it to the token's holder.
    let direct = format!(
        "http://{}/apps/{app}/packs/level-1/versions/2?token={token}",
        dev.edge
    );
    // What zsync is given: the same URL through the recording proxy.
    let proxy = Proxy::start(&dev.edge).await;
    let url = format!(
        "http://{}/apps/{app}/packs/level-1/versions/2?token={token}",
        proxy.addr
    );
    dev::wait_for(60, "the edge serves version 2", &dev, || async {
        http.head(&direct)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;

    // The device client reads the edge's own manifest: version 2, its size and hash.
    let manifest = http
        .get(format!(
            "http://{}/apps/{app}/internal/manifest?platform=iOS&os=27.0",
            dev.edge
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let manifest = packyard_client::DeviceManifest::from_json(&manifest).unwrap();
    let listed = manifest.pack("level-1").unwrap();
    assert_eq!(listed.version, 2);
    assert_eq!(listed.download_size, v2.len() as u64);
    assert_eq!(listed.archive_hash, packyard_core::Blake3Hash::of(&v2));

    let control = dir.join("v2.tar.zsync");
    let made = Command::new("zsyncmake")
        .arg("-u")
        .arg(&url)
        .arg("-o")
        .arg(&control)
        .arg(dir.join("v2.tar"))
        .output()
        .expect("zsyncmake runs (scripts/install-deps.sh installs it)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let out = dir.join("built.tar");
    let bytes = "packyard_edge_bytes_served_total";
    let served_before = metric(&http, &dev, bytes, "").await;
    // zsync that cannot read the answer repeats the same request forever: a deadline.
    let run = Command::new("timeout")
        .arg("60")
        .arg("zsync")
        .arg("-i")
        .arg(dir.join("v1.tar"))
        .arg("-o")
        .arg(&out)
        .arg(&control)
        .current_dir(dir)
        .output()
        .expect("zsync runs (scripts/install-deps.sh installs it)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        run.status.success(),
        "zsync finishes: {said}\n{}",
        dev.log()
    );
    assert!(
        std::fs::read(&out).unwrap() == v2,
        "zsync built version 2 byte for byte: {said}"
    );
    let served_after = metric(&http, &dev, bytes, "").await;

    // It fetched only what version 1 lacks: a small part of version 2, as ranges (206).
    let served = served_after - served_before;
    assert!(
        served > 0 && served < v2.len() as u64 / 2,
        "zsync fetched {served} of {} bytes: {said}",
        v2.len()
    );
    let partial = metric(
        &http,
        &dev,
        "packyard_edge_requests_total",
        "status=\"206\"",
    )
    .await;
    assert!(partial >= 1, "zsync's requests were answered 206: {said}");
    // And they were multi-range requests, answered with several parts.
    let (asked, answered) = proxy.heads();
    let ranges: Vec<usize> = asked
        .lines()
        .filter_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("range")
                .then(|| value.matches(',').count() + 1)
        })
        .collect();
    assert!(
        ranges.iter().any(|&n| n >= 2),
        "zsync asked for several ranges in one request: ranges per request {ranges:?}"
    );
    assert!(
        answered.contains("multipart/byteranges"),
        "the edge answered with several parts: {}",
        answered.chars().take(2_000).collect::<String>()
    );
}

/// A TCP proxy to the edge that keeps what passes each way (zsync's requests are small;
/// answers are kept only up to each part's head, as text, which is all the test reads).
struct Proxy {
    addr: String,
    up: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    down: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Proxy {
    async fn start(edge: &str) -> Self {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        type Kept = std::sync::Arc<std::sync::Mutex<Vec<u8>>>;
        let (up, down): (Kept, Kept) = (Kept::default(), Kept::default());
        let (edge, kept_up, kept_down) = (
            edge.to_owned(),
            std::sync::Arc::clone(&up),
            std::sync::Arc::clone(&down),
        );
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = tokio::net::TcpStream::connect(&edge).await.unwrap();
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let (ku, kd) = (
                    std::sync::Arc::clone(&kept_up),
                    std::sync::Arc::clone(&kept_down),
                );
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 << 10];
                    while let Ok(n @ 1..) = cr.read(&mut buf).await {
                        ku.lock().unwrap().extend_from_slice(&buf[..n]);
                        if sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 << 10];
                    while let Ok(n @ 1..) = sr.read(&mut buf).await {
                        // Heads are text; bodies are kept too, as lossy text: small packs.
                        kd.lock().unwrap().extend_from_slice(&buf[..n]);
                        if cw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Self { addr, up, down }
    }

    /// What passed each way, as (lossy) text: requests, and answers.
    fn heads(&self) -> (String, String) {
        let text = |b: &std::sync::Mutex<Vec<u8>>| {
            String::from_utf8_lossy(&b.lock().unwrap()).into_owned()
        };
        (text(&self.up), text(&self.down))
    }
}

/// The sum of the edge's metric `name` over the series whose labels contain `label`.
async fn metric(http: &reqwest::Client, dev: &Dev, name: &str, label: &str) -> u64 {
    procs::edge_metric(http, &dev.edge, name, label).await
}
