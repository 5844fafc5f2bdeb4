//! Quota (rule R9) counts reservations, and reservations end: against a real control plane
//! (and, for expiry, a real origin), reservations that together pass an app's quota are
//! accepted only while they fit, one after another or all at once; a reservation never
//! committed expires, failing its version, freeing its quota and removing its staged parts;
//! a manifest is reserved only up to the largest manifest processing reads, and a version
//! whose only file is a committed manifest expires like an uncommitted one.

#![allow(clippy::unwrap_used)]

#[path = "support/cluster_tls.rs"]
mod cluster_tls;
#[path = "support/procs.rs"]
mod procs;

use std::path::Path;
use std::time::Duration;

use packyard_admin_client::{AdminClient, NewApp, NewPack, NewUploadFile};
use procs::{ANY, KEY, Proc, free_addrs, wait_for};
use serde_json::Value;

/// The admin API of one control-plane node.
#[derive(Clone)]
struct Admin {
    client: AdminClient,
}

impl Admin {
    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let body = (!body.is_null()).then_some(body);
        match self.client.send(method, path, body).await {
            Ok(answer) => (answer.status, answer.document),
            Err(_) => (0, Value::Null),
        }
    }

    async fn pack(&self, bundle: &str) -> String {
        let app = NewApp::new("Game", bundle);
        let app = self.client.create_app(&app).await.unwrap().id;
        let pack = NewPack::new(app, "level-1");
        self.client.create_pack(&pack).await.unwrap().id
    }

    async fn version(&self, pack: &str) -> String {
        self.client.create_version(pack).await.unwrap().id
    }

    /// Reserves `size` bytes for `version`; the raw answer (quota refusals are checked).
    async fn reserve(&self, version: &str, size: u64) -> (u16, Value) {
        let file = NewUploadFile::asset(version, "pack.aar", size);
        let path = "/v1/backgroundAssetUploadFiles";
        self.call(reqwest::Method::POST, path, file.document())
            .await
    }
}

/// A control-plane node, and where it expects the origin.
struct Control {
    proc: Proc,
    admin: Admin,
    raft: String,
    upload: String,
}

async fn control(dir: &Path, config: &str) -> Control {
    cluster_tls::issue(dir, &[("control", "1"), ("origin", "1")]);
    // The control node names the origin's upload URL before the origin can start.
    let [upload] = free_addrs();
    let config_path = dir.join("control.toml");
    std::fs::write(&config_path, config).unwrap();
    let data = dir.join("control");
    let origin_url = format!("http://{upload}");
    let proc = Proc::start(
        "control",
        dir,
        &[
            "control",
            "--config",
            config_path.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--admin-addr",
            ANY,
            "--raft-addr",
            ANY,
            "--origin-url",
            &origin_url,
        ],
    );
    let (admin, raft) = (proc.addr("admin").await, proc.addr("raft").await);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let admin = Admin {
        client: AdminClient::with_http(http, &format!("http://{admin}"), KEY),
    };
    Control {
        proc,
        admin,
        raft,
        upload,
    }
}

