//! [`Packyard`]: a control plane, an origin and an edge started as `packyard` processes on free
//! ports, and the admin API calls that put packs on the edge (upload, wait for COMPLETE,
//! review, release to the store), made with `packyard-admin-client` as an operator would.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use packyard_admin_client::{AdminClient, NewApp, NewPack, Role};
use packyard_net::cluster::NodeRole;

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
    /// The admin API as the operator.
    client: AdminClient,
    /// The admin API as a Reviewer of the app whose versions are released, once there is one.
    reviewer: Option<AdminClient>,
}

fn s(p: &Path) -> OsString {
    p.as_os_str().to_owned()
}

fn setup_err(what: &str) -> impl FnOnce(String) -> BenchError + '_ {
    move |reason| BenchError::Setup(format!("{what}: {reason}"))
}

impl Packyard {
    /// Starts the three processes from the `packyard` binary `bin`, data under `dir`, and
    /// waits until the admin API and the origin answer.
    pub async fn start(bin: &Path, dir: &Path, edge: &EdgeSetup) -> Result<Self, BenchError> {
        Self::start_with(bin, dir, edge, None).await
    }

    /// [`Packyard::start`] with the origin configured by the TOML `origin_toml` (its
    /// `[store]`, say) under the flags.
    pub async fn start_with(
        bin: &Path,
        dir: &Path,
        edge: &EdgeSetup,
        origin_toml: Option<&str>,
    ) -> Result<Self, BenchError> {
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
        if let Some(toml) = origin_toml {
            let file = dir.join("origin.toml");
            std::fs::write(&file, toml).map_err(io_err("write", &file))?;
            origin_args.push("--config".into());
            origin_args.push(s(&file));
        }
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
        let client = AdminClient::new(&format!("http://{admin}"), ADMIN_KEY, None)?;
        wait_until(
            "the control plane's admin API answers",
            Duration::from_secs(60),
            &mut [&mut control, &mut origin, &mut edge_proc],
            || async {
                matches!(
                    client.send(Method::GET, "/v1/apps", None).await,
                    Ok(answer) if answer.status == 200
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
            client,
            reviewer: None,
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

    /// Creates an app; returns its id.
    pub async fn create_app(&self, bundle_id: &str) -> Result<String, BenchError> {
        let app = NewApp::new(bundle_id, bundle_id);
        Ok(self.client.create_app(&app).await?.id)
    }

    /// Creates a pack `ident` in `app`; returns its id.
    pub async fn create_pack(&self, app: &str, ident: &str) -> Result<String, BenchError> {
        Ok(self.client.create_pack(&NewPack::new(app, ident)).await?.id)
    }

    /// Uploads `archive` as a new version of `pack` and waits until it is COMPLETE; returns the
    /// version's id and number.
    pub async fn upload(&self, pack: &str, archive: &Path) -> Result<(String, u64), BenchError> {
        let bytes = std::fs::read(archive).map_err(io_err("read", archive))?;
        let name = archive.file_name().map_or_else(
            || "pack.tar".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        let version = self
            .client
            .upload_complete(pack, &name, &bytes, Duration::from_secs(1800))
            .await?;
        Ok((version.id, version.number))
    }

    /// Sends `archive` (cut as `cut`) as a new version of `pack`, in chunks, only those the
    /// store lacks, `in_flight` at once, and waits until it is COMPLETE; returns the
    /// version's id and number and what was sent.
    pub async fn upload_chunks(
        &self,
        pack: &str,
        archive: &Path,
        cut: &packyard_origin::ingest::Cut,
        in_flight: usize,
    ) -> Result<(String, u64, packyard_admin_client::SentChunks), BenchError> {
        let sha256 = packyard_core::catalog::Sha256Digest(cut.sha256).to_hex();
        let (version, sent) = self
            .client
            .upload_chunks_complete(
                pack,
                archive,
                &cut.chunks,
                &sha256,
                in_flight,
                Duration::from_secs(1800),
            )
            .await?;
        Ok((version.id, version.number, sent))
    }

    /// Submits `version` for store review, has it accepted by a Reviewer of `app`, and
    /// releases it to the store in every region, so that its immutable URL is public.
    pub async fn release_to_store(&mut self, app: &str, version: &str) -> Result<(), BenchError> {
        let reviewer = match &self.reviewer {
            Some(reviewer) => reviewer.clone(),
            None => {
                let reviewer = self
                    .client
                    .member(
                        app,
                        Role::Reviewer,
                        "Bench Reviewer",
                        "reviewer@bench.invalid",
                    )
                    .await?;
                self.reviewer.insert(reviewer).clone()
            }
        };
        Ok(self.client.release_to_store(&reviewer, version).await?)
    }

    /// A tester token for `app`'s internal beta channel, living `lifetime_secs`.
    pub async fn tester_token(&self, app: &str, lifetime_secs: u64) -> Result<String, BenchError> {
        let token = packyard_admin_client::NewTesterToken {
            app: app.to_owned(),
            channel: packyard_admin_client::BetaChannel::Internal,
            expires_in_seconds: Some(lifetime_secs),
        };
        Ok(self.client.create_tester_token(&token).await?.token)
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
            // An installed bench sits next to the packyard it measures.
            if let Some(dir) = std::env::current_exe()
                .ok()
                .and_then(|e| e.parent().map(Path::to_path_buf))
            {
                v.push(dir.join("packyard"));
            }
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
