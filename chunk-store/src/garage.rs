//! [`Garage`]: a real Garage cluster (the distributed S3-compatible store) on loopback, for
//! tests and benchmarks: one to N nodes, each its own process with its own folder, a layout
//! with as many replicas as nodes, one key and one bucket.
//!
//! The binary is `PACKYARD_GARAGE`, else the one `scripts/install-garage.sh` caches, else
//! `garage` on the `PATH`. Nodes are killed (SIGKILL) when the value is dropped.

// Test support: a cluster that cannot start fails the test that asked for it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::object::ObjectStoreConfig;

/// The version `scripts/install-garage.sh` installs.
pub const VERSION: &str = "2.5.0";
/// The region the test cluster signs for.
pub const REGION: &str = "garage";
const RPC_SECRET: &str = "5061636b796172642074657374732072756e20746865697220476172616765ab";

/// One node of a [`Garage`] cluster.
#[derive(Debug)]
pub struct Node {
    dir: PathBuf,
    /// Its S3 endpoint, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    child: Option<Child>,
}

/// A Garage cluster started for a test.
#[derive(Debug)]
pub struct Garage {
    _dir: tempfile::TempDir,
    /// Its nodes, in start order.
    pub nodes: Vec<Node>,
    /// The bucket made for the test, its key, and the first node's endpoint.
    pub config: ObjectStoreConfig,
}

/// The `garage` binary to run.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PACKYARD_GARAGE") {
        return path.into();
    }
    let cached = std::env::var_os("PACKYARD_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/packyard")))
        .map(|c| c.join("bin").join(format!("garage-{VERSION}")));
    match cached {
        Some(path) if path.exists() => path,
        _ => "garage".into(),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Node {
    fn config(&self) -> PathBuf {
        self.dir.join("garage.toml")
    }

    fn garage(&self, args: &[&str]) -> String {
        let out = Command::new(binary())
            .arg("-c")
            .arg(self.config())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} ({e}); run scripts/install-garage.sh or set PACKYARD_GARAGE",
                    binary().display()
                )
            });
        assert!(
            out.status.success(),
            "garage {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn try_garage(&self, args: &[&str]) -> bool {
        Command::new(binary())
            .arg("-c")
            .arg(self.config())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn try_garage_output(&self, args: &[&str]) -> String {
        Command::new(binary())
            .arg("-c")
            .arg(self.config())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_default()
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("garage.log"))
            .unwrap();
        let child = Command::new(binary())
            .arg("-c")
            .arg(self.config())
            .arg("server")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}); run scripts/install-garage.sh or set PACKYARD_GARAGE",
                    binary().display()
                )
            });
        self.child = Some(child);
    }

    /// Kills the node with SIGKILL; its data stays for [`restart`](Self::restart).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the killed node again on its own data.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the node is running");
        self.spawn();
    }

    /// Whether the node's process is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Garage {
    /// Starts `nodes` Garage nodes storing `nodes` copies of every object (at most 3), joins
    /// them into one layout, and makes a key and the bucket `packyard` for it.
    pub fn start(nodes: usize) -> Self {
        assert!((1..=3).contains(&nodes), "1 to 3 nodes");
        let dir = tempfile::Builder::new()
            .prefix("packyard-garage-")
            .tempdir()
            .unwrap();
        let mut started = Vec::new();
        for i in 0..nodes {
            let node_dir = dir.path().join(format!("node{i}"));
            std::fs::create_dir_all(&node_dir).unwrap();
            let (s3, rpc) = (free_port(), free_port());
            std::fs::write(
                node_dir.join("garage.toml"),
                node_config(&node_dir, nodes, s3, rpc),
            )
            .unwrap();
            let mut node = Node {
                dir: node_dir,
                endpoint: format!("http://127.0.0.1:{s3}"),
                child: None,
            };
            node.spawn();
            started.push(node);
        }
        let first = &started[0];
        wait_for(Duration::from_secs(60), "garage to answer", || {
            started.iter().all(|n| n.try_garage(&["status"]))
        });
        let mut ids = Vec::new();
        for node in &started {
            let id = node.garage(&["node", "id", "-q"]).trim().to_owned();
            if !std::ptr::eq(node, first) {
                first.garage(&["node", "connect", &id]);
            }
            ids.push(id);
        }
        for (i, id) in ids.iter().enumerate() {
            let short = &id[..16];
            let zone = format!("z{i}");
            first.garage(&["layout", "assign", short, "-z", &zone, "-c", "1G"]);
        }
        first.garage(&["layout", "apply", "--version", "1"]);
        // Every node must know every other before one may go: otherwise the survivors of a
        // killed node may not have met and cannot make a quorum between them.
        wait_for(
            Duration::from_secs(60),
            "every node to see every other",
            || {
                started.iter().all(|node| {
                    let status = node.try_garage_output(&["status"]);
                    let healthy = status.split("FAILED NODES").next().unwrap_or_default();
                    ids.iter().all(|id| healthy.contains(&id[..16]))
                })
            },
        );
        let key_id = format!("GK{}", "7061636b7961726474657374");
        let secret = "7061636b796172642074657374207365637265742c206e6f7420666f72207573";
        wait_for(Duration::from_secs(60), "the layout to be applied", || {
            first.try_garage(&["key", "import", "--yes", "-n", "packyard", &key_id, secret])
        });
        first.garage(&["bucket", "create", "packyard"]);
        first.garage(&[
            "bucket", "allow", "--read", "--write", "--owner", "packyard", "--key", &key_id,
        ]);
        let config = ObjectStoreConfig {
            endpoint: first.endpoint.clone(),
            bucket: "packyard".into(),
            region: REGION.into(),
            access_key_id: Some(key_id),
            secret_access_key: Some(secret.into()),
            connect_timeout_secs: 2,
            request_timeout_secs: 10,
            max_retries: 1,
            ..ObjectStoreConfig::default()
        };
        Self {
            _dir: dir,
            nodes: started,
            config,
        }
    }

    /// The test's bucket under its own `prefix`, so tests sharing a cluster do not meet.
    pub fn config_with_prefix(&self, prefix: &str) -> ObjectStoreConfig {
        ObjectStoreConfig {
            prefix: prefix.into(),
            ..self.config.clone()
        }
    }

    /// The folder a node keeps its data in.
    pub fn node_dir(&self, i: usize) -> &Path {
        &self.nodes[i].dir
    }
}

fn node_config(dir: &Path, nodes: usize, s3: u16, rpc: u16) -> String {
    format!(
        r#"metadata_dir = "{dir}/meta"
data_dir = "{dir}/data"
db_engine = "sqlite"
replication_factor = {nodes}
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{RPC_SECRET}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3}"
root_domain = ".s3.garage.localhost"
"#,
        dir = dir.display()
    )
}

fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
