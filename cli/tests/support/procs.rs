#![allow(dead_code, reason = "each test binary uses a part of it")]

//! `packyard` server processes for tests: each with its stderr in a log file, the bootstrap
//! key and the cluster certificates' folder in its environment, killed with SIGKILL when
//! dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bootstrap key the processes are given.
pub(crate) const KEY: &str = "pyk_process-test-bootstrap-key-0123456789abcdef";

/// `N` distinct free ports on 127.0.0.1: all held until all are chosen, so none repeats.
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
    child: Option<Child>,
}

impl Proc {
    /// Starts `packyard args…` with its log at `dir/{name}.log`, its cluster certificates in
    /// `dir/cluster-tls` (see `cluster_tls::issue`).
    pub(crate) fn start(name: &str, dir: &Path, args: &[&str]) -> Self {
        let log = dir.join(format!("{name}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_packyard"))
            .args(args)
            .env("PACKYARD_ADMIN_KEY", KEY)
            .env("PACKYARD_CLUSTER_TLS_DIR", dir.join("cluster-tls"))
            .env("PACKYARD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("a log file"))
            .spawn()
            .expect("packyard starts");
        Proc {
            name: name.to_owned(),
            log,
            child: Some(child),
        }
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

/// Sends `sig` (`-STOP`, `-CONT`, …) to process `pid`.
pub(crate) fn signal(pid: u32, sig: &str) {
    let done = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(done.success(), "kill {sig} {pid}");
}

/// Polls `check` every 100 ms until it holds, failing with `logs()` after `secs`.
pub(crate) async fn wait_for<F, Fut>(secs: u64, what: &str, logs: impl Fn() -> String, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what} within {secs} s\n{}",
            logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
