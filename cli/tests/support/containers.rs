#![allow(dead_code, reason = "each test uses a part of it")]

//! `deploy/compose.yaml` as a test fixture: one Compose project per test (its own name, its
//! own volumes), the `packyard` CLI of this build pointed at it, its containers killed,
//! started and cut off from each other with iptables rules in `DOCKER-USER`, and everything
//! undone when the fixture is dropped, a failed test included: the rules are removed, the
//! last log lines of every container are printed and the project is taken down with its
//! volumes.
//!
//! The project publishes fixed host ports (7100, 7110, 7120, 7200, 7301-7303), so only one
//! can run at a time: the `containers` test group in `.config/nextest.toml` runs these tests
//! one by one.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use packyard_net::eventually::{eventually, within};
use serde_json::{Value, json};

pub(crate) use super::iptables::Cut;

/// The control-plane services and the host ports their admin APIs are published on.
pub(crate) const CONTROLS: [(&str, u16); 3] = [
    ("control-1", 7100),
    ("control-2", 7110),
    ("control-3", 7120),
];
/// The first origin's service name and its upload endpoint's host port (the control plane's
/// upload URLs lead there).
pub(crate) const ORIGIN: (&str, u16) = ("origin-1", 7200);
/// The second origin, over the same bucket.
pub(crate) const ORIGIN_2: (&str, u16) = ("origin-2", 7210);
/// The store's nodes (Garage).
pub(crate) const STORE_NODES: [&str; 3] = ["garage-1", "garage-2", "garage-3"];
/// The store's secrets for every test project: the nodes' RPC secret and the origins' key.
const STORE_ENV: [(&str, &str); 3] = [
    (
        "PACKYARD_GARAGE_RPC_SECRET",
        "6661756c7420746573747320736861726520746869732073656372657421aa01",
    ),
    ("PACKYARD_STORE_ACCESS_KEY_ID", "GK6661756c742d74657374732d"),
    (
        "PACKYARD_STORE_SECRET_ACCESS_KEY",
        "6661756c742074657374206b65792c206e6f7420666f722070726f64756374ff",
    ),
];
/// The edges' services and their host ports.
pub(crate) const EDGES: [(&str, u16); 3] = [
    ("edge-eu-1", 7301),
    ("edge-eu-2", 7302),
    ("edge-us-1", 7303),
];

/// Project names start with this, so `scripts/fault-tests.sh` can find and remove what a test
/// killed before its clean-up left behind; iptables rules carry it as their comment.
pub(crate) const PREFIX: &str = "pyfault";

/// Waits until `check` holds ([`eventually`]); panics naming `what` after `secs`. Returns
/// how long it took.
pub(crate) async fn wait_until(
    secs: u64,
    what: &str,
    check: impl AsyncFnMut() -> bool,
) -> Duration {
    let started = Instant::now();
    eventually(what, Duration::from_secs(secs), check).await;
    started.elapsed()
}

/// `len` random bytes, from the kernel.
pub(crate) fn random_bytes(len: usize) -> Vec<u8> {
    use std::io::Read as _;
    let mut buf = vec![0u8; len];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("reading /dev/urandom");
    buf
}

/// The compose command: `docker-compose` (v1) when installed, else the `docker compose`
/// plugin.
fn compose_command() -> Vec<String> {
    let v1 = Command::new("docker-compose")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if v1 {
        vec!["docker-compose".into()]
    } else {
        vec!["docker".into(), "compose".into()]
    }
}

