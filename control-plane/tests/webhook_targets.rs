//! Webhooks never reach the cluster's own network, whatever the spelling (issue 13, case 3):
//! against a real control-plane node (Raft on RocksDB, the admin API, the deliverer and its
//! HTTP client), every spelling of loopback the issue used is refused at creation, and
//! webhooks stored while such URLs were accepted are never connected to; and a property test
//! writes internal addresses every way a URL parser reads them and checks that the admin API
//! refuses each and the delivery transport never connects to one.

// Test code: a failed setup step should fail the test at once, loudly.
#![allow(clippy::unwrap_used)]

mod api_support;
mod webhook_support;

use std::path::Path;
use std::sync::Arc;

use api_support::{Server, error};
use metrics_exporter_prometheus::PrometheusBuilder;
use packyard_admin_client::{AdminClient, NewApp, NewPack};
use packyard_control_plane::node::{Listeners, NodeError, serve};
use packyard_control_plane::raft::RaftSettings;
use packyard_control_plane::webhook::{
    DelivererConfig, HttpTransport, Job, REFUSED_TARGET, Transport,
};
use packyard_control_plane::{ControlConfig, ControlMetrics};
use packyard_core::catalog::{AppId, AttemptOutcome, DeliveryId, WebhookId};
use packyard_core::webhook_target::spellings::{Spelling, internal_url, loopback_url};
use packyard_net::cluster::test_support::TestPki;
use packyard_net::cluster::{ClusterTlsFiles, NodeRole};
use packyard_net::eventually::eventually;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use webhook_support::{Counter, PATIENCE, team};

/// The bootstrap key the node is started with.
const KEY: &str = "pyk_webhook-targets-test-key-0123456789abcdef";

/// A control-plane node running in this process until it is stopped.
struct Node {
    admin: AdminClient,
    config: ControlConfig,
    stop: oneshot::Sender<()>,
    done: JoinHandle<Result<(), NodeError>>,
}

impl Node {
    /// Starts node 1 of a one-node cluster with its data in `dir`, on `config`'s addresses
    /// (port 0 the first time), sending webhooks to private addresses only if allowed. A node
    /// stopped in this process lets go of its RocksDB files a moment after it returns (its
    /// Raft tasks end one after the other), so a start that finds them still locked is
    /// tried again until they are free.
    async fn start(config: ControlConfig, allow_private_addresses: bool) -> Self {
        eventually("the node starts", PATIENCE, async || {
            match Self::try_start(config.clone(), allow_private_addresses).await {
                Ok(node) => Ok(node),
                // Its RocksDB files, still held by the node stopped before it.
                Err(NodeError::Part {
                    part: "raft",
                    reason,
                }) if reason.contains("lock hold by current process") => Err(reason),
                Err(e) => panic!("the node stopped: {e}"),
            }
        })
        .await
    }

    async fn try_start(
        mut config: ControlConfig,
        allow_private_addresses: bool,
    ) -> Result<Self, NodeError> {
        config.webhooks.allow_private_addresses = allow_private_addresses;
        let listeners = Listeners::bind(&config).await.unwrap();
        config.raft_addr = listeners.raft.local_addr().unwrap();
        config.admin_addr = listeners.admin.local_addr().unwrap();
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let metrics = ControlMetrics::new(Arc::new(recorder), Arc::new(move || handle.render()));
        let (stop, stopped) = oneshot::channel::<()>();
        let mut done = tokio::spawn(serve(
            config.clone(),
            listeners,
            Some(KEY.to_owned()),
            metrics,
            |_| {},
            async {
                let _ = stopped.await;
            },
        ));
        let admin = AdminClient::new(&format!("http://{}", config.admin_addr), KEY, None).unwrap();
        let ready = eventually("the node takes its bootstrap key", PATIENCE, async || {
            let answer = admin.send(Method::GET, "/v1/apps", None).await.ok()?;
            (answer.status == 200).then_some(())
        });
        tokio::select! {
            () = ready => {}
            stopped = &mut done => {
                stopped.unwrap()?;
                panic!("the node stopped without an error before it was asked to");
            }
        }
        Ok(Self {
            admin,
            config,
            stop,
            done,
        })
    }

    /// Stops it and waits until it has; returns its configuration, to start it again.
    async fn stop(self) -> ControlConfig {
        drop(self.stop);
        self.done.await.unwrap().unwrap();
        self.config
    }
}

/// A fresh node's configuration: data and certificates in `dir`, quick elections and
/// delivery rounds.
fn config(dir: &Path, cluster_tls: ClusterTlsFiles) -> ControlConfig {
    ControlConfig {
        data_dir: dir.join("data"),
        raft_addr: "127.0.0.1:0".parse().unwrap(),
        admin_addr: "127.0.0.1:0".parse().unwrap(),
        raft: RaftSettings {
            heartbeat_ms: 50,
            election_timeout_min_ms: 200,
            election_timeout_max_ms: 400,
            ..RaftSettings::default()
        },
        webhooks: DelivererConfig {
            poll_interval_ms: 10,
            ..DelivererConfig::default()
        },
        cluster_tls,
        ..ControlConfig::default()
    }
}

