//! Issue 04's acceptance test with real processes: `packyard control`, `packyard origin` and
//! `packyard edge` on 127.0.0.1. A pack is uploaded through the admin API and the origin,
//! downloaded once through the edge (which fills its cache), then the origin and the control
//! plane are killed: the edge still serves everything it holds, byte for byte, with ranges,
//! and still checks tester tokens; and it does so again after it is itself SIGKILLed and
//! started while the control plane is still down (from the serving state it saved).

// Test helpers outside `#[test]` functions: a failed setup step should fail the test at once.
#![allow(clippy::unwrap_used)]
#![allow(
    clippy::cast_possible_truncation,
    reason = "test archives are a few MiB"
)]

use std::path::Path;
use std::time::Duration;

use packyard_admin_client::{AdminClient, BetaChannel, NewApp, NewPack, NewTesterToken};
use serde_json::Value;

#[path = "support/cluster_tls.rs"]
mod cluster_tls;
#[path = "support/procs.rs"]
mod procs;

use procs::{ControlNode, KEY, control_cluster, free_addrs, wait_for};

/// Builds a deterministic pack archive of a few MiB from real files; returns its bytes.
fn build_archive(dir: &Path) -> Vec<u8> {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("Textures")).unwrap();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..4 {
        let bytes: Vec<u8> = (0..700_000)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed.to_le_bytes()[0]
            })
            .collect();
        std::fs::write(src.join("Textures").join(format!("t{i}.ktx")), bytes).unwrap();
    }
    let manifest = src.join("Manifest.json");
    std::fs::write(
        &manifest,
        r#"{"assetPackID": "level-2", "downloadPolicy": {"onDemand": {}},
            "fileSelectors": [{"directory": "Textures"}], "platforms": ["iOS"]}"#,
    )
    .unwrap();
    let out = dir.join("level-2.tar");
    packyard_pack::build(&manifest, None, &out, packyard_pack::NoProgress).unwrap();
    std::fs::read(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edge_serves_what_it_holds_after_origin_and_control_plane_die_and_after_its_own_restart()
 {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let archive = build_archive(dir);
    cluster_tls::issue(
        dir,
        &[("control", "1"), ("origin", "1"), ("edge", "edge-1")],
    );
    // The control node names the origin's upload URL before the origin can start.
    let [upload] = free_addrs();
    let origin_url = format!("http://{upload}");
    let mut controls = control_cluster(dir, 1, &["--origin-url", &origin_url]).await;
    let ControlNode {
        proc: mut control,
        admin,
        raft,
    } = controls.remove(0);
    let (mut origin, chunks) = procs::origin(dir, &upload, &raft, &[]).await;
    let (mut edge, edge_addr) = procs::edge(dir, "edge", &raft, &chunks, &[]).await;
    let logs = || {
        [&control, &origin, &edge]
            .iter()
            .map(|p| p.log())
            .collect::<String>()
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let api = |path: &str| format!("http://{admin}{path}");

    wait_for(60, "the control plane answers", logs, || async {
        http.get(api("/v1/apps"))
            .bearer_auth(KEY)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;

    // Upload a pack through the admin API and the origin.
    let admin = AdminClient::with_http(http.clone(), &format!("http://{admin}"), KEY);
    let app = NewApp::new("Game", "com.example.offline");
    let app = admin.create_app(&app).await.unwrap().id;
    let pack = NewPack::new(&app, "level-2");
    let pack = admin.create_pack(&pack).await.unwrap().id;
    wait_for(30, "the origin is up", logs, || async {
        http.get(format!("http://{upload}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let timeout = Duration::from_secs(60);
    let uploaded = admin.upload_complete(&pack, "level-2.tar", &archive, timeout);
    uploaded
        .await
        .unwrap_or_else(|e| panic!("the version is COMPLETE: {e}\n{}", logs()));
    let token = NewTesterToken {
        app: app.clone(),
        channel: BetaChannel::Internal,
        expires_in_seconds: Some(3600),
    };
    let token = admin.create_tester_token(&token).await.unwrap().token;

    // Fill the edge with one full download (the edge learns of the version and its token
    // secret from the control plane, and its chunks from the origin).
    let pack_url = format!("http://{edge_addr}/apps/{app}/internal/level-2");
    let get = |range: Option<&'static str>| {
        let mut req = http.get(&pack_url).bearer_auth(&token);
        if let Some(r) = range {
            req = req.header("Range", r);
        }
        req.send()
    };
    wait_for(60, "the edge serves the new version", logs, || async {
        get(None).await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert_eq!(get(None).await.unwrap().bytes().await.unwrap(), archive[..]);

    // Everything behind the edge dies.
    origin.kill();
    control.kill();

    // Right after the kills, and again once the edge itself is SIGKILLed and started again
    // with the control plane still down: it serves from the state it saved, at once.
    for round in ["after the kills", "after the edge's own restart"] {
        if round != "after the kills" {
            // On the port it had: devices know it by its address.
            edge.restart();
            let readyz = format!("http://{edge_addr}/readyz");
            wait_for(
                20,
                "the restarted edge is ready",
                || edge.log(),
                || async {
                    http.get(&readyz)
                        .send()
                        .await
                        .is_ok_and(|r| r.status() == 200)
                },
            )
            .await;
        }
        let whole = get(None).await.unwrap();
        assert_eq!(whole.status(), 200);
        assert_eq!(
            whole.bytes().await.unwrap(),
            archive[..],
            "byte for byte with origin and control plane gone, {round}"
        );
        let part = get(Some("bytes=1000-199999")).await.unwrap();
        assert_eq!(part.status(), 206);
        assert_eq!(part.bytes().await.unwrap(), archive[1000..200_000]);
        let tail = get(Some("bytes=-4096")).await.unwrap();
        assert_eq!(tail.bytes().await.unwrap(), archive[archive.len() - 4096..]);
        let manifest = http
            .get(format!(
                "http://{edge_addr}/apps/{app}/internal/manifest?platform=iOS&os=27.0"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(manifest.status(), 200);
        let manifest: Value = manifest.json().await.unwrap();
        assert_eq!(
            manifest["assetPacks"][0]["downloadSize"],
            archive.len() as u64
        );
        let no_token = http.get(&pack_url).send().await.unwrap();
        assert_eq!(
            no_token.status(),
            401,
            "pre-release bytes still need a token while isolated, {round}"
        );
    }
    drop((control, origin));
}
