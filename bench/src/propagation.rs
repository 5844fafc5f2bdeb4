//! [`run_propagation`] (`packyard-bench propagation`): how long a rollout step takes from its
//! commit to every edge serving accordingly, for a few fleet sizes, on loopback.
//!
//! It starts the `packyard` binary as processes (one control-plane node, one origin, N
//! edges alternating between regions `eu` and `us`), uploads two versions of a pack through
//! the admin API, releases the first, and then repeats a rollout cycle of the second:
//! start (stage 1: every region at 10 %), advance (every region at 50 %), roll back. Each
//! step changes what one probe device gets (a device in the 10 % bucket range for the start
//! and the roll back, one in the 10–50 % range for the advance). One thread per edge polls
//! that edge's store manifest for the probe device until it lists the expected version; the
//! step's propagation time is the slowest edge's.
//!
//! Two clocks are reported per step: from the moment the admin API acknowledged the step
//! (the command is committed and applied on the leader) and from the moment the request was
//! sent (which adds the Raft commit itself: a synced RocksDB write).
//!
//! The processes are [`ChildProc`]s; the admin API is driven with `packyard-admin-client`;
//! the edges are polled with one fresh HTTP/1.1 connection per request (`side::http_call`),
//! as a device without keep-alive would.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Method;
use packyard_admin_client::{
    AdminClient, NewApp, NewPack, NewRollout, ReviewTrack, Role, RolloutAction, Stage,
};
use packyard_core::rollout::bucket;
use packyard_net::cluster::NodeRole;
use serde::Serialize;
use serde_json::Value;

use crate::error::{BenchError, io_err};
use crate::machine::Machine;
use crate::side::http_call::call;
use crate::side::proc::{ChildProc, free_addr, wait_until};

const KEY: &str = "pyk_propagation-bench-0123456789abcdef01234";
/// How long one step may take before the bench gives up on it.
const STEP_DEADLINE: Duration = Duration::from_secs(30);
/// How long an edge poller waits between two requests.
const POLL_GAP: Duration = Duration::from_millis(2);

/// What to measure.
#[derive(Debug, Clone)]
pub struct PropagationConfig {
    /// Fleet sizes (edges per run).
    pub edges: Vec<usize>,
    /// Measured rollout steps per fleet size (start, advance and roll back, in turn).
    pub steps: usize,
    /// The `packyard` binary.
    pub packyard: PathBuf,
    /// Where the processes keep their data (a temporary directory inside it).
    pub work_dir: PathBuf,
}

/// One fleet size's result, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Edges in the fleet.
    pub edges: usize,
    /// Steps measured.
    pub steps: usize,
    /// From the acknowledged commit to every edge serving the step.
    pub from_commit: Percentiles,
    /// From the request being sent (commit included).
    pub from_request: Percentiles,
}

/// Nearest-rank percentiles of step times, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// The slowest step.
    pub max: f64,
}

impl Percentiles {
    fn of(mut ms: Vec<f64>) -> Self {
        ms.sort_by(f64::total_cmp);
        // Nearest rank: the smallest value with at least `percent` % of values at or below it.
        let at = |percent: usize| {
            let rank = (percent * ms.len()).div_ceil(100).clamp(1, ms.len().max(1));
            ms.get(rank - 1).copied().unwrap_or(f64::NAN)
        };
        Self {
            p50: at(50),
            p90: at(90),
            p99: at(99),
            max: ms.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// What [`run_propagation`] measured.
#[derive(Debug, Serialize)]
pub struct PropagationReport {
    /// Where it ran.
    pub machine: Machine,
    /// One row per fleet size.
    pub rows: Vec<Row>,
}

/// Starts a fleet per size in `config.edges` and measures `config.steps` rollout steps on it.
pub async fn run_propagation(config: &PropagationConfig) -> Result<PropagationReport, BenchError> {
    if config.steps == 0 || config.edges.contains(&0) {
        return Err(BenchError::Setup(
            "--steps and every --edges must be at least 1".into(),
        ));
    }
    let mut rows = Vec::new();
    for &edges in &config.edges {
        eprintln!(
            "measuring {} rollout steps with {edges} edges …",
            config.steps
        );
        rows.push(measure(&config.packyard, edges, config.steps, &config.work_dir).await?);
    }
    Ok(PropagationReport {
        machine: Machine::current(),
        rows,
    })
}

impl fmt::Display for PropagationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Rollout propagation: a committed rollout step until every edge serves it \
             (loopback; 1 control node, 1 origin; {} CPUs, {})\n",
            self.machine.cpus, self.machine.cpu_model
        )?;
        writeln!(
            f,
            "| edges | steps | p50 ms | p90 ms | p99 ms | max ms | p50 ms incl. commit | p99 ms incl. commit |\n\
             |---:|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        for r in &self.rows {
            let (c, q) = (&r.from_commit, &r.from_request);
            writeln!(
                f,
                "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
                r.edges, r.steps, c.p50, c.p90, c.p99, c.max, q.p50, q.p99
            )?;
        }
        Ok(())
    }
}

