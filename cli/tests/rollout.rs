//! Issue 07's acceptance test with real processes on 127.0.0.1: one `packyard control`, one
//! `packyard origin`, and three `packyard edge`s (two in `eu`, one in `us`). Two versions of a
//! pack are uploaded and accepted; version 1 is released everywhere, then version 2 is rolled
//! out with a three-stage plan. At each step many device ids ask every edge, through the
//! manifest and the pack URL, which version they get: at each stage, while paused, after an
//! edge restarts mid-rollout, after a roll back, and once a second rollout completes.
//!
//! Which device should get what is computed from the plan and `rollout::bucket`; the test
//! also checks that the shares come out near the plan's percentages, and that a device never
//! loses the new version when a stage widens.

// Test helpers outside `#[test]` functions: a failed setup step should fail the test at once.
#![allow(clippy::unwrap_used)]
#![allow(
    clippy::cast_possible_truncation,
    reason = "test archives are a few MiB"
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use packyard_admin_client::{
    AdminClient, NewApp, NewPack, ReviewTrack, Role, RolloutAction, action_document,
};
use packyard_core::rollout::bucket;
use reqwest::Method;
use serde_json::{Value, json};

#[path = "support/cluster_tls.rs"]
mod cluster_tls;
#[path = "support/procs.rs"]
mod procs;

use procs::{ControlNode, KEY, Proc, control_cluster, free_addrs, wait_for};

/// How many device ids ask each edge at each step.
const DEVICES: usize = 150;

