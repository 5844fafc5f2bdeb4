#![allow(dead_code, reason = "each test binary uses a part of it")]

//! `packyard dev` as a process for tests: every listener on a port it picks and reports (no
//! port chosen here and bound there), the bootstrap key given, its stderr kept in a log;
//! killed with SIGKILL when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use packyard_net::eventually::{Probe, within, within_blocking};

/// The bootstrap key tests give `packyard dev`.
pub(crate) const KEY: &str = "pyk_dev-test-bootstrap-key-0123456789abcdef0123";

/// `N` distinct free ports on 127.0.0.1: all held until all are chosen, so none repeats.
/// Only for a test that needs an address before `packyard dev` starts; [`Dev::start`] gives
/// every listener port 0 and reads what it bound.
pub(crate) fn free_addrs<const N: usize>() -> [String; N] {
    let listeners: Vec<_> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("its address").to_string())
}

/// A running `packyard dev`.
pub(crate) struct Dev {
    log: PathBuf,
    out: PathBuf,
    listen: PathBuf,
    args: Vec<String>,
    child: Child,
    /// Its data folder (`cluster-tls/` holds the CA and the node certificates).
    pub(crate) data: PathBuf,
    /// The admin API, `HOST:PORT`.
    pub(crate) admin: String,
    /// The edge's plain-HTTP listener.
    pub(crate) edge: String,
    /// The origin's upload endpoint.
    pub(crate) upload: String,
    /// The control plane's gRPC (Raft, watch, registry, reports).
    pub(crate) raft: String,
    /// The origin's chunk service (gRPC).
    pub(crate) chunks: String,
}

/// An HTTP client for tests: each request given 10 s.
pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client")
}

impl Dev {
    /// [`Dev::start`], then [`Dev::wait_ready`] with a fresh [`http`] client, which it
    /// returns beside the node.
    pub(crate) async fn ready(dir: &Path, extra: &[&str]) -> (Self, reqwest::Client) {
        let dev = Self::start(dir, extra);
        let client = http();
        dev.wait_ready(&client).await;
        (dev, client)
    }

    /// Starts `packyard dev` with its data in `dir/dev` and `extra` flags, every listener on
    /// a free port it picks (port 0) and reports in `dir/dev.listen`; returns once all five
    /// are bound.
    pub(crate) fn start(dir: &Path, extra: &[&str]) -> Self {
        let log = dir.join("dev.log");
        let out = dir.join("dev.out");
        let listen = dir.join("dev.listen");
        let data = dir.join("dev");
        let mut args: Vec<String> = vec!["dev".into(), "--data".into()];
        args.push(data.to_str().expect("a UTF-8 path").to_owned());
        for (flag, _) in LISTENERS {
            args.extend([flag.to_owned(), "127.0.0.1:0".to_owned()]);
        }
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let child = spawn(&args, &out, &log, &listen);
        let [admin, edge, upload, raft, chunks] = bound(&listen, &log);
        // A restart binds the same ports: clients and saved URLs name them.
        for (i, (flag, _)) in LISTENERS.iter().enumerate() {
            let at = args.iter().position(|a| a == flag).expect("the flag") + 1;
            args[at] = [&admin, &edge, &upload, &raft, &chunks][i].clone();
        }
        Dev {
            log,
            out,
            listen,
            args,
            child,
            data,
            admin,
            edge,
            upload,
            raft,
            chunks,
        }
    }

