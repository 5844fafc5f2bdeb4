#![allow(dead_code, reason = "each test binary uses a part of it")]

//! `packyard` server processes for tests: each with its stderr in a log file, the bootstrap
//! key and the cluster certificates' folder in its environment, killed with SIGKILL when
//! dropped.
//!
//! Listeners are given [`ANY`] (port 0): the process binds a free port and says which in its
//! listen file, which [`Proc::addr`] reads, so no port is chosen by the test and bound by
//! the process later (another test could take it in between). The one exception is an
//! origin's upload address in a multi-process cluster: control nodes must name it
//! (`--origin-url`) before the origin, which needs their addresses, can start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use packyard_net::eventually::{Probe, within};

/// The bootstrap key the processes are given.
pub(crate) const KEY: &str = "pyk_process-test-bootstrap-key-0123456789abcdef";

/// Any free port on loopback: the process binds it and reports what it got.
pub(crate) const ANY: &str = "127.0.0.1:0";

/// Which listener each address flag of `packyard control|origin|edge|dev` binds, as the
/// listen file names it.
const LISTENER_FLAGS: [(&str, &str); 9] = [
    ("--admin-addr", "admin"),
    ("--raft-addr", "raft"),
    ("--upload-addr", "upload"),
    ("--grpc-addr", "origin-grpc"),
    ("--origin-grpc-addr", "origin-grpc"),
    ("--http-addr", "edge-http"),
    ("--edge-addr", "edge-http"),
    ("--https-addr", "edge-https"),
    ("--edge-tls-addr", "edge-https"),
];

/// `N` distinct free ports on 127.0.0.1: all held until all are chosen, so none repeats.
/// Only for addresses another process must know before this one starts (see the module
/// doc); everything else listens on [`ANY`].
pub(crate) fn free_addrs<const N: usize>() -> [String; N] {
    let listeners: Vec<_> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("its address").to_string())
}

/// One running `packyard` process.
pub(crate) struct Proc {
    name: String,
    log: PathBuf,
    listen: PathBuf,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    child: Option<Child>,
}

impl Proc {
    /// Starts `packyard args…` with its log at `dir/{name}.log`, its listen file at
    /// `dir/{name}.listen`, its cluster certificates in `dir/cluster-tls` (see
    /// `cluster_tls::issue`).
    pub(crate) fn start(name: &str, dir: &Path, args: &[&str]) -> Self {
        Self::start_with_env(name, dir, args, &[])
    }