/// Builds a deterministic pack archive of a few MiB; `variant` changes one of its files, so
/// two variants share most chunks, as consecutive versions do.
fn build_archive(dir: &Path, variant: u64) -> Vec<u8> {
    let src = dir.join(format!("src-{variant}"));
    std::fs::create_dir_all(src.join("Textures")).unwrap();
    for i in 0..3u64 {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ i ^ if i == 0 { variant << 32 } else { 0 };
        let bytes: Vec<u8> = (0..500_000)
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
    let out = dir.join(format!("level-2-{variant}.tar"));
    packyard_pack::build(&manifest, None, &out, packyard_pack::NoProgress).unwrap();
    std::fs::read(out).unwrap()
}

fn rel(kind: &str, id: &str) -> Value {
    json!({"data": {"type": kind, "id": id}})
}

/// Runs `packyard ARGS` with the operator's key; returns whether it succeeded, and its
/// standard output and error together.
fn cli(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(args)
        .env("PACKYARD_ADMIN_KEY", KEY)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The admin API as the operator (and, for reviews, as a Reviewer).
struct Admin {
    client: AdminClient,
}

impl Admin {
    async fn call(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        match self.client.with_key(key).send(method, path, body).await {
            Ok(answer) => (answer.status, answer.document),
            Err(e) => (0, json!(e.to_string())),
        }
    }

    async fn ok(&self, method: Method, path: &str, body: Value) -> Value {
        let (s, v) = self.call(KEY, method, path, Some(body)).await;
        assert!((200..300).contains(&s), "{path}: {s} {v}");
        v
    }

    async fn get(&self, path: &str) -> Value {
        let (s, v) = self.call(KEY, Method::GET, path, None).await;
        assert_eq!(s, 200, "{path}: {v}");
        v
    }

    /// Uploads `archive` as a new version of `pack` and waits until it is COMPLETE.
    async fn upload(&self, pack: &str, archive: &[u8], logs: &dyn Fn() -> String) -> String {
        let timeout = Duration::from_secs(90);
        let upload = self
            .client
            .upload_complete(pack, "level-2.tar", archive, timeout);
        upload
            .await
            .unwrap_or_else(|e| panic!("the version is COMPLETE: {e}\n{}", logs()))
            .id
    }

    /// Takes `version` through store review to ACCEPTED.
    async fn accept(&self, version: &str, reviewer: &AdminClient) {
        let accepted = self.client.accept(reviewer, version, ReviewTrack::AppStore);
        accepted.await.unwrap();
    }

    async fn act(&self, rollout: &str, action: RolloutAction) -> (u16, Value) {
        let path = format!("/v1/rollouts/{rollout}");
        let body = action_document(rollout, action);
        self.call(KEY, Method::PATCH, &path, Some(body)).await
    }
}

/// One edge as devices see it.
struct EdgeUnderTest {
    name: &'static str,
    region: &'static str,
    addr: String,
}

/// What a device is expected to get: for each region, the share of devices (percent) the
/// stage in force gives version 2; regions not listed get version 1.
type Expectation = BTreeMap<&'static str, u32>;

fn expected_version(app: &str, pack: &str, share: u32, device: Option<&str>) -> u32 {
    let new = match device {
        Some(d) => bucket(app, pack, d) < share * 100,
        None => share == 100,
    };
    if new { 2 } else { 1 }
}

/// Asks `edge`, for every device (and for a device without an id), which version the store
/// manifest lists and which bytes the store pack URL serves; returns the first disagreement
/// with `expect`, if any. `etags` are the ETags of versions 1 and 2.
async fn check_edge(
    http: &reqwest::Client,
    edge: &EdgeUnderTest,
    app: &str,
    pack: &str,
    expect: &Expectation,
    etags: &BTreeMap<u32, String>,
) -> Result<usize, String> {
    let share = expect.get(edge.region).copied().unwrap_or(0);
    let devices: Vec<Option<String>> = (0..DEVICES)
        .map(|i| Some(format!("device-{i:04}")))
        .chain([None])
        .collect();
    let mut new = 0;
    for (i, device) in devices.iter().enumerate() {
        let want = expected_version(app, pack, share, device.as_deref());
        let query = device
            .as_ref()
            .map(|d| format!("&device={d}"))
            .unwrap_or_default();
        let url = format!(
            "http://{}/apps/{app}/store/manifest?platform=iOS&os=27.0{query}",
            edge.addr
        );
        let manifest: Value = match http.get(&url).send().await {
            Ok(r) if r.status() == 200 => r.json().await.map_err(|e| e.to_string())?,
            Ok(r) => return Err(format!("{}: manifest {}", edge.name, r.status())),
            Err(e) => return Err(format!("{}: {e}", edge.name)),
        };
        let listed = manifest["assetPacks"][0]["version"].as_u64().unwrap_or(0);
        if listed != u64::from(want) {
            return Err(format!(
                "{} ({}): {device:?} is listed version {listed}, expected {want}",
                edge.name, edge.region
            ));
        }
        // Every third device also downloads by the pack URL; half of those send the id in the
        // header instead of the query.
        if i % 3 == 0 {
            let mut req = http.head(format!("http://{}/apps/{app}/store/level-2", edge.addr));
            req = match device {
                Some(d) if i % 2 == 0 => req.header("X-Packyard-Device", d.as_str()),
                Some(d) => req.query(&[("device", d.as_str())]),
                None => req,
            };
            let resp = req.send().await.map_err(|e| e.to_string())?;
            let etag = resp
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            if etag != etags[&want] {
                return Err(format!(
                    "{}: the pack URL gives {device:?} {etag}, expected version {want} ({})",
                    edge.name, etags[&want]
                ));
            }
        }
        new += usize::from(want == 2 && device.is_some());
    }
    Ok(new)
}

/// The edges and what devices are checked against.
struct Devices<'a> {
    http: &'a reqwest::Client,
    edges: &'a [EdgeUnderTest],
    app: &'a str,
    pack: &'a str,
    /// The ETags of versions 1 and 2.
    etags: &'a BTreeMap<u32, String>,
}

impl Devices<'_> {
    /// Waits until every edge serves every device as `expect` says; returns how many of the
    /// devices got version 2 at each edge.
    async fn expect(
        &self,
        what: &str,
        expect: &Expectation,
        logs: &dyn Fn() -> String,
    ) -> BTreeMap<&'static str, usize> {
        wait_for(60, what, logs, || async move {
            let mut counts = BTreeMap::new();
            for edge in self.edges {
                let new =
                    check_edge(self.http, edge, self.app, self.pack, expect, self.etags).await?;
                counts.insert(edge.name, new);
            }
            Ok::<_, String>(counts)
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_get_versions_by_region_and_bucket_through_a_three_stage_rollout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (v1_archive, v2_archive) = (build_archive(dir, 1), build_archive(dir, 2));
    cluster_tls::issue(
        dir,
        &[
            ("control", "1"),
            ("origin", "1"),
            ("edge", "eu-1"),
            ("edge", "eu-2"),
            ("edge", "us-1"),
        ],
    );
    // The control node names the origin's upload URL before the origin can start.
    let [upload] = free_addrs();
    // A short edge lease, so heartbeats (every lease / 3) show up in the status quickly.
    let config = dir.join("control.toml");
    std::fs::write(&config, "[api]\nedge_lease_ms = 1500\n").unwrap();
    let origin_url = format!("http://{upload}");
    let control_flags = [
        "--config",
        config.to_str().unwrap(),
        "--origin-url",
        &origin_url,
    ];
    let mut controls = control_cluster(dir, 1, &control_flags).await;
    let ControlNode {
        proc: control,
        admin: admin_addr,
        raft,
    } = controls.remove(0);
    let (origin, chunks) = procs::origin(dir, &upload, &raft, &[]).await;
    let mut procs = vec![control, origin];
    let mut edges = Vec::new();
    for (name, region) in [("eu-1", "eu"), ("eu-2", "eu"), ("us-1", "us")] {
        let flags = ["--edge-id", name, "--region", region];
        let (edge, addr) = procs::edge(dir, name, &raft, &chunks, &flags).await;
        edges.push(EdgeUnderTest { name, region, addr });
        procs.push(edge);
    }
    let logs_of = |procs: &[Proc]| procs.iter().map(Proc::log).collect::<String>();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let admin = Admin {
        client: AdminClient::with_http(http.clone(), &format!("http://{admin_addr}"), KEY),
    };
    let snapshot_logs = || String::new();
    wait_for(60, "the control plane answers", &snapshot_logs, || async {
        match admin.call(KEY, Method::GET, "/v1/apps", None).await {
            (200, _) => Ok(()),
            (s, v) => Err(format!("{s} {v}")),
        }
    })
    .await;
    wait_for(30, "the origin is up", &snapshot_logs, || async {
        match http.get(format!("http://{upload}/healthz")).send().await {
            Ok(r) if r.status() == 200 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    // Every edge registers, so its region may be named in a plan.
    wait_for(60, "every edge registers", &snapshot_logs, || async {
        let v = admin.get("/v1/regions").await;
        let names: Vec<&str> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["id"].as_str())
            .collect();
        let edges = admin.get("/v1/edges").await;
        let n = edges["data"].as_array().map_or(0, Vec::len);
        if names == ["eu", "us"] && n == 3 {
            Ok(())
        } else {
            Err(format!("regions {names:?}, {n} edges"))
        }
    })
    .await;

    // An app, a Reviewer, a pack with two accepted versions; version 1 released everywhere.
    let app = NewApp::new("Game", "com.example.rollout");
    let app = admin.client.create_app(&app).await.unwrap().id;
    let reviewer = admin
        .client
        .member(&app, Role::Reviewer, "Rev", "rev@example.com");
    let reviewer = reviewer.await.unwrap();
    let pack = NewPack::new(&app, "level-2");
    let pack = admin.client.create_pack(&pack).await.unwrap().id;
    let logs = || logs_of(&procs);
    let v1 = admin.upload(&pack, &v1_archive, &logs).await;
    let v2 = admin.upload(&pack, &v2_archive, &logs).await;
    admin.accept(&v1, &reviewer).await;
    admin.accept(&v2, &reviewer).await;
    let release = |version: &str, attributes: Value| {
        json!({"data": {"type": "rollouts", "attributes": attributes,
            "relationships": {"backgroundAssetVersion": rel("backgroundAssetVersions", version)}}})
    };
    let v = admin
        .ok(Method::POST, "/v1/rollouts", release(&v1, json!({})))
        .await;
    assert_eq!(v["data"]["attributes"]["state"], "COMPLETED");
    // The strong ETag is the archive's BLAKE3 (R12).
    let etag = |archive: &[u8]| format!("\"{}\"", packyard_core::Blake3Hash::of(archive).to_hex());
    let etags = BTreeMap::from([(1, etag(&v1_archive)), (2, etag(&v2_archive))]);
    let devices = Devices {
        http: &http,
        edges: &edges,
        app: &app,
        pack: &pack,
        etags: &etags,
    };
    let everyone_v1 = Expectation::new();
    devices
        .expect("every device gets version 1", &everyone_v1, &logs)
        .await;

    // Stage 1: eu at 30 %.
    let plan = json!({"stages": [
        {"regions": ["eu"], "percentage": 30},
        {"regions": ["eu", "us"], "percentage": 60},
        {"regions": ["*"], "percentage": 100},
    ]});
    let v = admin
        .ok(Method::POST, "/v1/rollouts", release(&v2, plan.clone()))
        .await;
    let rollout = v["data"]["id"].as_str().unwrap().to_owned();
    let stage1 = Expectation::from([("eu", 30)]);
    let counts = devices.expect("stage 1: eu at 30 %", &stage1, &logs).await;
    for edge in ["eu-1", "eu-2"] {
        let share = counts[edge] * 100 / DEVICES;
        assert!(
            (15..=45).contains(&share),
            "{edge}: {share} % got version 2"
        );
    }
    assert_eq!(counts["us-1"], 0);
    // us is not on yet, but the rollout will reach it: its edge prefetches version 2's chunks.
    wait_for(
        60,
        "every edge holds version 2 before its stage",
        &logs,
        || async {
            let v = admin.get(&format!("/v1/rollouts/{rollout}")).await;
            let holding: Vec<&str> = v["data"]["attributes"]["regions"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| r["edgesWithChunks"].as_array().unwrap())
                .filter_map(Value::as_str)
                .collect();
            if holding.len() == 3 {
                Ok(())
            } else {
                Err(format!("{v}"))
            }
        },
    )
    .await;

    // Stage 2: eu and us at 60 %. No device that had version 2 goes back.
    let (s, v) = admin.act(&rollout, RolloutAction::Advance).await;
    assert_eq!(s, 200, "{v}");
    let stage2 = Expectation::from([("eu", 60), ("us", 60)]);
    let counts = devices
        .expect("stage 2: eu and us at 60 %", &stage2, &logs)
        .await;
    for (edge, n) in &counts {
        let share = n * 100 / DEVICES;
        assert!(
            (45..=75).contains(&share),
            "{edge}: {share} % got version 2"
        );
    }
    for i in 0..DEVICES {
        let d = format!("device-{i:04}");
        if expected_version(&app, &pack, 30, Some(&d)) == 2 {
            assert_eq!(expected_version(&app, &pack, 60, Some(&d)), 2, "{d}");
        }
    }

    // Paused (through `packyard rollout`): the stage stays in force; advancing is refused.
    let server = format!("http://{admin_addr}");
    let (ok, out) = cli(&["rollout", "--server", &server, "pause", &rollout]);
    assert!(ok, "{out}");
    assert!(
        out.contains("PAUSED") && out.contains("stage 2 of 3"),
        "{out}"
    );
    let (ok, out) = cli(&["rollout", "--server", &server, "advance", &rollout]);
    assert!(!ok, "advancing a paused rollout: {out}");
    assert!(out.contains("409") && out.contains("resume it"), "{out}");
    let (ok, out) = cli(&["rollout", "--server", &server, "status", &rollout, "--json"]);
    assert!(ok, "{out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["data"]["attributes"]["state"], "PAUSED");
    devices.expect("paused at stage 2", &stage2, &logs).await;

    // An edge restarts mid-rollout: it comes back serving the stage in force.
    // On the port it had: devices know it by its address.
    let eu2 = procs.iter_mut().find(|p| p.name() == "eu-2").unwrap();
    eu2.restart();
    let logs = || logs_of(&procs);
    devices
        .expect("stage 2 after eu-2 restarts", &stage2, &logs)
        .await;

    // The edges report devices served per version; the status shows them per region.
    wait_for(60, "devices served show in the status", &logs, || async {
        let v = admin.get(&format!("/v1/rollouts/{rollout}")).await;
        let a = &v["data"]["attributes"];
        let us = a["regions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["region"] == "us")
            .cloned()
            .unwrap_or_default();
        let devices = |n: usize| us["served"][n]["devices"].as_u64().unwrap_or(0);
        if a["state"] == "PAUSED" && us["percentage"] == 60 && devices(0) > 0 && devices(1) > 0 {
            Ok(())
        } else {
            Err(format!("{a}"))
        }
    })
    .await;

    // Resumed, then rolled back: every device is on version 1 again.
    let (s, v) = admin.act(&rollout, RolloutAction::Resume).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = admin.act(&rollout, RolloutAction::RollBack).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["attributes"]["state"], "ROLLED_BACK");
    devices
        .expect("every device back on version 1", &everyone_v1, &logs)
        .await;
    let (s, _) = admin.act(&rollout, RolloutAction::RollBack).await;
    assert_eq!(s, 409);

    // Rolled out again (through `packyard rollout start`, the same plan as flags) and
    // advanced through every stage: everyone gets version 2, devices without an id too.
    let (ok, out) = cli(&[
        "rollout",
        "--server",
        &server,
        "--json",
        "start",
        "--version",
        &v2,
        "--stage",
        "eu=30",
        "--stage",
        "eu,us=60",
        "--stage",
        "*=100",
    ]);
    assert!(ok, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"]["attributes"]["stages"], plan["stages"]);
    let again = v["data"]["id"].as_str().unwrap().to_owned();
    let (ok, out) = cli(&["rollout", "--server", &server, "advance", &again]);
    assert!(ok && out.contains("stage 2 of 3"), "{out}");
    let (s, v) = admin.act(&again, RolloutAction::Advance).await;
    assert_eq!(s, 200, "{v}");
    let everyone_v2 = Expectation::from([("eu", 100), ("us", 100)]);
    devices
        .expect("every device gets version 2", &everyone_v2, &logs)
        .await;
    let v = admin.get(&format!("/v1/rollouts/{again}")).await;
    assert_eq!(v["data"]["attributes"]["state"], "COMPLETED");
    let v = admin
        .get(&format!("/v1/backgroundAssetVersionAppStoreReleases/{v1}"))
        .await;
    assert_eq!(v["data"]["attributes"]["state"], "SUPERSEDED");
}
