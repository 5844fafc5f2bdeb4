//! [`ControlCluster`]: three or five `packyard control` nodes (Raft on RocksDB, every log
//! write synced) on free ports, which can be killed and restarted one by one, and [`CreateVersion`]: the admin API write `vs-etcd` measures.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, header};
use packyard_net::cluster::NodeRole;
use serde_json::json;

use super::http_call::{call, call_json, prometheus_value};
use super::packyard::ADMIN_KEY;
use super::proc::{ChildProc, free_addr, wait_until};
use crate::error::{BenchError, io_err};
use crate::load::client::Server;
use crate::load::workload::{Expect, Planned, RequestSource};
use crate::noise::Noise;
use packyard_admin_client::new_version_document as version_body;

/// A running control plane of three or five nodes.
#[derive(Debug)]
pub struct ControlCluster {
    /// The nodes' admin APIs.
    pub admins: Vec<Server>,
    procs: Vec<ChildProc>,
    /// How each node is started, for [`ControlCluster::restart`].
    launch: Launch,
}

/// What starting node `i` takes: the same binary, flags, environment and cores every time.
#[derive(Debug)]
struct Launch {
    bin: PathBuf,
    dir: PathBuf,
    cpus: Option<String>,
    args: Vec<Vec<OsString>>,
    envs: Vec<(String, String)>,
}

impl Launch {
    fn spawn(&self, i: usize) -> Result<ChildProc, BenchError> {
        let envs: Vec<(&str, &str)> = self
            .envs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        ChildProc::spawn(
            &format!("packyard-control-{}", i + 1),
            &self.bin,
            &self.args[i],
            &envs,
            self.cpus.as_deref(),
            &self.dir,
        )
    }
}

impl ControlCluster {
    /// Starts three nodes of `bin`, data under `dir`, pinned to `cpus`; waits until the
    /// cluster answers the admin API through node 1 and accepts a write.
    pub async fn start(bin: &Path, dir: &Path, cpus: Option<&str>) -> Result<Self, BenchError> {
        Self::start_with(bin, dir, cpus, 3, None).await
    }

    /// Starts `nodes` nodes (one Raft voter each), each with `config` (a `control.toml`) when
    /// given, and waits as [`ControlCluster::start`] does.
    pub async fn start_with(
        bin: &Path,
        dir: &Path,
        cpus: Option<&str>,
        nodes: usize,
        config: Option<&str>,
    ) -> Result<Self, BenchError> {
        std::fs::create_dir_all(dir).map_err(|e| BenchError::Io {
            action: "create",
            path: dir.to_path_buf(),
            source: e,
        })?;
        let mut rafts = Vec::new();
        let mut admins = Vec::new();
        for _ in 0..nodes {
            rafts.push(free_addr()?);
            admins.push(free_addr()?);
        }
        let peers: Vec<String> = rafts
            .iter()
            .enumerate()
            .map(|(i, r)| format!("{}={r}", i + 1))
            .collect();
        let peers = peers.join(",");
        let ids: Vec<String> = (1..=nodes).map(|i| i.to_string()).collect();
        let identities: Vec<(NodeRole, &str)> = ids
            .iter()
            .map(|id| (NodeRole::Control, id.as_str()))
            .collect();
        let tls = super::cluster_tls::issue(dir, &identities)?;
        let config_file = match config {
            Some(text) => {
                let path = dir.join("control.toml");
                std::fs::write(&path, text).map_err(io_err("write", &path))?;
                Some(path)
            }
            None => None,
        };
        let mut args = Vec::new();
        for i in 0..nodes {
            let mut a: Vec<OsString> = [
                "control".to_owned(),
                "--id".to_owned(),
                (i + 1).to_string(),
                "--data".to_owned(),
                dir.join(format!("control-{}", i + 1)).display().to_string(),
                "--raft-addr".to_owned(),
                rafts[i].to_string(),
                "--admin-addr".to_owned(),
                admins[i].to_string(),
                "--peers".to_owned(),
                peers.clone(),
                "--origin-url".to_owned(),
                "http://127.0.0.1:9".to_owned(),
            ]
            .into_iter()
            .map(OsString::from)
            .collect();
            if let Some(path) = &config_file {
                a.push("--config".into());
                a.push(path.into());
            }
            args.push(a);
        }
        let launch = Launch {
            bin: bin.to_path_buf(),
            dir: dir.to_path_buf(),
            cpus: cpus.map(str::to_owned),
            args,
            envs: vec![
                ("PACKYARD_ADMIN_KEY".into(), ADMIN_KEY.into()),
                ("PACKYARD_LOG".into(), "warn".into()),
                (
                    "PACKYARD_CLUSTER_TLS_DIR".into(),
                    tls.to_string_lossy().into_owned(),
                ),
            ],
        };
        let procs = (0..nodes)
            .map(|i| launch.spawn(i))
            .collect::<Result<Vec<_>, _>>()?;
        let admins: Vec<Server> = admins
            .into_iter()
            .map(|addr| Server {
                addr,
                authority: addr.to_string(),
            })
            .collect();
        let mut cluster = Self {
            admins,
            procs,
            launch,
        };
        cluster.wait_answers(0).await?;
        Ok(cluster)
    }