/// Why a request got no answer: a timeout, or the error with its causes.
pub(crate) fn no_answer(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "no answer: timed out".to_owned();
    }
    let mut text = format!("no answer: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `program args…`, panicking with its output unless it succeeds; returns its stdout.
pub(crate) fn run_ok(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {} failed ({}):\n{}{}",
        args.join(" "),
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `docker args…`, which must succeed; its stdout, trimmed.
pub(crate) fn docker(args: &[&str]) -> String {
    run_ok("docker", args).trim().to_owned()
}

/// One Compose project of `deploy/compose.yaml`, up and ready (see [`Project::up`]).
pub(crate) struct Project {
    name: String,
    key: String,
    compose: Vec<String>,
    file: PathBuf,
    containers: Mutex<HashMap<String, String>>,
    work: tempfile::TempDir,
    /// The host port of the admin API the CLI talks to (control-1's unless told).
    admin: std::sync::atomic::AtomicU16,
    /// A client for the admin APIs, the origin and the edges: 10 s per request.
    pub(crate) http: reqwest::Client,
}

impl Project {
    /// Brings up a fresh project named after `test` (any earlier one of that name is removed
    /// first, volumes included) and waits until every control node answers `/readyz`, the
    /// origin `/healthz` and every edge `/readyz`.
    pub(crate) async fn up(test: &str) -> Self {
        let name = format!("{PREFIX}-{test}-{}", std::process::id());
        let key = format!("pyk_fault-test-{test}-0123456789abcdef0123456789");
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/compose.yaml");
        let project = Project {
            name,
            key,
            compose: compose_command(),
            file,
            containers: Mutex::new(HashMap::new()),
            work: tempfile::tempdir().expect("a temporary directory"),
            admin: std::sync::atomic::AtomicU16::new(CONTROLS[0].1),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .connect_timeout(Duration::from_secs(5))
                .build()
                .expect("an HTTP client"),
        };
        let started = Instant::now();
        let _ = project.compose(&["down", "-v", "--remove-orphans"]);
        let up = project.compose(&["up", "-d"]);
        assert!(
            up.status.success(),
            "compose up failed:\n{}{}",
            text(&up.stdout),
            text(&up.stderr)
        );
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/compose-store.sh");
        let store = Command::new(script)
            .args(&project.compose)
            .arg("-p")
            .arg(&project.name)
            .arg("-f")
            .arg(&project.file)
            .env("PACKYARD_ADMIN_KEY", &project.key)
            .envs(STORE_ENV)
            .output()
            .expect("running scripts/compose-store.sh");
        assert!(
            store.status.success(),
            "the store did not come up:\n{}{}",
            text(&store.stdout),
            text(&store.stderr)
        );
        for (service, port) in CONTROLS {
            project
                .wait_ok(120, &format!("{service} answers /readyz"), port, "/readyz")
                .await;
        }
        // Ready is not yet keyed: the leader writes the operator's key after it is elected,
        // and each node takes it when it applies that entry.
        for (service, port) in CONTROLS {
            wait_until(30, &format!("{service} takes the operator key"), || {
                project.keyed(port)
            })
            .await;
        }
        for (service, port) in [ORIGIN, ORIGIN_2] {
            project
                .wait_ok(60, &format!("{service} answers /healthz"), port, "/healthz")
                .await;
        }
        for (service, port) in EDGES {
            project
                .wait_ok(60, &format!("{service} answers /readyz"), port, "/readyz")
                .await;
        }
        eprintln!(
            "project {} up and ready in {:.1} s",
            project.name,
            started.elapsed().as_secs_f64()
        );
        project
    }

    /// The project's name (`docker-compose -p NAME`).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The operator's key (the bootstrap key).
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// A folder that lives as long as the project.
    pub(crate) fn work(&self) -> &Path {
        self.work.path()
    }

    fn compose(&self, args: &[&str]) -> Output {
        Command::new(&self.compose[0])
            .args(&self.compose[1..])
            .arg("-p")
            .arg(&self.name)
            .arg("-f")
            .arg(&self.file)
            .args(args)
            .env("PACKYARD_ADMIN_KEY", &self.key)
            .envs(STORE_ENV)
            .output()
            .expect("running compose")
    }

    /// The id of `service`'s container.
    pub(crate) fn container(&self, service: &str) -> String {
        let mut known = self.containers.lock().expect("not poisoned");
        if let Some(id) = known.get(service) {
            return id.clone();
        }
        let out = self.compose(&["ps", "-q", service]);
        let id = text(&out.stdout).trim().to_owned();
        assert!(
            out.status.success() && !id.is_empty(),
            "no container for {service}: {}",
            text(&out.stderr)
        );
        known.insert(service.to_owned(), id.clone());
        id
    }

    /// `service`'s address on the project's network.
    pub(crate) fn ip(&self, service: &str) -> String {
        let ip = docker(&[
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            &self.container(service),
        ]);
        assert!(!ip.is_empty(), "{service} has no address");
        ip
    }

    /// SIGKILL to `service`'s process: no shutdown hook runs, as when a machine dies. Docker
    /// does not restart a container killed this way (its restart policy waits for the next
    /// start).
    pub(crate) fn kill(&self, service: &str) {
        docker(&["kill", "-s", "KILL", &self.container(service)]);
    }

    /// Removes `service`'s container and its data volume, then creates and starts it afresh:
    /// a machine whose disk was lost and replaced.
    pub(crate) fn wipe(&self, service: &str) {
        docker(&["rm", "-f", &self.container(service)]);
        self.containers
            .lock()
            .expect("not poisoned")
            .remove(service);
        docker(&["volume", "rm", &format!("{}_{service}", self.name)]);
        let up = self.compose(&["up", "-d", "--no-deps", service]);
        assert!(
            up.status.success(),
            "compose up {service} failed:\n{}{}",
            text(&up.stdout),
            text(&up.stderr)
        );
    }

    /// `docker start`.
    pub(crate) fn start(&self, service: &str) {
        docker(&["start", &self.container(service)]);
    }

    /// `docker restart`: SIGTERM, up to 10 s to stop (then SIGKILL), started again. Returns
    /// how long the whole took.
    pub(crate) fn restart(&self, service: &str) -> Duration {
        let started = Instant::now();
        docker(&["restart", "-t", "10", &self.container(service)]);
        started.elapsed()
    }

    /// `docker stop -t {grace}`: SIGTERM, then SIGKILL after `grace` seconds. Returns how
    /// long it took and the process's exit code (137 when it had to be SIGKILLed).
    pub(crate) fn stop(&self, service: &str, grace: u32) -> (Duration, i64) {
        let container = self.container(service);
        let started = Instant::now();
        docker(&["stop", "-t", &grace.to_string(), &container]);
        let took = started.elapsed();
        let code = docker(&["inspect", "-f", "{{.State.ExitCode}}", &container]);
        (took, code.parse().unwrap_or(-1))
    }

    /// Whether `service`'s container is running.
    pub(crate) fn running(&self, service: &str) -> bool {
        docker(&[
            "inspect",
            "-f",
            "{{.State.Running}}",
            &self.container(service),
        ]) == "true"
    }

    /// Drops every packet between `service` and each of `others`, both ways, established
    /// connections included, until the returned [`Cut`] is healed or dropped.
    pub(crate) fn cut(&self, service: &str, others: &[&str]) -> Cut {
        let from = self.ip(service);
        let mut cut = Cut::new(&self.name);
        for other in others {
            let to = self.ip(other);
            for (a, b) in [(&from, &to), (&to, &from)] {
                cut.add(a, b);
            }
        }
        eprintln!("cut {service} off from {}", others.join(", "));
        cut
    }

    /// The last `lines` log lines of every container.
    pub(crate) fn logs(&self, lines: u32) -> String {
        let out = self.compose(&["logs", "--no-color", &format!("--tail={lines}")]);
        format!("{}{}", text(&out.stdout), text(&out.stderr))
    }

    async fn wait_ok(&self, secs: u64, what: &str, port: u16, path: &str) -> Duration {
        wait_until(secs, what, || self.status_is(port, path, 200)).await
    }

    /// Whether the control node at `port` accepts the operator key (`GET /v1/apps` is 200).
    async fn keyed(&self, port: u16) -> bool {
        self.http
            .get(format!("http://127.0.0.1:{port}/v1/apps"))
            .bearer_auth(&self.key)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// Whether `GET http://127.0.0.1:{port}{path}` answers `status`.
    pub(crate) async fn status_is(&self, port: u16, path: &str, status: u16) -> bool {
        self.http
            .get(format!("http://127.0.0.1:{port}{path}"))
            .send()
            .await
            .is_ok_and(|r| r.status().as_u16() == status)
    }

    // ---- control plane -------------------------------------------------------------------

    /// A metric of the control node at `port`, summed over its labels.
    pub(crate) async fn metric(&self, port: u16, name: &str) -> Option<f64> {
        let page = self
            .http
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let mut found = None;
        for line in page.lines() {
            let Some(rest) = line.strip_prefix(name) else {
                continue;
            };
            if rest.starts_with(' ') || rest.starts_with('{') {
                let value: f64 = rest.rsplit(' ').next()?.parse().ok()?;
                found = Some(found.unwrap_or(0.0) + value);
            }
        }
        found
    }

    /// Whether the control node at `port` says it leads.
    pub(crate) async fn leads(&self, port: u16) -> bool {
        self.metric(port, "packyard_control_raft_is_leader").await == Some(1.0)
    }

    /// `POST /v1/apps` through the admin API at `port` with a client `timeout`: the new
    /// app's id when the write was acknowledged (201), else what came back instead.
    pub(crate) async fn create_app(
        &self,
        port: u16,
        bundle_id: &str,
        timeout: Duration,
    ) -> Result<String, String> {
        let body = json!({"data": {"type": "apps", "attributes": {
            "name": bundle_id, "bundleId": bundle_id, "primaryLanguage": "en-US"}}});
        let response = self
            .http
            .post(format!("http://127.0.0.1:{port}/v1/apps"))
            .bearer_auth(&self.key)
            .timeout(timeout)
            .json(&body)
            .send()
            .await
            .map_err(|e| no_answer(&e))?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        if status != 201 {
            return Err(format!("{status}: {text}"));
        }
        let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
        doc["data"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("201 without an id: {text}"))
    }

    /// Every app the admin API at `port` lists, id → bundle id (every page).
    pub(crate) async fn apps(&self, port: u16) -> Result<HashMap<String, String>, String> {
        let base = format!("http://127.0.0.1:{port}");
        let mut next = Some(format!("{base}/v1/apps"));
        let mut apps = HashMap::new();
        while let Some(url) = next.take() {
            let response = self
                .http
                .get(&url)
                .bearer_auth(&self.key)
                .send()
                .await
                .map_err(|e| no_answer(&e))?;
            let status = response.status();
            let page: Value = response.json().await.map_err(|e| e.to_string())?;
            if !status.is_success() {
                return Err(format!("{status}: {page}"));
            }
            for app in page["data"].as_array().into_iter().flatten() {
                apps.insert(
                    app["id"].as_str().unwrap_or_default().to_owned(),
                    app["attributes"]["bundleId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            next = page["links"]["next"].as_str().map(|link| {
                if link.starts_with("http") {
                    link.to_owned()
                } else {
                    format!("{base}{link}")
                }
            });
        }
        Ok(apps)
    }

    /// The ids of `wanted` the admin API at `port` does not list (all of them when it does
    /// not answer).
    pub(crate) async fn missing_apps(&self, port: u16, wanted: &BTreeSet<String>) -> usize {
        match self.apps(port).await {
            Ok(listed) => wanted.iter().filter(|id| !listed.contains_key(*id)).count(),
            Err(_) => wanted.len(),
        }
    }

    // ---- the CLI -------------------------------------------------------------------------

    /// Points the CLI at the admin API published on host port `port` from now on.
    pub(crate) fn use_admin(&self, port: u16) {
        self.admin.store(port, std::sync::atomic::Ordering::SeqCst);
    }

    /// Starts `packyard args…` against the admin API in use (control-1's unless
    /// [`Project::use_admin`] said otherwise), stdout and stderr in files.
    pub(crate) fn spawn_cli(&self, args: &[&str]) -> Cli {
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let out = self.work().join(format!("cli-{n}.out"));
        let err = self.work().join(format!("cli-{n}.err"));
        let child = Command::new(env!("CARGO_BIN_EXE_packyard"))
            .args(args)
            .env(
                "PACKYARD_SERVER",
                format!(
                    "http://127.0.0.1:{}",
                    self.admin.load(std::sync::atomic::Ordering::SeqCst)
                ),
            )
            .env("PACKYARD_ADMIN_KEY", &self.key)
            .env_remove("PACKYARD_CONFIG")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("a file"))
            .stderr(std::fs::File::create(&err).expect("a file"))
            .spawn()
            .expect("the packyard CLI starts");
        Cli {
            line: format!("packyard {}", args.join(" ")),
            child: Some(child),
            out,
            err,
        }
    }

    /// `packyard args…`, which must succeed within `secs`: its stdout, trimmed.
    pub(crate) async fn cli(&self, secs: u64, args: &[&str]) -> String {
        let mut cli = self.spawn_cli(args);
        let status = cli.wait(secs).await;
        assert!(
            status.success(),
            "{} failed ({status}):\n{}{}",
            cli.line,
            cli.stdout(),
            cli.stderr()
        );
        cli.stdout().trim().to_owned()
    }

    /// Builds a pack archive `{pack_id}.tar` of random files of the given sizes with
    /// `packyard pack build`; returns its path and its bytes.
    pub(crate) async fn build_pack(&self, pack_id: &str, sizes: &[usize]) -> (PathBuf, Vec<u8>) {
        let src = self.work().join(pack_id);
        std::fs::create_dir_all(src.join("Data")).expect("a folder");
        for (i, &len) in sizes.iter().enumerate() {
            std::fs::write(
                src.join("Data").join(format!("f{i}.bin")),
                random_bytes(len),
            )
            .expect("a file");
        }
        let manifest = src.join("Manifest.json");
        std::fs::write(
            &manifest,
            json!({"assetPackID": pack_id, "downloadPolicy": {"onDemand": {}},
                "fileSelectors": [{"directory": "Data"}], "platforms": ["iOS"]})
            .to_string(),
        )
        .expect("a manifest");
        let archive = self.work().join(format!("{pack_id}.tar"));
        self.cli(
            300,
            &[
                "pack",
                "build",
                manifest.to_str().expect("UTF-8"),
                "-o",
                archive.to_str().expect("UTF-8"),
            ],
        )
        .await;
        let bytes = std::fs::read(&archive).expect("the archive");
        (archive, bytes)
    }

    /// A new app (bundle id `com.example.{tag}`) with a tester token for its internal channel:
    /// `(app, token)`.
    pub(crate) async fn app_with_token(&self, tag: &str) -> (String, String) {
        let bundle = format!("com.example.{tag}");
        let app = self
            .cli(
                60,
                &[
                    "apps",
                    "create",
                    "--name",
                    tag,
                    "--bundle-id",
                    &bundle,
                    "-q",
                ],
            )
            .await;
        let token = self
            .cli(
                60,
                &[
                    "tester-tokens",
                    "create",
                    "--app",
                    &app,
                    "--channel",
                    "internal",
                    "-q",
                ],
            )
            .await;
        (app, token)
    }

    /// A new pack `pack_id` of `app` with `archive` uploaded as its version 1, processed
    /// (COMPLETE); returns the version's id.
    pub(crate) async fn upload_pack(&self, app: &str, pack_id: &str, archive: &Path) -> String {
        let pack = self
            .cli(60, &["packs", "create", "--app", app, pack_id, "-q"])
            .await;
        self.cli(
            600,
            &[
                "versions",
                "upload",
                "--pack",
                &pack,
                archive.to_str().expect("UTF-8"),
                "-q",
            ],
        )
        .await
    }

    // ---- edges ---------------------------------------------------------------------------

    /// `GET {edge}/apps/{app}/internal/{pack_id}` with `token` (and `range`, `bytes=…`):
    /// the status and the body, or why there was none.
    pub(crate) async fn edge_get(
        &self,
        port: u16,
        app: &str,
        pack_id: &str,
        token: &str,
        range: Option<&str>,
    ) -> Result<(u16, Vec<u8>), String> {
        let mut request = self
            .http
            .get(format!(
                "http://127.0.0.1:{port}/apps/{app}/internal/{pack_id}"
            ))
            .bearer_auth(token)
            .timeout(Duration::from_secs(30));
        if let Some(range) = range {
            request = request.header("Range", range);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        Ok((status, body.to_vec()))
    }

    /// Whether the edge at `port` serves exactly `want` (200) for the pack.
    pub(crate) async fn edge_serves(
        &self,
        port: u16,
        app: &str,
        pack_id: &str,
        token: &str,
        want: &[u8],
    ) -> bool {
        matches!(self.edge_get(port, app, pack_id, token, None).await,
            Ok((200, body)) if body == want)
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "==== the test failed; the last log lines of project {}:\n{}",
                self.name,
                self.logs(80)
            );
        }
        let down = self.compose(&["down", "-v", "--remove-orphans", "-t", "5"]);
        if !down.status.success() {
            eprintln!(
                "compose down of {} failed:\n{}",
                self.name,
                text(&down.stderr)
            );
        }
    }
}

/// A `packyard` CLI process (see [`Project::spawn_cli`]).
pub(crate) struct Cli {
    line: String,
    child: Option<Child>,
    out: PathBuf,
    err: PathBuf,
}

impl Cli {
    /// Its stdout so far.
    pub(crate) fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Its stderr so far.
    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Its exit status, if it has exited.
    pub(crate) fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().expect("waiting for the CLI"))
    }

    /// Waits for it to exit, up to `secs` (then kills it and panics).
    pub(crate) async fn wait(&mut self, secs: u64) -> std::process::ExitStatus {
        let exited = within(Duration::from_secs(secs), || {
            std::future::ready(self.try_wait())
        })
        .await;
        exited.unwrap_or_else(|_| {
            if let Some(child) = self.child.as_mut() {
                let _ = child.kill();
                let _ = child.wait();
            }
            panic!(
                "{} did not finish within {secs} s:\n{}{}",
                self.line,
                self.stdout(),
                self.stderr()
            )
        })
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut()
            && child.try_wait().ok().flatten().is_none()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