    /// [`Proc::start`] with more environment variables.
    pub(crate) fn start_with_env(
        name: &str,
        dir: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Self {
        let mut envs: Vec<(String, String)> = envs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let tls = dir.join("cluster-tls").to_str().expect("UTF-8").to_owned();
        envs.insert(0, ("PACKYARD_CLUSTER_TLS_DIR".into(), tls));
        let mut proc = Proc {
            name: name.to_owned(),
            log: dir.join(format!("{name}.log")),
            listen: dir.join(format!("{name}.listen")),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            envs,
            child: None,
        };
        proc.spawn();
        proc
    }

    fn spawn(&mut self) {
        let _ = std::fs::remove_file(&self.listen);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("a log file");
        let child = Command::new(env!("CARGO_BIN_EXE_packyard"))
            .args(&self.args)
            .env("PACKYARD_ADMIN_KEY", KEY)
            .env("PACKYARD_LOG", "warn")
            .env("PACKYARD_LISTEN_FILE", &self.listen)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("packyard starts");
        self.child = Some(child);
    }

    /// The addresses its listeners bound so far, by listener.
    fn bound(&self) -> BTreeMap<String, std::net::SocketAddr> {
        let text = std::fs::read_to_string(&self.listen).unwrap_or_default();
        packyard_net::listen::read_listen_file(&text)
    }

    /// Where its `listener` (`admin`, `raft`, `upload`, `origin-grpc`, `edge-http`,
    /// `edge-https`) listens, `HOST:PORT`, once it has bound it (within 60 s).
    pub(crate) async fn addr(&self, listener: &str) -> String {
        let what = format!("{} binds its {listener} listener", self.name);
        wait_for(
            60,
            &what,
            || self.log(),
            || async { self.bound().get(listener).map(ToString::to_string) },
        )
        .await
    }

    /// The name it was started with.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Whether it runs (it was not killed, or was started again).
    pub(crate) fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL: no shutdown code runs, as when a machine dies.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Leaves `flag` and its value out of the flags of its next [`restart`](Self::restart).
    pub(crate) fn drop_flag(&mut self, flag: &str) {
        if let Some(i) = self.args.iter().position(|a| a == flag) {
            self.args.drain(i..(i + 2).min(self.args.len()));
        }
    }

    /// SIGKILLs it (if it runs) and starts it again with the same flags and data, on the
    /// ports it had: peers and clients know it by them.
    pub(crate) fn restart(&mut self) {
        let bound = self.bound();
        self.kill();
        let mut args = self.args.clone();
        for i in 1..args.len() {
            let listener = LISTENER_FLAGS
                .iter()
                .find(|(flag, _)| *flag == args[i - 1])
                .map(|(_, l)| *l);
            if let Some(addr) = listener.and_then(|l| bound.get(l))
                && args[i] == ANY
            {
                args[i] = addr.to_string();
            }
        }
        self.args = args;
        self.spawn();
    }

    /// Its log so far, headed by its name.
    pub(crate) fn log(&self) -> String {
        format!(
            "--- {} ---\n{}",
            self.name,
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs the operator command `packyard args… --server http://{admin} -q` with the bootstrap
/// key; it must succeed. Returns what it printed (the ids `-q` prints), trimmed.
pub(crate) fn operator(admin: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(args)
        .args(["--server", &format!("http://{admin}"), "-q"])
        .env("PACKYARD_ADMIN_KEY", KEY)
        .output()
        .expect("packyard runs");
    assert!(
        out.status.success(),
        "packyard {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}

/// `len` bytes of xorshift noise from `seed`: no chunk of it repeats another.
pub(crate) fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// Builds pack `id` with `packyard_pack` from files `f000.bin`, … of noise, each `(seed,
/// len)`, under download policy `policy` (JSON), into `dir/{name}.tar`; its bytes.
pub(crate) fn build_pack(
    dir: &Path,
    name: &str,
    id: &str,
    policy: &str,
    files: impl IntoIterator<Item = (u64, usize)>,
) -> Vec<u8> {
    let src = dir.join(format!("src-{name}"));
    std::fs::create_dir_all(&src).expect("a source folder");
    for (i, (seed, len)) in files.into_iter().enumerate() {
        std::fs::write(src.join(format!("f{i:03}.bin")), noise(seed, len)).expect("a file");
    }
    let manifest = src.join("Manifest.json");
    std::fs::write(
        &manifest,
        format!(
            r#"{{"assetPackID": "{id}", "downloadPolicy": {policy},
                "fileSelectors": [{{"directory": "."}}], "platforms": ["iOS"]}}"#
        ),
    )
    .expect("a manifest");
    let out = dir.join(format!("{name}.tar"));
    packyard_pack::build(&manifest, None, &out, packyard_pack::NoProgress).expect("a pack");
    std::fs::read(out).expect("the pack's bytes")
}

/// The sum of the edge's metric `name` at `edge` over the series whose labels contain
/// `label`; 0 when the edge does not answer.
pub(crate) async fn edge_metric(
    http: &reqwest::Client,
    edge: &str,
    name: &str,
    label: &str,
) -> u64 {
    let Ok(page) = http.get(format!("http://{edge}/metrics")).send().await else {
        return 0;
    };
    let page = page.text().await.unwrap_or_default();
    page.lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Sends `sig` (`-STOP`, `-CONT`, …) to process `pid`.
pub(crate) fn signal(pid: u32, sig: &str) {
    let done = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(done.success(), "kill {sig} {pid}");
}

/// Waits until `probe` is done ([`eventually`](packyard_net::eventually::eventually)) and
/// hands back what it found, failing with `logs()` after `secs`.
pub(crate) async fn wait_for<P: Probe>(
    secs: u64,
    what: &str,
    logs: impl Fn() -> String,
    probe: impl AsyncFnMut() -> P,
) -> P::Done {
    match within(Duration::from_secs(secs), probe).await {
        Ok(done) => done,
        Err(expired) => panic!("{what}: {expired}\n{}", logs()),
    }
}

/// A control node of a test cluster and where it listens.
pub(crate) struct ControlNode {
    /// The process.
    pub(crate) proc: Proc,
    /// Its admin API, `HOST:PORT`.
    pub(crate) admin: String,
    /// Its Raft and gRPC listener, `HOST:PORT`.
    pub(crate) raft: String,
}

/// Starts `n` control nodes with ids 1… on [`ANY`] ports, each with `extra` flags and its
/// data in `dir/control-{id}`, and makes them one cluster the way an operator grows one:
/// node 1 forms it alone, each other node starts with `--join` and is added with
/// `packyard cluster join` (so no node needs another's address before it starts). Returns
/// once every node has taken the bootstrap key. `dir/cluster-tls` must hold certificates
/// for `control` 1…n and an `operator`.
pub(crate) async fn control_cluster(dir: &Path, n: u64, extra: &[&str]) -> Vec<ControlNode> {
    let mut nodes = Vec::new();
    for id in 1..=n {
        let data = dir.join(format!("control-{id}"));
        let id_arg = id.to_string();
        let mut args = vec![
            "control",
            "--id",
            &id_arg,
            "--data",
            data.to_str().expect("UTF-8"),
            "--admin-addr",
            ANY,
            "--raft-addr",
            ANY,
        ];
        if id > 1 {
            args.push("--join");
        }
        args.extend(extra);
        let proc = Proc::start(&format!("control-{id}"), dir, &args);
        let admin = proc.addr("admin").await;
        let raft = proc.addr("raft").await;
        nodes.push(ControlNode { proc, admin, raft });
    }
    let http = reqwest::Client::new();
    let logs = |nodes: &[ControlNode]| nodes.iter().map(|n| n.proc.log()).collect::<String>();
    wait_for(
        60,
        "node 1 forms the cluster",
        || logs(&nodes),
        || async { keyed(&http, &nodes[0].admin).await },
    )
    .await;
    let tls = dir.join("cluster-tls");
    for (i, node) in nodes.iter().enumerate().skip(1) {
        let out = Command::new(env!("CARGO_BIN_EXE_packyard"))
            .args(["cluster", "--node", &nodes[0].raft, "join", "--id"])
            .arg((i + 1).to_string())
            .args(["--raft-addr", &node.raft, "--admin-addr", &node.admin])
            .env("PACKYARD_CLUSTER_TLS_DIR", &tls)
            .output()
            .expect("packyard runs");
        assert!(
            out.status.success(),
            "packyard cluster join --id {}: {}{}",
            i + 1,
            String::from_utf8_lossy(&out.stderr),
            logs(&nodes)
        );
    }
    for node in &nodes {
        wait_for(
            60,
            "every control node takes the bootstrap key",
            || logs(&nodes),
            || async { keyed(&http, &node.admin).await },
        )
        .await;
    }
    nodes
}

/// Whether the admin API at `admin` takes the bootstrap key: the node is up and has
/// applied the entry that created the operator (written after the first election).
pub(crate) async fn keyed(http: &reqwest::Client, admin: &str) -> bool {
    http.get(format!("http://{admin}/v1/apps"))
        .bearer_auth(KEY)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
}

/// Starts `packyard origin` (named `origin`, its data in `dir/origin`) taking uploads at
/// `upload`, following the control nodes `control_plane` (`HOST:PORT,…`), with `extra`
/// flags; its chunk service on [`ANY`]. Returns it and where its chunk service listens.
pub(crate) async fn origin(
    dir: &Path,
    upload: &str,
    control_plane: &str,
    extra: &[&str],
) -> (Proc, String) {
    let data = dir.join("origin");
    let mut args = vec![
        "origin",
        "--data",
        data.to_str().expect("UTF-8"),
        "--upload-addr",
        upload,
        "--grpc-addr",
        ANY,
        "--control-plane",
        control_plane,
    ];
    args.extend(extra);
    let proc = Proc::start("origin", dir, &args);
    let chunks = proc.addr("origin-grpc").await;
    (proc, chunks)
}

/// Starts `packyard edge` named `name` (its data in `dir/{name}`) on [`ANY`] port,
/// following `control_plane` and fetching from `origin`, with `extra` flags (`--edge-id`,
/// `--region`, …). Returns it and where it serves devices.
pub(crate) async fn edge(
    dir: &Path,
    name: &str,
    control_plane: &str,
    origin: &str,
    extra: &[&str],
) -> (Proc, String) {
    let data = dir.join(name);
    let mut args = vec![
        "edge",
        "--data",
        data.to_str().expect("UTF-8"),
        "--http-addr",
        ANY,
        "--control-plane",
        control_plane,
        "--origin",
        origin,
    ];
    args.extend(extra);
    let proc = Proc::start(name, dir, &args);
    let addr = proc.addr("edge-http").await;
    (proc, addr)
}