/// The processes of one fleet, stopped when dropped.
struct Fleet {
    procs: Vec<ChildProc>,
    /// The folder of the processes' cluster certificates.
    tls: PathBuf,
    /// Where their logs go.
    dir: PathBuf,
}

impl Fleet {
    fn spawn(&mut self, packyard: &Path, name: &str, args: &[&str]) -> Result<(), BenchError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let tls = self.tls.to_string_lossy().into_owned();
        let envs = [
            ("PACKYARD_ADMIN_KEY", KEY),
            ("PACKYARD_CLUSTER_TLS_DIR", tls.as_str()),
            ("PACKYARD_LOG", "warn"),
        ];
        let proc = ChildProc::spawn(name, packyard, &args, &envs, None, &self.dir)?;
        self.procs.push(proc);
        Ok(())
    }
}

async fn measure(packyard: &Path, n: usize, steps: usize, work: &Path) -> Result<Row, BenchError> {
    let dir = tempfile::Builder::new()
        .prefix("packyard-bench-propagation-")
        .tempdir_in(work)
        .map_err(io_err("create a folder in", work))?;
    let d = dir.path();
    let path = |name: &str| d.join(name).to_string_lossy().into_owned();
    let (admin, raft) = (free_addr()?.to_string(), free_addr()?.to_string());
    let (upload, chunks) = (free_addr()?.to_string(), free_addr()?.to_string());
    let mut nodes = vec![
        (NodeRole::Control, "1".to_owned()),
        (NodeRole::Origin, "1".to_owned()),
    ];
    nodes.extend((0..n).map(|i| (NodeRole::Edge, format!("edge-{i}"))));
    let nodes: Vec<(NodeRole, &str)> = nodes.iter().map(|(r, id)| (*r, id.as_str())).collect();
    let mut fleet = Fleet {
        procs: Vec::new(),
        tls: crate::side::cluster_tls::issue(d, &nodes)?,
        dir: d.to_path_buf(),
    };
    let origin_url = format!("http://{upload}");
    fleet.spawn(
        packyard,
        "control",
        &[
            "control",
            "--data",
            &path("control"),
            "--admin-addr",
            &admin,
            "--raft-addr",
            &raft,
            "--origin-url",
            &origin_url,
        ],
    )?;
    fleet.spawn(
        packyard,
        "origin",
        &[
            "origin",
            "--data",
            &path("origin"),
            "--upload-addr",
            &upload,
            "--grpc-addr",
            &chunks,
            "--control-plane",
            &raft,
        ],
    )?;
    let mut edges = Vec::new();
    for i in 0..n {
        let addr = free_addr()?.to_string();
        let (id, region) = (format!("edge-{i}"), ["eu", "us"][i % 2]);
        fleet.spawn(
            packyard,
            &id,
            &[
                "edge",
                "--data",
                &path(&id),
                "--http-addr",
                &addr,
                "--edge-id",
                &id,
                "--region",
                region,
                "--control-plane",
                &raft,
                "--origin",
                &chunks,
            ],
        )?;
        edges.push(addr);
    }
    let api = AdminClient::new(&format!("http://{admin}"), KEY, None)?;
    let minute = Duration::from_secs(60);
    let mut procs: Vec<&mut ChildProc> = fleet.procs.iter_mut().collect();
    wait_until("the control plane answers", minute, &mut procs, || async {
        api.send(Method::GET, "/v1/apps", None)
            .await
            .is_ok_and(|r| r.status == 200)
    })
    .await?;
    wait_until("every edge registers", minute, &mut procs, || async {
        api.get("/v1/edges")
            .await
            .is_ok_and(|e| e["data"].as_array().map_or(0, Vec::len) == n)
    })
    .await?;
    let health = format!("http://{upload}/healthz");
    wait_until("the origin is up", minute, &mut procs, || async {
        matches!(
            call(Method::GET, &health, None, Bytes::new(), false).await,
            Ok((200, _))
        )
    })
    .await?;
    let setup = Setup::create(&api, d).await?;
    let probe = Probe::new(&setup.app, &setup.pack);

    // Version 1 everywhere; then rollout cycles of version 2.
    api.create_rollout(&NewRollout::everywhere(&setup.v1))
        .await?;
    await_everywhere(&edges, &setup.app, &probe.early, 1, Instant::now()).await?;
    let plan = NewRollout::staged(
        &setup.v2,
        [10, 50, 100].map(|share| Stage::new(["*"], share)).to_vec(),
    );
    let (mut from_commit, mut from_request) = (Vec::new(), Vec::new());
    let mut rollout = String::new();
    let mut step = 0;
    while from_commit.len() < steps {
        // start → the early device gets 2; advance → the late one too; roll back → both 1.
        let sent = Instant::now();
        let (device, version) = match step % 3 {
            0 => {
                rollout = api.create_rollout(&plan).await?.id;
                (&probe.early, 2)
            }
            1 => {
                api.steer_rollout(&rollout, RolloutAction::Advance).await?;
                (&probe.late, 2)
            }
            _ => {
                api.steer_rollout(&rollout, RolloutAction::RollBack).await?;
                (&probe.late, 1)
            }
        };
        let acknowledged = Instant::now();
        let done = await_everywhere(&edges, &setup.app, device, version, sent).await?;
        let ms = |from: Instant| done.saturating_duration_since(from).as_secs_f64() * 1e3;
        from_commit.push(ms(acknowledged));
        from_request.push(ms(sent));
        step += 1;
    }
    drop(fleet);
    Ok(Row {
        edges: n,
        steps,
        from_commit: Percentiles::of(from_commit),
        from_request: Percentiles::of(from_request),
    })
}

