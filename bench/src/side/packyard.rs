//! [`Packyard`]: a control plane, an origin and an edge started as `packyard` processes on free
//! ports, and the admin API calls that put packs on the edge (upload, wait for COMPLETE,
//! review, release to the store), as an operator would make them.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use packyard_net::cluster::NodeRole;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::http_call::{call, call_json, prometheus_value};
use super::proc::{ChildProc, free_addr, wait_until};
use crate::error::{BenchError, io_err};

/// The bootstrap admin key the benchmark's control planes start with.
pub(crate) const ADMIN_KEY: &str = "pyk_packyard-bench-admin-key-0123456789abcdef";

/// Where the edge runs and how much it may cache.
#[derive(Debug, Clone)]
pub struct EdgeSetup {
    /// `taskset` CPU list for the edge (the other processes run unpinned).
    pub cpus: Option<String>,
    /// The memory tier's budget in bytes.
    pub cache_memory_bytes: u64,
}

/// A running Packyard: control plane, origin, edge.
#[derive(Debug)]
pub struct Packyard {
    /// The admin API, `host:port`.
    pub admin: SocketAddr,
    /// The edge's device listener.
    pub edge: SocketAddr,
    control: ChildProc,
    origin: ChildProc,
    edge_proc: ChildProc,
    reviewer_key: Option<String>,
}

fn s(p: &Path) -> OsString {
    p.as_os_str().to_owned()
}

fn setup_err(what: &str) -> impl FnOnce(String) -> BenchError + '_ {
    move |reason| BenchError::Setup(format!("{what}: {reason}"))
}

/// Fails with the API's answer unless the status is `want`.
fn expect_status(what: &str, want: u16, (got, body): (u16, Value)) -> Result<Value, BenchError> {
    if got == want {
        Ok(body)
    } else {
        Err(BenchError::Setup(format!(
            "{what}: the admin API answered {got} (expected {want}): {body}"
        )))
    }
}

fn rel(kind: &str, id: &str) -> Value {
    json!({"data": {"type": kind, "id": id}})
}

fn id_of(v: &Value) -> Result<String, BenchError> {
    v["data"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| BenchError::Setup(format!("no data.id in {v}")))
}

impl Packyard {
    /// Starts the three processes from the `packyard` binary `bin`, data under `dir`, and
    /// waits until the admin API and the origin answer.
    pub async fn start(bin: &Path, dir: &Path, edge: &EdgeSetup) -> Result<Self, BenchError> {
        std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
        let (admin, raft) = (free_addr()?, free_addr()?);
        let (upload, chunks) = (free_addr()?, free_addr()?);
        let edge_addr = free_addr()?;
        let tls = super::cluster_tls::issue(
            dir,
            &[
                (NodeRole::Control, "1"),
                (NodeRole::Origin, "1"),
                (NodeRole::Edge, "edge-1"),
            ],
        )?;
        let tls = tls.to_string_lossy().into_owned();
        let envs = [
            ("PACKYARD_ADMIN_KEY", ADMIN_KEY),
            ("PACKYARD_LOG", "warn"),
            ("PACKYARD_CLUSTER_TLS_DIR", tls.as_str()),
        ];
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let mut control_args = os(&["control", "--data"]);
        control_args.push(s(&dir.join("control")));
        control_args.extend(os(&[
            "--admin-addr",
            &admin.to_string(),
            "--raft-addr",
            &raft.to_string(),
            "--origin-url",
            &format!("http://{upload}"),
        ]));
        let mut control =
            ChildProc::spawn("packyard-control", bin, &control_args, &envs, None, dir)?;
        let mut origin_args = os(&["origin", "--data"]);
        origin_args.push(s(&dir.join("origin")));
        origin_args.extend(os(&[
            "--upload-addr",
            &upload.to_string(),
            "--grpc-addr",
            &chunks.to_string(),
            "--control-plane",
            &raft.to_string(),
        ]));
        let mut origin = ChildProc::spawn("packyard-origin", bin, &origin_args, &envs, None, dir)?;
        let mut edge_args = os(&["edge", "--data"]);
        edge_args.push(s(&dir.join("edge")));
        edge_args.extend(os(&[
            "--http-addr",
            &edge_addr.to_string(),
            "--public-url",
            &format!("http://{edge_addr}"),
            "--control-plane",
            &raft.to_string(),
            "--origin",
            &chunks.to_string(),
            "--cache-memory-bytes",
            &edge.cache_memory_bytes.to_string(),
        ]));
        let mut edge_proc = ChildProc::spawn(
            "packyard-edge",
            bin,
            &edge_args,
            &envs,
            edge.cpus.as_deref(),
            dir,
        )?;
        let apps = format!("http://{admin}/v1/apps");
        wait_until(
            "the control plane's admin API answers",
            Duration::from_secs(60),
            &mut [&mut control, &mut origin, &mut edge_proc],
            || async {
                matches!(
                    call_json(Method::GET, &apps, Some(ADMIN_KEY), None).await,
                    Ok((200, _))
                )
            },
        )
        .await?;
        let health = format!("http://{upload}/healthz");
        wait_until(
            "the origin answers",
            Duration::from_secs(30),
            &mut [&mut control, &mut origin, &mut edge_proc],
            || async {
                matches!(
                    call_json(Method::GET, &health, None, None).await,
                    Ok((200, _))
                )
            },
        )
        .await?;
        Ok(Self {
            admin,
            edge: edge_addr,
            control,
            origin,
            edge_proc,
            reviewer_key: None,
        })
    }

