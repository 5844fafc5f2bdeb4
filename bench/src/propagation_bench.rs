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
//! The bench speaks HTTP/1.1 over `std::net` itself, so it needs neither an async runtime
//! nor the control-plane crate (which links RocksDB).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use packyard_bench::machine::Machine;
use packyard_core::rollout::bucket;
use packyard_net::cluster::NodeRole;
use packyard_origin::ingest::ChunkingParams;
use serde::Serialize;
use serde_json::{Value, json};

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
    let mut rows = Vec::new();
    for &edges in &args.edges {
        eprintln!(
            "measuring {} rollout steps with {edges} edges …",
            args.steps
        );
        rows.push(measure(&packyard, edges, args.steps, &args.work_dir)?);
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

fn measure(packyard: &Path, n: usize, steps: usize, work: &Path) -> anyhow::Result<Row> {
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
    let api = Api { addr: admin };
    wait("the control plane answers", || {
        Ok(api.call("GET", "/v1/apps", None)?.0 == 200)
    })?;
    wait("every edge registers", || {
        let (_, v) = api.call("GET", "/v1/edges", None)?;
        Ok(v["data"].as_array().map_or(0, Vec::len) == n)
    })?;
    wait("the origin is up", || {
        Ok(http(&upload, "GET", "/healthz", None, &[])?.0 == 200)
    })?;
    let setup = Setup::create(&api, d)?;
    let probe = Probe::new(&setup.app, &setup.pack);

    // Version 1 everywhere; then rollout cycles of version 2.
    api.ok("POST", "/v1/rollouts", &setup.rollout_body(&setup.v1, None))?;
    await_everywhere(&edges, &setup.app, &probe.early, 1, Instant::now())?;
    let plan = json!({"stages": [
        {"regions": ["*"], "percentage": 10},
        {"regions": ["*"], "percentage": 50},
        {"regions": ["*"], "percentage": 100},
    ]});
    let (mut from_commit, mut from_request) = (Vec::new(), Vec::new());
    let mut rollout = String::new();
    let mut step = 0;
    while from_commit.len() < steps {
        // start → the early device gets 2; advance → the late one too; roll back → both 1.
        let (method, path, body, device, version) = match step % 3 {
            0 => (
                "POST",
                "/v1/rollouts".to_owned(),
                setup.rollout_body(&setup.v2, Some(plan.clone())),
                &probe.early,
                2,
            ),
            1 => (
                "PATCH",
                format!("/v1/rollouts/{rollout}"),
                action(&rollout, "ADVANCE"),
                &probe.late,
                2,
            ),
            _ => (
                "PATCH",
                format!("/v1/rollouts/{rollout}"),
                action(&rollout, "ROLL_BACK"),
                &probe.late,
                1,
            ),
        };
        let sent = Instant::now();
        let (status, doc) = api.call(method, &path, Some(&body))?;
        let acknowledged = Instant::now();
        if !(200..300).contains(&status) {
            bail!("{method} {path}: {status} {doc}");
        }
        if step % 3 == 0 {
            rollout = doc["data"]["id"].as_str().unwrap_or_default().to_owned();
        }
        let done = await_everywhere(&edges, &setup.app, device, version, sent)?;
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

fn action(rollout: &str, action: &str) -> Value {
    json!({"data": {"type": "rollouts", "id": rollout, "attributes": {"action": action}}})
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

/// Polls every edge (one thread each) until each lists `version` for `device` in its store
/// manifest; returns when the last one did.
fn await_everywhere(
    edges: &[String],
    app: &str,
    device: &str,
    version: u64,
    since: Instant,
) -> anyhow::Result<Instant> {
    let failed = Arc::new(AtomicBool::new(false));
    let path = format!("/apps/{app}/store/manifest?platform=iOS&os=27.0&device={device}");
    let seen: Vec<Option<Instant>> = std::thread::scope(|s| {
        let handles: Vec<_> = edges
            .iter()
            .map(|edge| {
                let (path, failed) = (&path, Arc::clone(&failed));
                s.spawn(move || {
                    while since.elapsed() < STEP_DEADLINE && !failed.load(Ordering::Relaxed) {
                        if let Ok((200, body)) = http(edge, "GET", path, None, &[]) {
                            let listed = serde_json::from_slice::<Value>(&body)
                                .ok()
                                .and_then(|m| m["assetPacks"][0]["version"].as_u64());
                            if listed == Some(version) {
                                return Some(Instant::now());
                            }
                        }
                        std::thread::sleep(POLL_GAP);
                    }
                    failed.store(true, Ordering::Relaxed);
                    None
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    match seen.iter().copied().collect::<Option<Vec<Instant>>>() {
        Some(all) => Ok(all.into_iter().max().unwrap_or(since)),
        None => bail!(
            "not every edge served version {version} to {device} within {} s",
            STEP_DEADLINE.as_secs()
        ),
    }
}

/// Polls `check` every 100 ms for up to a minute.
fn wait(what: &str, mut check: impl FnMut() -> anyhow::Result<bool>) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if check().unwrap_or(false) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what}: not within 60 s")
}

/// The admin API as the operator.
struct Api {
    addr: String,
}

impl Api {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<(u16, Value)> {
        let bytes = body.map(serde_json::to_vec).transpose()?;
        let auth = format!("Bearer {KEY}");
        let mut headers = vec![("Authorization", auth.as_str())];
        if bytes.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        let (status, body) = http(&self.addr, method, path, bytes.as_deref(), &headers)?;
        Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
    }

    fn ok(&self, method: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
        let (status, doc) = self.call(method, path, Some(body))?;
        if !(200..300).contains(&status) {
            bail!("{method} {path}: {status} {doc}");
        }
        Ok(doc)
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
    fn create(api: &Api, dir: &Path) -> anyhow::Result<Self> {
        let rel = |kind: &str, id: &str| json!({"data": {"type": kind, "id": id}});
        let id = |doc: &Value| doc["data"]["id"].as_str().unwrap_or_default().to_owned();
        let app = id(&api.ok(
            "POST",
            "/v1/apps",
            &json!({"data": {"type": "apps", "attributes": {"name": "Bench",
                "bundleId": "com.example.propagation", "primaryLanguage": "en"}}}),
        )?);
        let user = id(&api.ok(
            "POST",
            "/v1/users",
            &json!({"data": {"type": "users", "attributes": {"name": "Reviewer",
                "email": "reviewer@example.com", "roles": [{"app": app, "role": "REVIEWER"}]}}}),
        )?);
        let key = api.ok(
            "POST",
            "/v1/apiKeys",
            &json!({"data": {"type": "apiKeys", "relationships": {"user": rel("users", &user)}}}),
        )?["data"]["attributes"]["key"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let pack = id(&api.ok(
            "POST",
            "/v1/backgroundAssets",
            &json!({"data": {"type": "backgroundAssets", "attributes": {"assetPackIdentifier": "level-1"},
                "relationships": {"app": rel("apps", &app)}}}),
        )?);
        let mut versions = Vec::new();
        for variant in 1..=2u8 {
            let archive = archive(dir, variant)?;
            let v = upload(api, &pack, &archive)?;
            accept(api, &key, &v)?;
            versions.push(v);
        }
        Ok(Self {
            app,
            pack,
            v2: versions.pop().unwrap_or_default(),
            v1: versions.pop().unwrap_or_default(),
        })
    }

    fn rollout_body(&self, version: &str, attributes: Option<Value>) -> Value {
        let mut data = json!({"type": "rollouts", "relationships": {"backgroundAssetVersion":
            {"data": {"type": "backgroundAssetVersions", "id": version}}}});
        if let Some(a) = attributes {
            data["attributes"] = a;
        }
        json!({ "data": data })
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

/// Uploads `archive` as a new version of `pack` and waits until it is COMPLETE.
fn upload(api: &Api, pack: &str, archive: &[u8]) -> anyhow::Result<String> {
    let v = api.ok(
        "POST",
        "/v1/backgroundAssetVersions",
        &json!({"data": {"type": "backgroundAssetVersions", "relationships": {
            "backgroundAsset": {"data": {"type": "backgroundAssets", "id": pack}}}}}),
    )?;
    let version = v["data"]["id"].as_str().unwrap_or_default().to_owned();
    let file = api.ok(
        "POST",
        "/v1/backgroundAssetUploadFiles",
        &json!({"data": {"type": "backgroundAssetUploadFiles",
            "attributes": {"fileName": "pack.tar", "fileSize": archive.len(), "assetType": "ASSET"},
            "relationships": {"backgroundAssetVersion": {
                "data": {"type": "backgroundAssetVersions", "id": version}}}}}),
    )?;
    let file_id = file["data"]["id"].as_str().unwrap_or_default().to_owned();
    for op in file["data"]["attributes"]["uploadOperations"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let url = op["url"].as_str().unwrap_or_default();
        let (offset, length) = (
            usize::try_from(op["offset"].as_u64().unwrap_or(0))?,
            usize::try_from(op["length"].as_u64().unwrap_or(0))?,
        );
        let rest = url
            .strip_prefix("http://")
            .context("an upload URL is not http://")?;
        let (addr, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let part = archive
            .get(offset..offset + length)
            .context("an upload operation lies outside the archive")?;
        let (status, body) = http(addr, "PUT", path, Some(part), &[])?;
        if status != 200 {
            bail!("PUT {url}: {status} {}", String::from_utf8_lossy(&body));
        }
    }
    let sha = sha256_hex(archive)?;
    api.ok(
        "PATCH",
        &format!("/v1/backgroundAssetUploadFiles/{file_id}"),
        &json!({"data": {"type": "backgroundAssetUploadFiles", "id": file_id, "attributes": {
            "uploaded": true, "sourceFileChecksums": {"file": {"hash": sha, "algorithm": "SHA_256"}}}}}),
    )?;
    wait("the version is COMPLETE", || {
        let (_, v) = api.call(
            "GET",
            &format!("/v1/backgroundAssetVersions/{version}"),
            None,
        )?;
        Ok(v["data"]["attributes"]["state"] == "COMPLETE")
    })?;
    Ok(version)
}

/// The SHA-256 the upload is committed with, computed by the origin's own ingest pass.
fn sha256_hex(bytes: &[u8]) -> anyhow::Result<String> {
    let mut sink = |_, _: &[u8]| Ok::<(), std::convert::Infallible>(());
    let ingested = packyard_origin::ingest::ingest(bytes, &ChunkingParams::default(), &mut sink)
        .map_err(|e| anyhow::anyhow!("hashing the archive: {e}"))?;
    Ok(ingested.sha256.iter().map(|b| format!("{b:02x}")).collect())
}

/// Takes `version` through store review to ACCEPTED, the review done by `reviewer`.
fn accept(api: &Api, reviewer: &str, version: &str) -> anyhow::Result<()> {
    let sub = api.ok(
        "POST",
        "/v1/reviewSubmissions",
        &json!({"data": {"type": "reviewSubmissions", "attributes": {"track": "APP_STORE"},
            "relationships": {"backgroundAssetVersion": {
                "data": {"type": "backgroundAssetVersions", "id": version}}}}}),
    )?;
    let sub = sub["data"]["id"].as_str().unwrap_or_default().to_owned();
    let as_reviewer = Api {
        addr: api.addr.clone(),
    };
    for state in ["IN_REVIEW", "ACCEPTED"] {
        let body = serde_json::to_vec(&json!({"data": {"type": "reviewSubmissions", "id": sub,
            "attributes": {"state": state}}}))?;
        let auth = format!("Bearer {reviewer}");
        let (status, doc) = http(
            &as_reviewer.addr,
            "PATCH",
            &format!("/v1/reviewSubmissions/{sub}"),
            Some(&body),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
        )?;
        if status != 200 {
            bail!("review {state}: {status} {}", String::from_utf8_lossy(&doc));
        }
    }
    Ok(())
}

/// One HTTP/1.1 request on a new connection; returns the status and the body.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    headers: &[(&str, &str)],
) -> anyhow::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_nodelay(true)?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or_default();
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("a response without a blank line after its head")?;
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("a response without a status")?;
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    for line in head.lines().skip(1) {
        if let Some((k, v)) = line.split_once(':') {
            fields.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let raw = response[split + 4..].to_vec();
    let body = if fields
        .get("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        dechunk(&raw)?
    } else {
        raw
    };
    Ok((status, body))
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("a chunk without a size line")?;
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(raw.get(..size).context("a chunk cut short")?);
        raw = raw.get(size + 2..).unwrap_or_default();
    }
}