/// Two device ids: one the first stage (10 %) reaches, one only the second (50 %) does.
struct Probe {
    early: String,
    late: String,
}

impl Probe {
    fn new(app: &str, pack: &str) -> Self {
        let find = |range: std::ops::Range<u32>| {
            (0..)
                .map(|i| format!("probe-{i}"))
                .find(|d| range.contains(&bucket(app, pack, d)))
                .unwrap_or_default()
        };
        Self {
            early: find(0..1_000),
            late: find(1_000..5_000),
        }
    }
}

/// Polls every edge (one task each) until each lists `version` for `device` in its store
/// manifest; returns when the last one did.
async fn await_everywhere(
    edges: &[String],
    app: &str,
    device: &str,
    version: u64,
    since: Instant,
) -> Result<Instant, BenchError> {
    let failed = Arc::new(AtomicBool::new(false));
    let pollers: Vec<_> = edges
        .iter()
        .map(|edge| {
            let url = format!(
                "http://{edge}/apps/{app}/store/manifest?platform=iOS&os=27.0&device={device}"
            );
            let failed = Arc::clone(&failed);
            tokio::spawn(async move {
                while since.elapsed() < STEP_DEADLINE && !failed.load(Ordering::Relaxed) {
                    if let Ok((200, body)) =
                        call(Method::GET, &url, None, Bytes::new(), false).await
                    {
                        let listed = serde_json::from_slice::<Value>(&body)
                            .ok()
                            .and_then(|m| m["assetPacks"][0]["version"].as_u64());
                        if listed == Some(version) {
                            return Some(Instant::now());
                        }
                    }
                    tokio::time::sleep(POLL_GAP).await;
                }
                failed.store(true, Ordering::Relaxed);
                None
            })
        })
        .collect();
    let mut seen = Vec::new();
    for poller in pollers {
        seen.push(poller.await.ok().flatten());
    }
    match seen.into_iter().collect::<Option<Vec<Instant>>>() {
        Some(all) => Ok(all.into_iter().max().unwrap_or(since)),
        None => Err(BenchError::Setup(format!(
            "not every edge served version {version} to {device} within {} s",
            STEP_DEADLINE.as_secs()
        ))),
    }
}

/// An app with a Reviewer and a pack with two COMPLETE, ACCEPTED versions.
struct Setup {
    app: String,
    pack: String,
    v1: String,
    v2: String,
}

impl Setup {
    async fn create(api: &AdminClient, dir: &Path) -> Result<Self, BenchError> {
        let app = NewApp::new("Bench", "com.example.propagation").primary_language("en");
        let app = api.create_app(&app).await?.id;
        let reviewer = api
            .member(&app, Role::Reviewer, "Reviewer", "reviewer@example.com")
            .await?;
        let pack = api.create_pack(&NewPack::new(&app, "level-1")).await?.id;
        let mut versions = Vec::new();
        for variant in 1..=2u8 {
            let archive = archive(dir, variant)?;
            let v = api
                .upload_complete(&pack, "pack.tar", &archive, Duration::from_secs(60))
                .await?;
            api.accept(&reviewer, &v.id, ReviewTrack::AppStore).await?;
            versions.push(v.id);
        }
        Ok(Self {
            app,
            pack,
            v2: versions.pop().unwrap_or_default(),
            v1: versions.pop().unwrap_or_default(),
        })
    }
}

/// A small pack archive; each variant has different bytes.
fn archive(dir: &Path, variant: u8) -> Result<Vec<u8>, BenchError> {
    let src = dir.join(format!("src-{variant}"));
    std::fs::create_dir_all(&src).map_err(io_err("create", &src))?;
    let data = src.join("data.bin");
    std::fs::write(&data, vec![variant; 256 * 1024]).map_err(io_err("write", &data))?;
    let manifest = src.join("Manifest.json");
    std::fs::write(
        &manifest,
        r#"{"assetPackID": "level-1", "downloadPolicy": {"onDemand": {}},
            "fileSelectors": [{"file": "data.bin"}], "platforms": ["iOS"]}"#,
    )
    .map_err(io_err("write", &manifest))?;
    let out = dir.join(format!("pack-{variant}.tar"));
    packyard_pack::build(&manifest, None, &out, packyard_pack::NoProgress)?;
    std::fs::read(&out).map_err(io_err("read", &out))
}