    /// Kills it with SIGKILL, as when its machine dies, and starts it again on the same
    /// data and ports.
    pub(crate) fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(&self.args, &self.out, &self.log, &self.listen);
    }

    /// Where its `listener` listens (`edge-https` when started with `--edge-tls-addr`),
    /// once the listen file names it (within 60 s).
    pub(crate) fn listener(&self, listener: &str) -> String {
        let found = within_blocking(Duration::from_secs(60), || {
            let text = std::fs::read_to_string(&self.listen).unwrap_or_default();
            packyard_net::listen::read_listen_file(&text)
                .get(listener)
                .map(ToString::to_string)
        });
        found.unwrap_or_else(|e| panic!("{listener}: {e}\n{}", self.log()))
    }

    /// What it logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the admin API takes the bootstrap key (not just until the node is up: the
    /// key reaches the catalog after the election) and the origin takes uploads.
    pub(crate) async fn wait_ready(&self, http: &reqwest::Client) {
        wait_for(90, "packyard dev answers", self, || async {
            let admin = http
                .get(format!("http://{}/v1/apps", self.admin))
                .bearer_auth(KEY)
                .send()
                .await;
            let origin = http
                .get(format!("http://{}/healthz", self.upload))
                .send()
                .await;
            admin.is_ok_and(|r| r.status() == 200) && origin.is_ok_and(|r| r.status() == 200)
        })
        .await;
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address flags of `packyard dev`, in the order of [`Dev`]'s fields, and the listener
/// each binds as the listen file names it.
const LISTENERS: [(&str, &str); 5] = [
    ("--admin-addr", "admin"),
    ("--edge-addr", "edge-http"),
    ("--upload-addr", "upload"),
    ("--raft-addr", "raft"),
    ("--origin-grpc-addr", "origin-grpc"),
];

/// What the five listeners bound, once the listen file names them all (within 60 s).
fn bound(listen: &Path, log: &Path) -> [String; 5] {
    let found = within_blocking(Duration::from_secs(60), || {
        let text = std::fs::read_to_string(listen).unwrap_or_default();
        let bound = packyard_net::listen::read_listen_file(&text);
        LISTENERS
            .iter()
            .all(|(_, l)| bound.contains_key(*l))
            .then(|| LISTENERS.map(|(_, l)| bound[l].to_string()))
    });
    found.unwrap_or_else(|e| {
        panic!(
            "packyard dev binds its listeners: {e}\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        )
    })
}

fn spawn(args: &[String], out: &Path, log: &Path, listen: &Path) -> Child {
    let _ = std::fs::remove_file(listen);
    let append = |path: &Path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("a log file")
    };
    Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(args)
        .env("PACKYARD_ADMIN_KEY", KEY)
        .env("PACKYARD_LOG", "warn")
        .env("PACKYARD_LISTEN_FILE", listen)
        .stdout(append(out))
        .stderr(append(log))
        .spawn()
        .expect("packyard dev starts")
}

/// Waits until `probe` is done ([`eventually`](packyard_net::eventually::eventually)) and
/// hands back what it found, failing with the dev log after `secs`.
pub(crate) async fn wait_for<P: Probe>(
    secs: u64,
    what: &str,
    dev: &Dev,
    probe: impl AsyncFnMut() -> P,
) -> P::Done {
    match within(Duration::from_secs(secs), probe).await {
        Ok(done) => done,
        Err(expired) => panic!("{what}: {expired}\n{}", dev.log()),
    }
}

/// An app on a running `packyard dev`, for device tests: made through the admin API with
/// an internal tester token.
pub(crate) struct TestApp {
    /// The admin API, as the operator.
    pub(crate) admin: packyard_admin_client::AdminClient,
    /// The HTTP client the test uses for the edge too.
    pub(crate) http: reqwest::Client,
    /// The app's id.
    pub(crate) id: String,
    /// An internal tester token for it, valid for an hour.
    pub(crate) token: String,
}

impl TestApp {
    /// Waits until `dev` takes requests, then makes an app with bundle id `bundle`.
    pub(crate) async fn new(dev: &Dev, bundle: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        dev.wait_ready(&http).await;
        let admin = packyard_admin_client::AdminClient::with_http(
            http.clone(),
            &format!("http://{}", dev.admin),
            KEY,
        );
        let app = packyard_admin_client::NewApp::new("Game", bundle);
        let id = admin.create_app(&app).await.expect("an app").id;
        let mut app = TestApp {
            admin,
            http,
            id,
            token: String::new(),
        };
        app.token = app.tester_token(3600).await;
        app
    }

    /// A new internal tester token living `secs` seconds.
    pub(crate) async fn tester_token(&self, secs: u64) -> String {
        let token = packyard_admin_client::NewTesterToken {
            app: self.id.clone(),
            channel: packyard_admin_client::BetaChannel::Internal,
            expires_in_seconds: Some(secs),
        };
        self.admin
            .create_tester_token(&token)
            .await
            .expect("a tester token")
            .token
    }

    /// Creates pack `identifier`; returns its id.
    pub(crate) async fn pack(&self, identifier: &str) -> String {
        let pack = packyard_admin_client::NewPack::new(&self.id, identifier);
        self.admin.create_pack(&pack).await.expect("a pack").id
    }

    /// Uploads `archive` as the next version of `pack` and waits until it is COMPLETE.
    pub(crate) async fn upload(&self, dev: &Dev, pack: &str, archive: &[u8]) {
        self.admin
            .upload_complete(pack, "pack.tar", archive, Duration::from_secs(120))
            .await
            .unwrap_or_else(|e| panic!("the version is COMPLETE: {e}\n{}", dev.log()));
    }
}
