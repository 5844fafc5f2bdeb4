//! Three real `packyard control` processes on 127.0.0.1 (issue 02's acceptance test).
//!
//! The review workflow runs through the admin API of a follower; then, in the middle of a
//! stream of writes, the leader is killed with SIGKILL. Writes go on through the new leader,
//! no acknowledged write is lost, version numbers stay gapless (rule R11), and the killed
//! node restarts from its RocksDB data and catches up.

// Test helpers outside `#[test]` functions: a failed setup step should fail the test at once.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use packyard_admin_client::{AdminClient, AdminError, NewUploadFile};
use packyard_core::Blake3Hash;
use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::origin_coordinator_client::OriginCoordinatorClient;
use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;

#[path = "support/cluster_tls.rs"]
mod cluster_tls;
#[path = "support/procs.rs"]
mod procs;

use packyard_net::eventually::eventually;
use procs::{ControlNode, KEY, control_cluster, signal, wait_for};

/// Fast elections and frequent snapshots, so the test exercises log compaction too.
const CONFIG: &str = "[raft]\nheartbeat_ms = 100\nelection_timeout_min_ms = 500\n\
                      election_timeout_max_ms = 1000\nsnapshot_every_logs = 40\n";

struct Cluster {
    nodes: Vec<ControlNode>,
    http: reqwest::Client,
    /// The folder of the cluster's certificates.
    tls: PathBuf,
    _tmp: TempDir,
}

