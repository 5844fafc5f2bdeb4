//! A device's delta update against its peer, on the issue's shape: a `packyard pack build`
//! archive of 200 files of 40-200 KB, 10 of them rewritten in version 2. `packyard device
//! sync`, holding version 1, builds version 2 byte for byte and fetches (manifest, chunk
//! list, piece lists and ranges, multipart framing included) at most 10 % of it, and no
//! more than zsync 0.6.2 seeded with version 1 fetches from the same edge for the same
//! update (its control file, made locally, counted as fetched; its ranges counted by the
//! edge without their framing, so the comparison leans zsync's way).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

#[path = "support/dev.rs"]
mod dev;
#[path = "support/procs.rs"]
mod procs;

use dev::{Dev, TestApp};

const FILES: u64 = 200;

/// The rewritten files, spread through the archive.
fn rewritten(i: u64) -> bool {
    i % 20 == 7
}

/// Version `version` of the pack: file sizes spread over 40-200 KB, the same in both.
fn build(dir: &Path, version: u64) -> Vec<u8> {
    let files = (0..FILES).map(|i| {
        let seed = if version == 2 && rewritten(i) {
            50_000 + i
        } else {
            i + 1
        };
        (seed, 40_000 + usize::try_from(i * 7_919 % 160_000).unwrap())
    });
    procs::build_pack(
        dir,
        &format!("v{version}"),
        "level-1",
        r#"{"onDemand": {}}"#,
        files,
    )
}

fn sync(dev: &Dev, device: &Path, app: &str, token: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(["device", "sync", "--edge", &format!("http://{}", dev.edge)])
        .args(["--app", app, "--channel", "internal", "--token", token])
        .args(["--pack", "level-1", "--json", "--dir"])
        .arg(device)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        dev.log()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The edge's `packyard_edge_bytes_served_total`: archive bytes sent, without framing.
async fn served(http: &reqwest::Client, dev: &Dev) -> u64 {
    procs::edge_metric(http, &dev.edge, "packyard_edge_bytes_served_total", "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_of_5_percent_of_files_fetches_at_most_10_percent_and_no_more_than_zsync() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (v1, v2) = (build(dir, 1), build(dir, 2));
    let dev = Dev::start(dir, &[]);
    let t = TestApp::new(&dev, "com.example.delta").await;
    let (http, app, token) = (t.http.clone(), t.id.clone(), t.token.clone());
    let pack = t.pack("level-1").await;
    let manifest_url = format!(
        "http://{}/apps/{app}/internal/manifest?platform=iOS&os=27.0",
        dev.edge
    );
    let lists = |version: u64| {
        let (http, token, url) = (http.clone(), token.clone(), manifest_url.clone());
        async move {
            match http.get(&url).bearer_auth(&token).send().await {
                Ok(r) => r
                    .json::<Value>()
                    .await
                    .is_ok_and(|m| m["assetPacks"][0]["version"].as_u64() == Some(version)),
                Err(_) => false,
            }
        }
    };

    let device = dir.join("device");
    t.upload(&dev, &pack, &v1).await;
    dev::wait_for(60, "the edge lists version 1", &dev, || lists(1)).await;
    sync(&dev, &device, &app, &token);
    assert!(std::fs::read(device.join("level-1/pack")).unwrap() == v1);

    t.upload(&dev, &pack, &v2).await;
    dev::wait_for(60, "the edge lists version 2", &dev, || lists(2)).await;
    let report = sync(&dev, &device, &app, &token);
    assert!(
        std::fs::read(device.join("level-1/pack")).unwrap() == v2,
        "version 2 byte for byte"
    );
    let fetched = report["transfer"]["fetched"].as_u64().unwrap();
    let listed = report["transfer"]["listed"].as_u64().unwrap();
    let size = v2.len() as u64;

    // zsync, seeded with version 1, builds version 2 from the same edge's immutable URL.
    let url = format!(
        "http://{}/apps/{app}/packs/level-1/versions/2?token={token}",
        dev.edge
    );
    let control = dir.join("v2.tar.zsync");
    let made = Command::new("zsyncmake")
        .arg("-u")
        .arg(&url)
        .arg("-o")
        .arg(&control)
        .arg(dir.join("v2.tar"))
        .output()
        .expect("zsyncmake runs (scripts/install-deps.sh installs it)");
    assert!(made.status.success(), "{made:?}");
    let before = served(&http, &dev).await;
    let out = dir.join("zsync-built.tar");
    let run = Command::new("timeout")
        .args(["120", "zsync", "-q", "-i"])
        .arg(dir.join("v1.tar"))
        .arg("-o")
        .arg(&out)
        .arg(&control)
        .current_dir(dir)
        .output()
        .expect("zsync runs (scripts/install-deps.sh installs it)");
    assert!(run.status.success(), "zsync finishes: {run:?}");
    assert!(std::fs::read(&out).unwrap() == v2, "zsync built version 2");
    let zsync = (served(&http, &dev).await - before) + std::fs::metadata(&control).unwrap().len();

    eprintln!(
        "update of {size} bytes: the device fetched {fetched} ({listed} of it lists), \
         {:.2} %; zsync {zsync}, {:.2} %",
        fetched as f64 * 100.0 / size as f64,
        zsync as f64 * 100.0 / size as f64
    );
    assert!(
        fetched * 10 <= size,
        "the device fetched {fetched} of {size} bytes: more than 10 %"
    );
    assert!(
        fetched <= zsync,
        "the device fetched {fetched} bytes, zsync {zsync} for the same update"
    );
}
