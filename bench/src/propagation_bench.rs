//! `packyard-bench propagation`: how long a rollout step takes from its commit to every edge
//! serving accordingly, for a few fleet sizes, on loopback.
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
//! The admin API is driven with `packyard-admin-client`; the edges are polled with one fresh
//! HTTP/1.1 connection per request (`side::http_call`), as a device without keep-alive
//! would. Neither needs the control-plane crate (which links RocksDB).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Args;
use http::Method;
use packyard_admin_client::{
    AdminClient, NewApp, NewPack, NewRollout, ReviewTrack, Role, RolloutAction, Stage,
};
use packyard_bench::machine::Machine;
use packyard_bench::side::http_call::call;
use packyard_core::rollout::bucket;
use packyard_net::cluster::NodeRole;
use serde::Serialize;
use serde_json::Value;

const KEY: &str = "pyk_propagation-bench-0123456789abcdef01234";
/// How long one step may take before the bench gives up on it.
const STEP_DEADLINE: Duration = Duration::from_secs(30);
/// How long an edge poller waits between two requests.
const POLL_GAP: Duration = Duration::from_millis(2);

/// Flags of `packyard-bench propagation`.
#[derive(Debug, Args)]
pub(crate) struct PropagationArgs {
    /// Fleet sizes to measure (repeat the flag).
    #[arg(long = "edges", default_values_t = [3, 20])]
    edges: Vec<usize>,
    /// Measured rollout steps per fleet size (start, advance and roll back, in turn).
    #[arg(long, default_value_t = 60)]
    steps: usize,
    /// The `packyard` binary [default: next to this one, else on PATH].
    #[arg(long)]
    packyard: Option<PathBuf>,
    /// Where the processes keep their data (a temporary directory inside it).
    #[arg(long, env = "TMPDIR", default_value = "/tmp")]
    work_dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// One fleet size's result, in milliseconds.
#[derive(Debug, Clone, Serialize)]
struct Row {
    edges: usize,
    steps: usize,
    /// From the acknowledged commit to every edge serving the step.
    from_commit: Percentiles,
    /// From the request being sent (commit included).
    from_request: Percentiles,
}

#[derive(Debug, Clone, Serialize)]
struct Percentiles {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
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

#[derive(Debug, Serialize)]
struct Report {
    machine: Machine,
    rows: Vec<Row>,
}

/// Runs the benchmark and prints its table.
pub(crate) fn run(args: &PropagationArgs) -> anyhow::Result<()> {
    if args.steps == 0 || args.edges.contains(&0) {
        bail!("--steps and every --edges must be at least 1");
    }
    let packyard = match &args.packyard {
        Some(p) => p.clone(),
        None => find_packyard().context(
            "packyard not found next to packyard-bench or on PATH; build it with \
             `cargo build --release -p packyard-cli` or pass --packyard",
        )?,
    };
    let runtime = crate::runtime()?;
    let mut rows = Vec::new();
    for &edges in &args.edges {
        eprintln!(
            "measuring {} rollout steps with {edges} edges …",
            args.steps
        );
        rows.push(runtime.block_on(measure(&packyard, edges, args.steps, &args.work_dir))?);
    }
    let report = Report {
        machine: Machine::current(),
        rows,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

fn table(report: &Report) -> String {
    let mut out = format!(
        "Rollout propagation: a committed rollout step until every edge serves it \
         (loopback; 1 control node, 1 origin; {} CPUs, {})\n\n",
        report.machine.cpus, report.machine.cpu_model
    );
    out.push_str(
        "| edges | steps | p50 ms | p90 ms | p99 ms | max ms | p50 ms incl. commit | p99 ms incl. commit |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in &report.rows {
        let c = &r.from_commit;
        let q = &r.from_request;
        out.push_str(&format!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            r.edges, r.steps, c.p50, c.p90, c.p99, c.max, q.p50, q.p99
        ));
    }
    out
}

fn find_packyard() -> Option<PathBuf> {
    let here = std::env::current_exe().ok()?;
    let sibling = here.parent()?.join("packyard");
    if sibling.is_file() {
        return Some(sibling);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("packyard"))
        .find(|candidate| candidate.is_file())
}

fn free_addr() -> anyhow::Result<String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.to_string())
}

/// The processes of one fleet, killed when dropped.
struct Fleet {
    children: Vec<Child>,
    /// The folder of the processes' cluster certificates.
    tls: PathBuf,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Fleet {
    fn spawn(&mut self, packyard: &Path, log: &Path, args: &[&str]) -> anyhow::Result<()> {
        let log = std::fs::File::create(log)?;
        let child = Command::new(packyard)
            .args(args)
            .env("PACKYARD_ADMIN_KEY", KEY)
            .env("PACKYARD_CLUSTER_TLS_DIR", &self.tls)
            .env("PACKYARD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", packyard.display()))?;
        self.children.push(child);
        Ok(())
    }
}

async fn measure(packyard: &Path, n: usize, steps: usize, work: &Path) -> anyhow::Result<Row> {
    let dir = tempfile::Builder::new()
        .prefix("packyard-bench-propagation-")
        .tempdir_in(work)?;
    let d = dir.path();
    let path = |name: &str| d.join(name).to_string_lossy().into_owned();
    let (admin, raft, upload, chunks) = (free_addr()?, free_addr()?, free_addr()?, free_addr()?);
    let mut nodes = vec![
        (NodeRole::Control, "1".to_owned()),
        (NodeRole::Origin, "1".to_owned()),
    ];
    nodes.extend((0..n).map(|i| (NodeRole::Edge, format!("edge-{i}"))));
    let nodes: Vec<(NodeRole, &str)> = nodes.iter().map(|(r, id)| (*r, id.as_str())).collect();
    let mut fleet = Fleet {
        children: Vec::new(),
        tls: packyard_bench::side::cluster_tls::issue(d, &nodes)?,
    };
    let origin_url = format!("http://{upload}");
    fleet.spawn(
        packyard,
        &d.join("control.log"),
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
        &d.join("origin.log"),
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
        let addr = free_addr()?;
        let (id, region) = (format!("edge-{i}"), ["eu", "us"][i % 2]);
        fleet.spawn(
            packyard,
            &d.join(format!("{id}.log")),
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
    wait("the control plane answers", || async {
        Ok(api.send(Method::GET, "/v1/apps", None).await?.status == 200)
    })
    .await?;
    wait("every edge registers", || async {
        let edges = api.get("/v1/edges").await?;
        Ok(edges["data"].as_array().map_or(0, Vec::len) == n)
    })
    .await?;
    let health = format!("http://{upload}/healthz");
    wait("the origin is up", || async {
        Ok(matches!(
            call(Method::GET, &health, None, Bytes::new(), false).await,
            Ok((200, _))
        ))
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
) -> anyhow::Result<Instant> {
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
        None => bail!(
            "not every edge served version {version} to {device} within {} s",
            STEP_DEADLINE.as_secs()
        ),
    }
}

/// Polls `check` every 100 ms for up to a minute.
async fn wait<F, Fut>(what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if check().await.unwrap_or(false) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{what}: not within 60 s")
}

/// An app with a Reviewer and a pack with two COMPLETE, ACCEPTED versions.
struct Setup {
    app: String,
    pack: String,
    v1: String,
    v2: String,
}

impl Setup {
    async fn create(api: &AdminClient, dir: &Path) -> anyhow::Result<Self> {
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
fn archive(dir: &Path, variant: u8) -> anyhow::Result<Vec<u8>> {
    let src = dir.join(format!("src-{variant}"));
    std::fs::create_dir_all(&src)?;
    std::fs::write(src.join("data.bin"), vec![variant; 256 * 1024])?;
    let manifest = src.join("Manifest.json");
    std::fs::write(
        &manifest,
        r#"{"assetPackID": "level-1", "downloadPolicy": {"onDemand": {}},
            "fileSelectors": [{"file": "data.bin"}], "platforms": ["iOS"]}"#,
    )?;
    let out = dir.join(format!("pack-{variant}.tar"));
    packyard_pack::build(&manifest, None, &out, packyard_pack::NoProgress)?;
    Ok(std::fs::read(out)?)
}
