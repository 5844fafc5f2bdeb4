//! No single control node is a point of failure for the nodes that follow the catalog: an
//! origin and an edge given all three control-plane members start on the first; that node
//! is SIGKILLed; a pack uploaded through another member is then processed by the origin
//! (which asks about the upload and reports it to the members left) and served by the edge
//! (whose watch stream moved to another member), byte for byte.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

#[path = "support/cluster_tls.rs"]
mod cluster_tls;
#[path = "support/procs.rs"]
mod procs;

use procs::{Proc, control_cluster, free_addrs, noise, operator, wait_for};

/// Builds pack `identifier` from a file of `size` bytes made from `seed`; returns its path
/// and bytes.
fn build_pack(dir: &Path, identifier: &str, seed: u64, size: usize) -> (String, Vec<u8>) {
    let src = dir.join(identifier);
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("level.bin"), noise(seed, size)).unwrap();
    let manifest = src.join("Manifest.json");
    std::fs::write(
        &manifest,
        format!(
            r#"{{"assetPackID": "{identifier}", "downloadPolicy": {{"onDemand": {{}}}},
                "fileSelectors": [{{"file": "level.bin"}}], "platforms": ["iOS"]}}"#
        ),
    )
    .unwrap();
    let out = dir.join(format!("{identifier}.tar"));
    packyard_pack::build(&manifest, None, &out, packyard_pack::NoProgress).unwrap();
    let archive = std::fs::read(&out).unwrap();
    (out.to_str().unwrap().to_owned(), archive)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_and_edge_move_to_another_control_node_when_the_one_they_follow_is_killed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    cluster_tls::issue(
        dir,
        &[
            ("control", "1"),
            ("control", "2"),
            ("control", "3"),
            ("origin", "1"),
            ("edge", "edge-1"),
            ("operator", "test"),
        ],
    );
    // Control nodes name the origin's upload URL before the origin can start.
    let [upload] = free_addrs();
    let origin_url = format!("http://{upload}");
    let mut controls = control_cluster(dir, 3, &["--origin-url", &origin_url]).await;
    let (a1, a2) = (controls[0].admin.clone(), controls[1].admin.clone());
    let members = controls
        .iter()
        .map(|c| c.raft.clone())
        .collect::<Vec<_>>()
        .join(",");
    let (origin, chunks) = procs::origin(dir, &upload, &members, &[]).await;
    let (edge, edge_addr) = procs::edge(dir, "edge", &members, &chunks, &[]).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let app = operator(
        &a1,
        &[
            "apps",
            "create",
            "--name",
            "Game",
            "--bundle-id",
            "com.example.failover",
            "--primary-language",
            "en-US",
        ],
    );
    let token = operator(
        &a1,
        &[
            "tester-tokens",
            "create",
            "--app",
            &app,
            "--channel",
            "internal",
        ],
    );
    let serves = |identifier: &str, archive: Vec<u8>, logs: String| {
        let url = format!("http://{edge_addr}/apps/{app}/internal/{identifier}");
        let (http, token) = (http.clone(), token.clone());
        async move {
            wait_for(
                60,
                "the edge serves the pack byte for byte",
                || logs.clone(),
                || async {
                    match http.get(&url).bearer_auth(&token).send().await {
                        Ok(r) if r.status() == 200 => {
                            r.bytes().await.is_ok_and(|b| b[..] == archive[..])
                        }
                        _ => false,
                    }
                },
            )
            .await;
        }
    };

    let (path, first) = build_pack(dir, "level-1", 1, 600_000);
    let pack = operator(&a1, &["packs", "create", "--app", &app, "level-1"]);
    operator(&a1, &["versions", "upload", "--pack", &pack, &path]);
    serves("level-1", first.clone(), edge.log()).await;

    // The first member of both lists, which both started on, dies.
    drop(controls.remove(0));
    let logs = || {
        controls
            .iter()
            .map(|c| &c.proc)
            .chain([&origin, &edge])
            .map(Proc::log)
            .collect::<String>()
    };
    wait_for(
        60,
        "the two control nodes left have a leader",
        logs,
        || async {
            http.get(format!("http://{a2}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        },
    )
    .await;

    let (path, second) = build_pack(dir, "level-2", 2, 500_000);
    let pack = operator(&a2, &["packs", "create", "--app", &app, "level-2"]);
    // `versions upload` waits until the origin has processed the version: the origin asked
    // about the upload and reported it through a member it had not used before.
    operator(&a2, &["versions", "upload", "--pack", &pack, &path]);
    serves("level-2", second, logs()).await;
    serves("level-1", first, logs()).await;
    for (who, log) in [("origin", origin.log()), ("edge", edge.log())] {
        assert!(
            log.contains("moving to another member"),
            "the {who} says it moved on:\n{log}"
        );
    }
}