    /// The edge's process id (to pin it, or to profile it).
    pub fn edge_pid(&self) -> Option<u32> {
        self.edge_proc.pid()
    }

    /// Stops the origin and control plane (the edge keeps serving what it holds).
    pub fn stop_backends(&mut self) {
        self.origin.stop();
        self.control.stop();
    }

    async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), BenchError> {
        self.api_as(ADMIN_KEY, method, path, body).await
    }

    async fn api_as(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), BenchError> {
        let url = format!("http://{}{path}", self.admin);
        call_json(method, &url, Some(key), body.as_ref())
            .await
            .map_err(setup_err(path))
    }

    /// Creates an app; returns its id.
    pub async fn create_app(&self, bundle_id: &str) -> Result<String, BenchError> {
        let v = self
            .api(
                Method::POST,
                "/v1/apps",
                Some(
                    json!({"data": {"type": "apps", "attributes": {"name": bundle_id,
                    "bundleId": bundle_id, "primaryLanguage": "en-US"}}}),
                ),
            )
            .await?;
        id_of(&expect_status("creating an app", 201, v)?)
    }

    /// Creates a pack `ident` in `app`; returns its id.
    pub async fn create_pack(&self, app: &str, ident: &str) -> Result<String, BenchError> {
        let v = self
            .api(
                Method::POST,
                "/v1/backgroundAssets",
                Some(json!({"data": {"type": "backgroundAssets",
                    "attributes": {"assetPackIdentifier": ident},
                    "relationships": {"app": rel("apps", app)}}})),
            )
            .await?;
        id_of(&expect_status("creating a pack", 201, v)?)
    }

    /// Creates a version of `pack`; returns its id. The write `vs-etcd` measures.
    pub async fn create_version(&self, pack: &str) -> Result<String, BenchError> {
        let v = self
            .api(
                Method::POST,
                "/v1/backgroundAssetVersions",
                Some(version_body(pack)),
            )
            .await?;
        id_of(&expect_status("creating a version", 201, v)?)
    }

    /// Uploads `archive` as a new version of `pack` and waits until it is COMPLETE; returns the
    /// version's id and number.
    pub async fn upload(&self, pack: &str, archive: &Path) -> Result<(String, u64), BenchError> {
        let bytes = Bytes::from(std::fs::read(archive).map_err(io_err("read", archive))?);
        let version = self.create_version(pack).await?;
        let name = archive.file_name().map_or_else(
            || "pack.tar".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        let file = self
            .api(
                Method::POST,
                "/v1/backgroundAssetUploadFiles",
                Some(json!({"data": {"type": "backgroundAssetUploadFiles",
                    "attributes": {"fileName": name, "fileSize": bytes.len(), "assetType": "ASSET"},
                    "relationships": {"backgroundAssetVersion": rel("backgroundAssetVersions", &version)}}})),
            )
            .await?;
        let file = expect_status("reserving the upload", 201, file)?;
        let file_id = id_of(&file)?;
        let ops = file["data"]["attributes"]["uploadOperations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for op in ops {
            let (Some(url), Some(offset), Some(length)) = (
                op["url"].as_str(),
                op["offset"].as_u64(),
                op["length"].as_u64(),
            ) else {
                return Err(BenchError::Setup(format!("odd upload operation {op}")));
            };
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let end = usize::try_from(offset + length)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let (status, body) = call(Method::PUT, url, None, bytes.slice(start..end), false)
                .await
                .map_err(setup_err("uploading a part"))?;
            if status != 200 {
                return Err(BenchError::Setup(format!(
                    "uploading a part: {status} {}",
                    String::from_utf8_lossy(&body)
                )));
            }
        }
        let sha = hex::encode(Sha256::digest(&bytes));
        let v = self
            .api(
                Method::PATCH,
                &format!("/v1/backgroundAssetUploadFiles/{file_id}"),
                Some(
                    json!({"data": {"type": "backgroundAssetUploadFiles", "id": file_id,
                    "attributes": {"uploaded": true,
                    "sourceFileChecksums": {"file": {"hash": sha, "algorithm": "SHA_256"}}}}}),
                ),
            )
            .await?;
        expect_status("committing the upload", 200, v)?;
        let path = format!("/v1/backgroundAssetVersions/{version}");
        let mut number = 0;
        for _ in 0..1200 {
            let (_, v) = self.api(Method::GET, &path, None).await?;
            match v["data"]["attributes"]["state"].as_str() {
                Some("COMPLETE") => {
                    number = v["data"]["attributes"]["version"]
                        .as_u64()
                        .or_else(|| v["data"]["attributes"]["version"].as_str()?.parse().ok())
                        .unwrap_or(0);
                    break;
                }
                Some("FAILED") => {
                    return Err(BenchError::Setup(format!("the version FAILED: {v}")));
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        if number == 0 {
            return Err(BenchError::Setup(format!(
                "version {version} did not become COMPLETE within 2 minutes"
            )));
        }
        Ok((version, number))
    }

    /// A user with the Reviewer role on `app`, and its key (reviewing needs that role).
    async fn reviewer(&mut self, app: &str) -> Result<String, BenchError> {
        if let Some(key) = &self.reviewer_key {
            return Ok(key.clone());
        }
        let v = self
            .api(
                Method::POST,
                "/v1/users",
                Some(json!({"data": {"type": "users", "attributes": {"name": "Bench Reviewer",
                    "email": "reviewer@bench.invalid", "roles": [{"app": app, "role": "REVIEWER"}]}}})),
            )
            .await?;
        let user = id_of(&expect_status("creating a reviewer", 201, v)?)?;
        let v = self
            .api(
                Method::POST,
                "/v1/apiKeys",
                Some(json!({"data": {"type": "apiKeys", 
                    "relationships": {"user": rel("users", &user)}}})),
            )
            .await?;
        let v = expect_status("creating the reviewer's key", 201, v)?;
        let key = v["data"]["attributes"]["key"]
            .as_str()
            .ok_or_else(|| BenchError::Setup(format!("no key in {v}")))?
            .to_owned();
        self.reviewer_key = Some(key.clone());
        Ok(key)
    }

    /// Submits `version` for store review, has it accepted, and releases it to the store in
    /// every region, so that its immutable URL is public.
    pub async fn release_to_store(&mut self, app: &str, version: &str) -> Result<(), BenchError> {
        let reviewer = self.reviewer(app).await?;
        let v = self
            .api(
                Method::POST,
                "/v1/reviewSubmissions",
                Some(json!({"data": {"type": "reviewSubmissions", "attributes": {"track": "APP_STORE"},
                    "relationships": {"backgroundAssetVersion": rel("backgroundAssetVersions", version)}}})),
            )
            .await?;
        let submission = id_of(&expect_status("submitting for review", 201, v)?)?;
        for state in ["IN_REVIEW", "ACCEPTED"] {
            let v = self
                .api_as(
                    &reviewer,
                    Method::PATCH,
                    &format!("/v1/reviewSubmissions/{submission}"),
                    Some(
                        json!({"data": {"type": "reviewSubmissions", "id": submission,
                        "attributes": {"state": state}}}),
                    ),
                )
                .await?;
            expect_status(&format!("moving the review to {state}"), 200, v)?;
        }
        let v = self
            .api(
                Method::POST,
                "/v1/rollouts",
                Some(json!({"data": {"type": "rollouts", "attributes": {},
                    "relationships": {"backgroundAssetVersion": rel("backgroundAssetVersions", version)}}})),
            )
            .await?;
        let (status, body) = v;
        if status != 201 && status != 200 {
            return Err(BenchError::Setup(format!(
                "releasing to the store: {status} {body}"
            )));
        }
        Ok(())
    }

    /// Waits until the edge serves `path` (HEAD 200) without a token.
    pub async fn wait_served(&mut self, path: &str) -> Result<(), BenchError> {
        let url = format!("http://{}{path}", self.edge);
        let Self {
            control,
            origin,
            edge_proc,
            ..
        } = self;
        wait_until(
            &format!("the edge serves {path}"),
            Duration::from_secs(60),
            &mut [control, origin, edge_proc],
            || async {
                matches!(
                    call(Method::HEAD, &url, None, Bytes::new(), false).await,
                    Ok((200, _))
                )
            },
        )
        .await
    }

    /// Downloads `path` from the edge, whole, and returns its length.
    pub async fn download(&self, path: &str) -> Result<u64, BenchError> {
        let url = format!("http://{}{path}", self.edge);
        let (status, body) = call(Method::GET, &url, None, Bytes::new(), false)
            .await
            .map_err(setup_err(path))?;
        if status != 200 {
            return Err(BenchError::Setup(format!("GET {url}: {status}")));
        }
        Ok(body.len() as u64)
    }

    /// The value of a counter on the edge's `/metrics` page (0 when absent).
    pub async fn edge_metric(&self, name: &str) -> Result<f64, BenchError> {
        let url = format!("http://{}/metrics", self.edge);
        let (_, page) = call(Method::GET, &url, None, Bytes::new(), false)
            .await
            .map_err(setup_err("reading the edge's /metrics"))?;
        Ok(prometheus_value(&String::from_utf8_lossy(&page), name).unwrap_or(0.0))
    }
}

/// The body of `POST /v1/backgroundAssetVersions` for `pack`.
pub fn version_body(pack: &str) -> Value {
    json!({"data": {"type": "backgroundAssetVersions",
        "relationships": {"backgroundAsset": rel("backgroundAssets", pack)}}})
}

/// The immutable URL path of version `number` of pack `ident` in `app`.
pub fn pack_path(app: &str, ident: &str, number: u64) -> String {
    format!("/apps/{app}/packs/{ident}/versions/{number}")
}

/// The `packyard` binary: `explicit`, else `$CARGO_TARGET_DIR/release/packyard`, else
/// `target/release/packyard` next to the workspace.
pub fn find_packyard(explicit: Option<&Path>) -> Result<PathBuf, BenchError> {
    let candidates: Vec<PathBuf> = match explicit {
        Some(p) => vec![p.to_path_buf()],
        None => {
            let mut v = Vec::new();
            if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
                v.push(PathBuf::from(dir).join("release/packyard"));
            }
            v.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/packyard"));
            v
        }
    };
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            BenchError::Setup(format!(
                "no packyard binary at {}; build it with `cargo build --release -p packyard-cli` \
                 or pass --packyard-bin",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ))
        })
}