impl Cluster {
    async fn start() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("control.toml");
        std::fs::write(&config, CONFIG).unwrap();
        let tls = cluster_tls::issue(
            tmp.path(),
            &[
                ("control", "1"),
                ("control", "2"),
                ("control", "3"),
                ("origin", "1"),
                ("operator", "test"),
            ],
        );
        let flags = ["--config", config.to_str().unwrap()];
        let nodes = control_cluster(tmp.path(), 3, &flags).await;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Cluster {
            nodes,
            http,
            tls,
            _tmp: tmp,
        }
    }

    /// `http://{admin of node}{path}`.
    fn url(&self, node: usize, path: &str) -> String {
        format!("http://{}{path}", self.nodes[node].admin)
    }

    /// SIGSTOP (`frozen`) or SIGCONT: a frozen node answers nobody, as if cut off.
    fn freeze(&self, node: usize, frozen: bool) {
        signal(
            self.nodes[node].proc.pid(),
            if frozen { "-STOP" } else { "-CONT" },
        );
    }

    fn logs(&self) -> String {
        self.nodes.iter().map(|n| n.proc.log()).collect()
    }

    fn admin(&self, node: usize) -> AdminClient {
        AdminClient::with_http(self.http.clone(), &self.url(node, ""), KEY)
    }

    async fn call(
        &self,
        node: usize,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), reqwest::Error> {
        self.call_as(KEY, node, method, path, body).await
    }

    async fn call_as(
        &self,
        key: &str,
        node: usize,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let mut req = self
            .http
            .request(method, self.url(node, path))
            .bearer_auth(key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// A call that must succeed with `want`.
    async fn must(
        &self,
        node: usize,
        method: Method,
        path: &str,
        body: Option<Value>,
        want: u16,
    ) -> Value {
        let (status, v) = self.call(node, method, path, body).await.unwrap();
        assert_eq!(status, want, "{path}: {v}");
        v
    }

    async fn metric(&self, node: usize, name: &str) -> Option<f64> {
        let page = self
            .http
            .get(self.url(node, "/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        page.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }

    /// The index of the node that leads, waiting for an election if need be.
    async fn leader(&self) -> usize {
        wait_for(
            30,
            "a leader",
            || self.logs(),
            || async {
                for (i, n) in self.nodes.iter().enumerate() {
                    if n.proc.is_running()
                        && self.metric(i, "packyard_control_raft_is_leader").await == Some(1.0)
                    {
                        return Some(i);
                    }
                }
                None
            },
        )
        .await
    }

    /// Waits until every running node answers authenticated requests.
    async fn ready(&self) {
        for i in 0..self.nodes.len() {
            let what = format!("node {} is ready", i + 1);
            wait_for(
                60,
                &what,
                || self.logs(),
                || async {
                    match self.call(i, Method::GET, "/v1/apps", None).await {
                        Ok((200, _)) => Ok(()),
                        Ok((status, v)) => Err(format!("{status} {v}")),
                        Err(e) => Err(e.to_string()),
                    }
                },
            )
            .await;
        }
    }

    /// Plays the origin: reports `version` processed, as a one-chunk archive of `size` bytes.
    async fn origin_completes(&self, version: &str, size: u32) {
        let files = packyard_net::cluster::ClusterTlsFiles::in_dir(&self.tls, "origin-1");
        let tls = packyard_net::cluster::ClusterTls::load(&files).unwrap();
        let channel = tls
            .channel(
                &self.nodes[0].raft,
                packyard_net::cluster::NodeRole::Control,
            )
            .unwrap();
        let mut origin = OriginCoordinatorClient::new(channel);
        let hash = Blake3Hash::of(version.as_bytes()).as_bytes().to_vec();
        let report = pb::ProcessedReport {
            version_id: version.to_owned(),
            outcome: Some(pb::processed_report::Outcome::Completed(
                pb::VersionCompleted {
                    size: u64::from(size),
                    archive_hash: hash.clone(),
                    chunks: vec![pb::Chunk {
                        id: hash,
                        length: size,
                    }],
                    download_policy: Some(pb::DownloadPolicy {
                        policy: Some(pb::download_policy::Policy::OnDemand(pb::OnDemand {})),
                    }),
                    platforms: vec!["iOS".into()],
                    ..Default::default()
                },
            )),
        };
        origin.report_processed(report).await.unwrap();
    }
}

fn id(v: &Value) -> String {
    v["data"]["id"].as_str().unwrap().to_owned()
}

fn rel(kind: &str, id: &str) -> Value {
    json!({"data": {"type": kind, "id": id}})
}

/// Creates a version of `pack` through `node` and takes it to COMPLETE.
async fn complete_version(c: &Cluster, node: usize, pack: &str) -> String {
    let api = c.admin(node);
    let version = api.create_version(pack).await.unwrap().id;
    let file = NewUploadFile::asset(&version, "pack.aar", 1000);
    let file = api.reserve_upload(&file).await.unwrap();
    api.commit_upload(&file.id, &"ab".repeat(32)).await.unwrap();
    c.origin_completes(&version, 1000).await;
    version
}

/// Every version of `pack` as (number, id), read through `node`, following `links.next`.
/// A read during an election is answered 503 ("no leader right now; retry shortly"), as the
/// API says: asked again until a leader answers, within 30 s.
async fn versions(c: &Cluster, node: usize, pack: &str) -> BTreeMap<u64, String> {
    let path = format!("/v1/backgroundAssets/{pack}/versions?limit=200");
    let what = format!("the versions of {pack} read through node {node}");
    let items = eventually(what, Duration::from_secs(30), || async {
        match c.admin(node).get_all(&path).await {
            Ok(items) => Ok(items),
            Err(AdminError::Refused { refusal, .. }) if refusal.status == 503 => {
                Err(format!("{} {}", refusal.status, refusal.body))
            }
            Err(e) => panic!("reading the versions of {pack} through node {node}: {e}"),
        }
    })
    .await;
    items
        .iter()
        .map(|d| {
            let number = d["attributes"]["version"].as_u64().unwrap();
            (number, d["id"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_survive_a_killed_leader_without_losing_an_acknowledged_write() {
    let mut c = Cluster::start().await;
    c.ready().await;
    let leader = c.leader().await;
    let f = (leader + 1) % 3; // a follower: every write below is forwarded to the leader

    // The review workflow, through a follower.
    let app = id(&c.must(f, Method::POST, "/v1/apps", Some(json!({"data": {"type": "apps",
        "attributes": {"name": "Game", "bundleId": "com.example.cluster", "primaryLanguage": "en-US"}}})), 201).await);
    c.must(
        f,
        Method::POST,
        "/v1/builds",
        Some(json!({"data": {"type": "builds",
        "attributes": {"buildNumber": "100", "channels": ["INTERNAL", "EXTERNAL"]},
        "relationships": {"app": rel("apps", &app)}}})),
        201,
    )
    .await;
    let reviewer = id(&c.must(f, Method::POST, "/v1/users", Some(json!({"data": {"type": "users",
        "attributes": {"name": "Rita", "email": "rita@example.com", "roles": [{"app": app, "role": "REVIEWER"}]}}})), 201).await);
    let k = c
        .must(
            f,
            Method::POST,
            "/v1/apiKeys",
            Some(json!({"data": {"type": "apiKeys",
        "relationships": {"user": rel("users", &reviewer)}}})),
            201,
        )
        .await;
    let reviewer_key = k["data"]["attributes"]["key"].as_str().unwrap().to_owned();
    let pack = id(&c.must(f, Method::POST, "/v1/backgroundAssets", Some(json!({"data": {"type": "backgroundAssets",
        "attributes": {"assetPackIdentifier": "level-2"}, "relationships": {"app": rel("apps", &app)}}})), 201).await);
    let v1 = complete_version(&c, f, &pack).await;
    let internal = c
        .must(
            f,
            Method::GET,
            &format!("/v1/backgroundAssetVersionInternalBetaReleases/{v1}"),
            None,
            200,
        )
        .await;
    assert_eq!(
        internal["data"]["attributes"]["state"], "READY_FOR_TESTING",
        "R1"
    );
    let submit = |v: &str| {
        json!({"data": {"type": "reviewSubmissions", "attributes": {"track": "EXTERNAL_BETA"},
        "relationships": {"backgroundAssetVersion": rel("backgroundAssetVersions", v)}}})
    };
    let s1 = id(&c
        .must(
            f,
            Method::POST,
            "/v1/reviewSubmissions",
            Some(submit(&v1)),
            201,
        )
        .await);
    let v2 = complete_version(&c, f, &pack).await;
    let (status, refused) = c
        .call(f, Method::POST, "/v1/reviewSubmissions", Some(submit(&v2)))
        .await
        .unwrap();
    assert_eq!(status, 409, "R2: {refused}");
    for state in ["IN_REVIEW", "ACCEPTED"] {
        let decision = json!({"data": {"type": "reviewSubmissions", "id": s1, "attributes": {"state": state}}});
        let path = format!("/v1/reviewSubmissions/{s1}");
        let (status, v) = c
            .call_as(&reviewer_key, f, Method::PATCH, &path, Some(decision))
            .await
            .unwrap();
        assert_eq!(status, 200, "{state}: {v}");
    }
    let external = c
        .must(
            f,
            Method::GET,
            &format!("/v1/backgroundAssetVersionExternalBetaReleases/{v1}"),
            None,
            200,
        )
        .await;
    assert_eq!(external["data"]["attributes"]["state"], "READY_FOR_TESTING");

    // A stream of writes; the leader dies after the 15th acknowledgement.
    let stream_pack = id(&c.must(f, Method::POST, "/v1/backgroundAssets", Some(json!({"data": {"type": "backgroundAssets",
        "attributes": {"assetPackIdentifier": "stream"}, "relationships": {"app": rel("apps", &app)}}})), 201).await);
    let body = json!({"data": {"type": "backgroundAssetVersions", "relationships": {"backgroundAsset": rel("backgroundAssets", &stream_pack)}}});
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    let mut killed = None;
    let mut next = f;
    let deadline = Instant::now() + Duration::from_secs(90);
    while acked.len() < 45 {
        assert!(
            Instant::now() < deadline,
            "writes stalled after {} acks\n{}",
            acked.len(),
            c.logs()
        );
        if acked.len() == 15 && killed.is_none() {
            let leader = c.leader().await;
            let applied = c
                .metric(leader, "packyard_control_raft_applied_index")
                .await
                .unwrap();
            c.nodes[leader].proc.kill();
            killed = Some((leader, applied));
        }
        if !c.nodes[next].proc.is_running() {
            next = (next + 1) % 3;
            continue;
        }
        match c
            .call(
                next,
                Method::POST,
                "/v1/backgroundAssetVersions",
                Some(body.clone()),
            )
            .await
        {
            Ok((201, v)) => {
                let number = v["data"]["attributes"]["version"].as_u64().unwrap();
                assert!(
                    acked.insert(number, id(&v)).is_none(),
                    "version number {number} given twice"
                );
            }
            // No leader yet, or the node we asked went away: try another node shortly.
            Ok((503, _)) | Err(_) => {
                next = (next + 1) % 3;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok((status, v)) => panic!("unexpected {status}: {v}"),
        }
    }
    let (killed, applied_before_kill) = killed.unwrap();
    let live = (killed + 1) % 3;

    // No acknowledged write is lost, and numbers have no gaps (R11).
    let stored = versions(&c, live, &stream_pack).await;
    for (number, version) in &acked {
        assert_eq!(
            stored.get(number),
            Some(version),
            "acknowledged version {number} is missing"
        );
    }
    let numbers: Vec<u64> = stored.keys().copied().collect();
    assert_eq!(
        numbers,
        (1..=numbers.len() as u64).collect::<Vec<_>>(),
        "R11: gapless"
    );

    // The killed node restarts from its own data: with the other two frozen, nobody can send
    // it a snapshot or an entry, yet it applies again everything it had applied.
    let others = [(killed + 1) % 3, (killed + 2) % 3];
    for o in others {
        c.freeze(o, true);
    }
    c.nodes[killed].proc.restart();
    let cluster = &c;
    let applied = |to: f64| async move {
        let at = cluster
            .metric(killed, "packyard_control_raft_applied_index")
            .await
            .unwrap_or(0.0);
        if at >= to {
            Ok(())
        } else {
            Err(format!("applied to {at}"))
        }
    };
    let what =
        format!("alone, the restarted node applies its own log again (to {applied_before_kill})");
    wait_for(60, &what, || c.logs(), || applied(applied_before_kill)).await;
    // Then, with its peers back, it catches up.
    for o in others {
        c.freeze(o, false);
    }
    let leader = c.leader().await;
    let target = c
        .metric(leader, "packyard_control_raft_commit_index")
        .await
        .unwrap();
    let what = format!("the restarted node catches up (to {target})");
    wait_for(60, &what, || c.logs(), || applied(target)).await;
    assert_eq!(
        versions(&c, killed, &stream_pack).await,
        stored,
        "the restarted node serves the same catalog"
    );
    // And it takes writes again.
    c.must(
        killed,
        Method::POST,
        "/v1/backgroundAssetVersions",
        Some(body),
        201,
    )
    .await;
}

/// `packyard cluster … --json ARGS` against node `node`, as the operator; its JSON answer.
fn cluster_cli(c: &Cluster, node: usize, args: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(["cluster", "--node", &c.nodes[node].raft, "--json"])
        .args(args)
        .env("PACKYARD_CLUSTER_TLS_DIR", &c.tls)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "packyard cluster {args:?}: {}{}",
        String::from_utf8_lossy(&out.stderr),
        c.logs()
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn voter_ids(status: &Value) -> Vec<u64> {
    let mut ids: Vec<u64> = status["voters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["id"].as_u64())
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_removed_with_the_cli_leaves_the_voters_and_the_rest_go_on_writing() {
    let c = Cluster::start().await;
    assert_eq!(voter_ids(&cluster_cli(&c, 0, &["status"])), [1, 2, 3]);
    cluster_cli(&c, 0, &["leave", "--id", "3"]);
    let status = eventually(
        "node 3 leaves the voters",
        Duration::from_secs(60),
        async || {
            let status = cluster_cli(&c, 0, &["status"]);
            (voter_ids(&status) == [1, 2]).then_some(status)
        },
    )
    .await;
    assert!(
        status["learners"].as_array().is_none_or(Vec::is_empty),
        "{status}"
    );
    // Two voters of two are a majority: writes go on.
    let app = c
        .admin(0)
        .create_app(&packyard_admin_client::NewApp {
            name: "After".into(),
            bundle_id: "com.example.after".into(),
            primary_language: "en-US".into(),
        })
        .await
        .unwrap_or_else(|e| panic!("a write after node 3 left: {e}\n{}", c.logs()));
    assert!(!app.id.is_empty());
}