fn create_webhook(app: &str, url: &str) -> Value {
    json!({"data": {"type": "webhooks", "attributes": {"url": url},
        "relationships": {"app": {"data": {"type": "apps", "id": app}}}}})
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_never_reach_loopback_whatever_the_spelling() {
    let (counter, port) = Counter::start().await;
    // The spellings the issue used: short, decimal, hex, octal, percent-encoded, and a
    // backslash before `@` (a WHATWG parser reads `\` as `/`, so the host is 127.0.0.1).
    let stored_earlier = [
        format!("http://127.1:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://0x7f.1:{port}/"),
        format!("http://0177.0.0.1:{port}/"),
        format!("http://%31%32%37.0.0.1:{port}/"),
    ];
    let backslash = format!("http://127.0.0.1:{port}\\@hooks.example.com/");

    // Webhooks stored while such URLs were accepted: here, by a node whose operator allowed
    // private addresses then, and that no event has reached yet.
    let dir = tempfile::tempdir().unwrap();
    let tls = TestPki::new().write_node(dir.path(), NodeRole::Control, "1");
    let node = Node::start(config(dir.path(), tls), true).await;
    let app = node
        .admin
        .create_app(&NewApp::new("Game", "com.example.game"))
        .await
        .unwrap()
        .id;
    let pack = node
        .admin
        .create_pack(&NewPack::new(&app, "level-1"))
        .await
        .unwrap()
        .id;
    let mut hooks = Vec::new();
    for url in &stored_earlier {
        let created = node.admin.post("/v1/webhooks", create_webhook(&app, url));
        hooks.push(api_support::id(&created.await.unwrap()));
    }

    // The same node as an operator runs it: private addresses are not allowed.
    let node = Node::start(node.stop().await, false).await;
    for url in stored_earlier.iter().chain([&backslash]) {
        let answer = node.admin.send(
            Method::POST,
            "/v1/webhooks",
            Some(create_webhook(&app, url)),
        );
        let answer = answer.await.unwrap();
        assert_eq!(answer.status, 422, "{url}: {}", answer.document);
        let detail = error(&answer.document)["detail"]
            .as_str()
            .unwrap()
            .to_owned();
        let why = if url == &backslash {
            "contains a backslash"
        } else {
            "names 127.0.0.1, a loopback address"
        };
        assert!(detail.contains(why), "{url}: {detail}");
    }

    // An event for every stored webhook: each delivery is refused without a connection, and
    // its log says so and nothing more.
    node.admin.create_version(&pack).await.unwrap();
    for hook in &hooks {
        let path = format!("/v1/webhooks/{hook}/deliveries");
        let attempt = eventually("the delivery is attempted", PATIENCE, async || {
            let log = node.admin.get(&path).await.unwrap();
            log["data"][0]["attributes"]["attempts"][0]
                .as_object()
                .cloned()
        })
        .await;
        assert_eq!(attempt["error"], REFUSED_TARGET, "{hook}");
    }
    assert_eq!(
        counter.accepted(),
        0,
        "nothing reached the loopback listener"
    );
    node.stop().await;
}

/// One property-test case: the admin API refuses `spelling` (422 at `url`), and the
/// deliverer's HTTP transport refuses it without a connection.
async fn never_accepted_nor_sent(
    s: &Server,
    app: &str,
    admin: &str,
    transport: &HttpTransport,
    spelling: &Spelling,
) -> Result<(), TestCaseError> {
    let url = &spelling.url;
    let (st, v) = s
        .post("/v1/webhooks", admin, create_webhook(app, url))
        .await;
    if st != 422 {
        return Err(TestCaseError::fail(format!("{url}: created, {st} {v}")));
    }
    let job = Job {
        delivery: DeliveryId::from("dlv-000000000001"),
        webhook: WebhookId::from("hook"),
        app: AppId::from(app),
        url: url.clone(),
        event_type: "BACKGROUND_ASSET_ARCHIVED",
        body: b"{}".to_vec(),
        signature: "sha256=00".into(),
    };
    match transport.send(&job).await {
        AttemptOutcome::Failed {
            status: None,
            error,
        } if error == REFUSED_TARGET || error.starts_with("not sent: the webhook's URL") => Ok(()),
        other => Err(TestCaseError::fail(format!("{url}: {other:?}"))),
    }
}

/// Runs `cases` spellings from `strategy` through [`never_accepted_nor_sent`], with a
/// listener counting connections on 127.0.0.1 at the spellings' port, which must count none.
fn property(cases: u32, strategy: impl Fn(u16) -> proptest::strategy::BoxedStrategy<Spelling>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (s, app, admin, counter, port) = rt.block_on(async {
        let s = Server::start().await;
        let (app, [admin, ..]) = team(&s).await;
        let (counter, port) = Counter::start().await;
        (s, app, admin, counter, port)
    });
    let transport = HttpTransport::new(&DelivererConfig {
        request_timeout_ms: 2_000,
        ..DelivererConfig::default()
    })
    .unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    let result = runner.run(&strategy(port), |spelling| {
        rt.block_on(never_accepted_nor_sent(
            &s, &app, &admin, &transport, &spelling,
        ))?;
        let accepted = counter.accepted();
        if accepted > 0 {
            return Err(TestCaseError::fail(format!("{}: connected", spelling.url)));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn no_spelling_of_loopback_is_accepted_or_ever_connected_to() {
    property(512, |port| {
        proptest::strategy::Strategy::boxed(loopback_url(port))
    });
}

#[test]
fn no_spelling_of_an_internal_address_is_accepted_or_sent_to() {
    property(512, |port| {
        proptest::strategy::Strategy::boxed(internal_url(port))
    });
}
