//! [`ControlCluster`]: three `packyard control` nodes (Raft on RocksDB, every log write
//! synced) on free ports, and [`CreateVersion`]: the admin API write `vs-etcd` measures.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, header};
use packyard_net::cluster::NodeRole;
use serde_json::json;

use super::http_call::call_json;
use super::packyard::{ADMIN_KEY, version_body};
use super::proc::{ChildProc, free_addr, wait_until};
use crate::error::BenchError;
use crate::load::client::Server;
use crate::load::workload::{Expect, Planned, RequestSource};
use crate::noise::Noise;

/// A running three-node control plane.
#[derive(Debug)]
pub struct ControlCluster {
    /// The nodes' admin APIs.
    pub admins: Vec<Server>,
    procs: Vec<ChildProc>,
}

impl ControlCluster {
    /// Starts three nodes of `bin`, data under `dir`, pinned to `cpus`; waits until the
    /// cluster answers the admin API through node 1 and accepts a write.
    pub async fn start(bin: &Path, dir: &Path, cpus: Option<&str>) -> Result<Self, BenchError> {
        std::fs::create_dir_all(dir).map_err(|e| BenchError::Io {
            action: "create",
            path: dir.to_path_buf(),
            source: e,
        })?;
        let mut rafts = Vec::new();
        let mut admins = Vec::new();
        for _ in 0..3 {
            rafts.push(free_addr()?);
            admins.push(free_addr()?);
        }
        let peers: Vec<String> = rafts
            .iter()
            .enumerate()
            .map(|(i, r)| format!("{}={r}", i + 1))
            .collect();
        let peers = peers.join(",");
        let tls = super::cluster_tls::issue(
            dir,
            &[
                (NodeRole::Control, "1"),
                (NodeRole::Control, "2"),
                (NodeRole::Control, "3"),
            ],
        )?;
        let tls = tls.to_string_lossy().into_owned();
        let envs = [
            ("PACKYARD_ADMIN_KEY", ADMIN_KEY),
            ("PACKYARD_LOG", "warn"),
            ("PACKYARD_CLUSTER_TLS_DIR", tls.as_str()),
        ];
        let mut procs = Vec::new();
        for i in 0..3 {
            let args: Vec<OsString> = [
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
            procs.push(ChildProc::spawn(
                &format!("packyard-control-{}", i + 1),
                bin,
                &args,
                &envs,
                cpus,
                dir,
            )?);
        }
        let admins: Vec<Server> = admins
            .into_iter()
            .map(|addr| Server {
                addr,
                authority: addr.to_string(),
            })
            .collect();
        let url = format!("http://{}/v1/apps", admins[0].authority);
        let mut refs: Vec<&mut ChildProc> = procs.iter_mut().collect();
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
        .await?;
        Ok(Self { admins, procs })
    }

    /// Creates an app and a pack through node 1; returns the pack's id.
    pub async fn create_pack(&self) -> Result<String, BenchError> {
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
        let body = json!({"data": {"type": "backgroundAssets",
            "attributes": {"assetPackIdentifier": "raft-bench"},
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
        v["data"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| BenchError::Setup(format!("no pack id in {v}")))
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