/// A quota of 10 MB and reservations of 395 kB: the issue's 7.9 GB under 200 GB, scaled.
const QUOTA: &str = "[quota]\nmax_bytes = 10000000\nmax_file_bytes = 1000000\n";
const SIZE: u64 = 395_000;
const FIT: usize = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_are_accepted_only_while_they_fit_one_after_another_or_all_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let Control { proc, admin, .. } = control(tmp.path(), QUOTA).await;
    let logs = || proc.log();
    wait_for(
        60,
        "the control plane takes the bootstrap key",
        &logs,
        || async {
            admin
                .call(reqwest::Method::GET, "/v1/apps", Value::Null)
                .await
                .0
                == 200
        },
    )
    .await;

    // One after another: the first 25 fit, every one after is refused naming R9.
    let pack = admin.pack("com.example.sequential").await;
    let mut accepted = 0;
    for i in 0..30 {
        let version = admin.version(&pack).await;
        let (status, doc) = admin.reserve(&version, SIZE).await;
        match status {
            201 => accepted += 1,
            409 => {
                assert_eq!(doc["errors"][0]["code"], "STATE_ERROR.R9", "{doc}");
                assert!(i >= FIT, "reservation {i} refused while it fitted: {doc}");
            }
            other => panic!("reservation {i}: {other} {doc}"),
        }
    }
    assert_eq!(accepted, FIT);

    // All at once, through Raft: still exactly the ones that fit.
    let pack = admin.pack("com.example.parallel").await;
    let mut versions = Vec::new();
    for _ in 0..30 {
        versions.push(admin.version(&pack).await);
    }
    let tasks: Vec<_> = versions
        .into_iter()
        .map(|v| {
            let admin = admin.clone();
            tokio::spawn(async move { admin.reserve(&v, SIZE).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        let (status, doc) = t.await.unwrap();
        assert!(
            status == 201 || doc["errors"][0]["code"] == "STATE_ERROR.R9",
            "{status} {doc}"
        );
        statuses.push(status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        FIT,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        30 - FIT,
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_never_committed_expires_frees_its_quota_and_loses_its_parts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let config = "[quota]\nmax_bytes = 2000000\n[api]\nupload_expiry_secs = 2\nupload_part_bytes = 1048576\n";
    let Control {
        proc: control_proc,
        admin,
        raft,
        upload,
    } = control(dir, config).await;
    let origin_config = dir.join("origin.toml");
    std::fs::write(&origin_config, "[gc]\nstaging_sweep_secs = 1\n").unwrap();
    let logs = || control_proc.log();
    wait_for(
        60,
        "the control plane takes the bootstrap key",
        &logs,
        || async {
            admin
                .call(reqwest::Method::GET, "/v1/apps", Value::Null)
                .await
                .0
                == 200
        },
    )
    .await;
    let pack = admin.pack("com.example.expiry").await;
    let version = admin.version(&pack).await;
    let (status, file) = admin.reserve(&version, 1_500_000).await;
    assert_eq!(status, 201, "{file}");
    let file_id = file["data"]["id"].as_str().unwrap().to_owned();
    let part_url = file["data"]["attributes"]["uploadOperations"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();

    let origin_flags = ["--config", origin_config.to_str().unwrap()];
    let (origin, _) = procs::origin(dir, &upload, &raft, &origin_flags).await;
    let logs = || format!("{}{}", control_proc.log(), origin.log());
    // The first part arrives; the second never does.
    let part = vec![7u8; 1_048_576];
    let http = reqwest::Client::new();
    wait_for(30, "the origin takes the first part", &logs, || async {
        http.put(&part_url)
            .body(part.clone())
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let staged = dir.join("origin").join("staging").join(&file_id);
    assert!(staged.join("1").exists(), "the part is staged");

    let version_path = format!("/v1/backgroundAssetVersions/{version}");
    wait_for(30, "the version fails UPLOAD_EXPIRED", &logs, || async {
        let (_, doc) = admin
            .call(reqwest::Method::GET, &version_path, Value::Null)
            .await;
        doc["data"]["attributes"]["state"] == "FAILED"
            && doc["data"]["attributes"]["stateDetails"]["errors"][0]["code"] == "UPLOAD_EXPIRED"
    })
    .await;
    wait_for(30, "the origin removes the staged parts", &logs, || async {
        !staged.exists()
    })
    .await;
    let second = &file["data"]["attributes"]["uploadOperations"][1]["url"];
    let refused = http
        .put(second.as_str().unwrap())
        .body(vec![7u8; 1_500_000 - 1_048_576])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409, "an expired file takes no more parts");
    // Its 1.5 MB are free again: another reservation of that size fits the 2 MB quota.
    let version = admin.version(&pack).await;
    let (status, doc) = admin.reserve(&version, 1_500_000).await;
    assert_eq!(status, 201, "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_4_a_manifest_is_capped_at_1_mib_and_a_version_of_a_lone_committed_manifest_expires_and_loses_its_parts()
 {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let config = "[api]\nupload_expiry_secs = 5\nupload_part_bytes = 1048576\n";
    let Control {
        proc: control_proc,
        admin,
        raft,
        upload,
    } = control(dir, config).await;
    let origin_config = dir.join("origin.toml");
    std::fs::write(&origin_config, "[gc]\nstaging_sweep_secs = 1\n").unwrap();
    let origin_flags = ["--config", origin_config.to_str().unwrap()];
    let (origin, _) = procs::origin(dir, &upload, &raft, &origin_flags).await;
    let logs = || format!("{}{}", control_proc.log(), origin.log());
    wait_for(
        60,
        "the control plane takes the bootstrap key",
        &logs,
        || async {
            admin
                .call(reqwest::Method::GET, "/v1/apps", Value::Null)
                .await
                .0
                == 200
        },
    )
    .await;
    let pack = admin.pack("com.example.manifest").await;
    let version = admin.version(&pack).await;
    let manifest = |size: u64| NewUploadFile {
        asset_type: packyard_admin_client::AssetType::Manifest,
        ..NewUploadFile::asset(&version, "Manifest.json", size)
    };

    // An 8 GB manifest is refused before any byte, naming the limit.
    let (status, doc) = admin
        .call(
            reqwest::Method::POST,
            "/v1/backgroundAssetUploadFiles",
            manifest(8_000_000_000).document(),
        )
        .await;
    assert_eq!(status, 422, "{doc}");
    let detail = doc["errors"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("at most 1048576 bytes (1 MiB)"), "{detail}");

    // A manifest alone, uploaded and committed: nothing will ever process it.
    let json = br#"{"assetPackID":"level-1","downloadPolicy":{"onDemand":{}},"fileSelectors":[],"platforms":["iOS"]}"#;
    let file = admin
        .client
        .reserve_upload(&manifest(json.len() as u64))
        .await
        .unwrap();
    let op = &file.operations[0];
    let http = reqwest::Client::new();
    wait_for(30, "the origin takes the manifest", &logs, || async {
        http.put(&op.url)
            .body(json.to_vec())
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    // Never processed, so its checksum is never checked.
    let sha256 = "ab".repeat(32);
    admin.client.commit_upload(&file.id, &sha256).await.unwrap();
    let staged = dir.join("origin").join("staging").join(&file.id);
    assert!(staged.join("1").exists(), "the manifest is staged");

    let version_path = format!("/v1/backgroundAssetVersions/{version}");
    wait_for(60, "the version fails UPLOAD_EXPIRED", &logs, || async {
        let (_, doc) = admin
            .call(reqwest::Method::GET, &version_path, Value::Null)
            .await;
        let error = &doc["data"]["attributes"]["stateDetails"]["errors"][0];
        doc["data"]["attributes"]["state"] == "FAILED" && error["code"] == "UPLOAD_EXPIRED"
    })
    .await;
    let (_, doc) = admin
        .call(reqwest::Method::GET, &version_path, Value::Null)
        .await;
    let why = &doc["data"]["attributes"]["stateDetails"]["errors"][0]["description"];
    assert!(why.as_str().unwrap().contains("has no archive"), "{doc}");
    wait_for(
        30,
        "the origin removes the staged manifest",
        &logs,
        || async { !staged.exists() },
    )
    .await;
}