    /// Waits until node `i` answers an authenticated admin request.
    pub async fn wait_answers(&mut self, i: usize) -> Result<(), BenchError> {
        let url = format!("http://{}/v1/apps", self.admins[i].authority);
        let mut refs: Vec<&mut ChildProc> = self.procs.iter_mut().collect();
        wait_until(
            "the control plane answers",
            Duration::from_secs(60),
            &mut refs,
            || {
                let url = url.clone();
                async move {
                    matches!(
                        call_json(Method::GET, &url, Some(ADMIN_KEY), None).await,
                        Ok((200, _))
                    )
                }
            },
        )
        .await
    }

    /// How many nodes the cluster has, running or not.
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    /// Whether the cluster has no nodes (never: it starts with at least one).
    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    /// Whether node `i` is running (not killed since its last start).
    pub fn is_running(&self, i: usize) -> bool {
        self.procs[i].is_running()
    }

    /// Kills node `i` with SIGKILL.
    pub fn kill(&mut self, i: usize) {
        self.procs[i].kill();
    }

    /// Starts node `i` again on its own data directory, after [`ControlCluster::kill`].
    pub fn restart(&mut self, i: usize) -> Result<(), BenchError> {
        self.procs[i].kill();
        self.procs[i] = self.launch.spawn(i)?;
        Ok(())
    }

    /// The last lines of every node's log.
    pub fn log_tails(&self) -> String {
        self.procs
            .iter()
            .map(ChildProc::log_tail)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A value of node `i`'s `/metrics` page, `None` when the node does not answer.
    pub async fn metric(&self, i: usize, name: &str) -> Option<f64> {
        let url = format!("http://{}/metrics", self.admins[i].authority);
        let (status, page) = call(Method::GET, &url, None, Bytes::new(), false)
            .await
            .ok()?;
        if status != 200 {
            return None;
        }
        prometheus_value(std::str::from_utf8(&page).ok()?, name)
    }

    /// The running node that says it leads, if one does now.
    pub async fn leader(&self) -> Option<usize> {
        for i in 0..self.len() {
            if self.is_running(i)
                && self.metric(i, "packyard_control_raft_is_leader").await == Some(1.0)
            {
                return Some(i);
            }
        }
        None
    }

    /// Creates an app and a pack through node 1; returns the pack's id.
    pub async fn create_pack(&self) -> Result<String, BenchError> {
        let mut packs = self.create_packs(&["raft-bench"]).await?;
        packs
            .pop()
            .ok_or_else(|| BenchError::Setup("no pack created".into()))
    }

    /// Creates an app and one pack per identifier through node 1; returns the packs' ids.
    pub async fn create_packs(&self, idents: &[&str]) -> Result<Vec<String>, BenchError> {
        let api = |path: &str| format!("http://{}{path}", self.admins[0].authority);
        let body = json!({"data": {"type": "apps", "attributes": {"name": "Bench",
            "bundleId": "com.example.raft", "primaryLanguage": "en-US"}}});
        let mut app = None;
        // Right after start-up the bootstrap key may still be on its way through Raft.
        for _ in 0..100 {
            if let Ok((201, v)) =
                call_json(Method::POST, &api("/v1/apps"), Some(ADMIN_KEY), Some(&body)).await
            {
                app = v["data"]["id"].as_str().map(str::to_owned);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let app = app.ok_or_else(|| {
            BenchError::Setup("creating an app on the control plane failed".into())
        })?;
        let mut packs = Vec::new();
        for ident in idents {
            let body = json!({"data": {"type": "backgroundAssets",
                "attributes": {"assetPackIdentifier": ident},
                "relationships": {"app": {"data": {"type": "apps", "id": app}}}}});
            let (status, v) = call_json(
                Method::POST,
                &api("/v1/backgroundAssets"),
                Some(ADMIN_KEY),
                Some(&body),
            )
            .await
            .map_err(BenchError::Setup)?;
            if status != 201 {
                return Err(BenchError::Setup(format!("creating a pack: {status} {v}")));
            }
            packs.push(
                v["data"]["id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| BenchError::Setup(format!("no pack id in {v}")))?,
            );
        }
        Ok(packs)
    }

    /// The nodes' process ids.
    pub fn pids(&self) -> Vec<u32> {
        self.procs.iter().filter_map(ChildProc::pid).collect()
    }
}

/// `POST /v1/backgroundAssetVersions`: a new version of one pack per request, the first step
/// of every upload and the smallest review-workflow write (one Raft entry, synced on a
/// majority, then read back for the response).
#[derive(Debug, Clone)]
pub struct CreateVersion {
    /// The pack.
    pub pack: String,
}

impl RequestSource for CreateVersion {
    fn plan(&self, _ticket: u64, _noise: &mut Noise) -> Planned {
        Planned {
            method: Method::POST,
            path: "/v1/backgroundAssetVersions".into(),
            headers: vec![
                (
                    header::AUTHORIZATION,
                    HeaderValue::from_str(&format!("Bearer {ADMIN_KEY}"))
                        .unwrap_or_else(|_| HeaderValue::from_static("")),
                ),
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
            ],
            body: Bytes::from(version_body(&self.pack).to_string()),
            expect: Expect::Status(201),
        }
    }
}
