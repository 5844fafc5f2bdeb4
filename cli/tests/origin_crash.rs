//! An origin process SIGKILLed while it processes a version: it had stored some of the
//! version's chunks and reported nothing. Started again on the same data, it processes the
//! version to the end, and an edge serves the archive byte for byte from its chunks.
//!
//! The origin is started with its processing held after a few chunks (a hidden flag for
//! tests of the process), so the version is caught part-way however fast the machine is,
//! and the kill (SIGKILL: no shutdown code runs) lands in the middle of processing.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

#[path = "support/cluster_tls.rs"]
mod cluster_tls;
#[path = "support/procs.rs"]
mod procs;

use procs::{ControlNode, KEY, control_cluster, free_addrs, noise, operator, wait_for};

/// The chunks the first origin stores before its processing is held.
const HELD_AFTER: usize = 5;

fn files_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .map(|p| if p.is_dir() { files_under(&p) } else { 1 })
        .sum()
}

async fn state(http: &reqwest::Client, admin: &str, version: &str) -> String {
    let v: serde_json::Value = http
        .get(format!(
            "http://{admin}/v1/backgroundAssetVersions/{version}"
        ))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["data"]["attributes"]["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_killed_while_processing_finishes_the_version_after_its_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    cluster_tls::issue(
        dir,
        &[("control", "1"), ("origin", "1"), ("edge", "edge-1")],
    );
    // The control node names the origin's upload URL before the origin can start.
    let [upload] = free_addrs();
    let origin_url = format!("http://{upload}");
    let mut controls = control_cluster(dir, 1, &["--origin-url", &origin_url]).await;
    let ControlNode {
        proc: control,
        admin,
        raft,
    } = controls.remove(0);
    let held = HELD_AFTER.to_string();
    let hold = ["--hold-processing-after-chunks", held.as_str()];
    let (mut origin, chunks) = procs::origin(dir, &upload, &raft, &hold).await;
    let (edge, edge_addr) = procs::edge(dir, "edge", &raft, &chunks, &[]).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    // 24 MiB that no chunk of which repeats: hundreds of chunks to store.
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("world.bin"),
        noise(0x2545_F491_4F6C_DD1D, 24 << 20),
    )
    .unwrap();
    std::fs::write(
        src.join("Manifest.json"),
        r#"{"assetPackID": "world", "downloadPolicy": {"onDemand": {}},
            "fileSelectors": [{"file": "world.bin"}], "platforms": ["iOS"]}"#,
    )
    .unwrap();
    let archive_path = dir.join("world.tar");
    packyard_pack::build(
        &src.join("Manifest.json"),
        None,
        &archive_path,
        packyard_pack::NoProgress,
    )
    .unwrap();
    let archive = std::fs::read(&archive_path).unwrap();

    let app = operator(
        &admin,
        &[
            "apps",
            "create",
            "--name",
            "World",
            "--bundle-id",
            "com.example.crash",
            "--primary-language",
            "en",
        ],
    );
    let pack = operator(&admin, &["packs", "create", "--app", &app, "world"]);
    let store = dir.join("origin").join("store").join("chunks");
    assert_eq!(files_under(&store), 0);
    let version = operator(
        &admin,
        &[
            "versions",
            "upload",
            "--pack",
            &pack,
            archive_path.to_str().unwrap(),
            "--no-wait",
            // In parts, so that processing is what stores the chunks.
            "--whole",
        ],
    );

    // Processing holds once the first chunks are stored: caught part-way, then killed.
    let stored = wait_for(
        120,
        "the first chunks stored",
        || origin.log(),
        || async {
            let n = files_under(&store);
            (n >= HELD_AFTER).then_some(n)
        },
    )
    .await;
    assert_eq!(
        stored, HELD_AFTER,
        "processing held after {HELD_AFTER} chunks"
    );
    assert_eq!(
        state(&http, &admin, &version).await,
        "PROCESSING",
        "caught part-way"
    );
    assert_eq!(files_under(&store), HELD_AFTER, "held where it was");
    origin.kill();
    assert_eq!(
        state(&http, &admin, &version).await,
        "PROCESSING",
        "a killed origin reports nothing"
    );

    // Again on the ports it had (the edge and the control plane know it by them), and
    // without the hold.
    origin.drop_flag("--hold-processing-after-chunks");
    origin.restart();
    let logs = || format!("{}{}{}", control.log(), origin.log(), edge.log());
    wait_for(
        120,
        "the restarted origin completes the version",
        logs,
        || async { state(&http, &admin, &version).await == "COMPLETE" },
    )
    .await;
    assert!(
        files_under(&store) > HELD_AFTER,
        "processing went on after the {HELD_AFTER} chunks stored before the kill"
    );
    let token = operator(
        &admin,
        &[
            "tester-tokens",
            "create",
            "--app",
            &app,
            "--channel",
            "internal",
        ],
    );
    let url = format!("http://{edge_addr}/apps/{app}/internal/world");
    wait_for(
        60,
        "the edge serves the archive byte for byte",
        logs,
        || async {
            match http.get(&url).bearer_auth(&token).send().await {
                Ok(r) if r.status() == 200 => r.bytes().await.is_ok_and(|b| b[..] == archive[..]),
                _ => false,
            }
        },
    )
    .await;
}
