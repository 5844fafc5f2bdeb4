//! An outsider against every internal gRPC service of a running cluster (`packyard dev`: a
//! control plane, an origin and an edge talking over the cluster's mutual TLS). Every call
//! is tried with no client certificate, with one from another CA, with an expired one, with
//! one of each role the service does not serve, and over plain HTTP/2. Each is refused with
//! the status that says why, nothing reaches a handler, and the catalog shows that nothing
//! was written: no edge registered, no version completed, no voter removed.

#![allow(clippy::unwrap_used)]

#[path = "support/dev.rs"]
mod dev;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use dev::{Dev, KEY};
use packyard_net::cluster::test_support::raw_channel;
use packyard_net::cluster::{CertRequest, ClusterCa, Identity, NodeRole, Validity};
use packyard_proto::catalog::v1 as catalog;
use packyard_proto::catalog::v1::catalog_watch_client::CatalogWatchClient;
use packyard_proto::catalog::v1::edge_registry_client::EdgeRegistryClient;
use packyard_proto::catalog::v1::origin_coordinator_client::OriginCoordinatorClient;
use packyard_proto::chunks::v1 as chunks;
use packyard_proto::chunks::v1::chunk_store_client::ChunkStoreClient;
use packyard_proto::raft::v1 as raft;
use packyard_proto::raft::v1::membership_client::MembershipClient;
use packyard_proto::raft::v1::raft_client::RaftClient;
use serde_json::{Value, json};
use tonic::transport::Channel;
use tonic::{Code, Status};

type Call = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

/// Which node serves a service, and which roles it admits.
#[derive(Clone, Copy)]
struct Service {
    name: &'static str,
    on_origin: bool,
    admits: &'static [NodeRole],
}

const SERVICES: [Service; 6] = [
    Service {
        name: "Raft",
        on_origin: false,
        admits: &[NodeRole::Control],
    },
    Service {
        name: "Membership",
        on_origin: false,
        admits: &[NodeRole::Control, NodeRole::Operator],
    },
    Service {
        name: "CatalogWatch",
        on_origin: false,
        admits: &[NodeRole::Edge, NodeRole::Origin],
    },
    Service {
        name: "EdgeRegistry",
        on_origin: false,
        admits: &[NodeRole::Edge],
    },
    Service {
        name: "OriginCoordinator",
        on_origin: false,
        admits: &[NodeRole::Origin],
    },
    Service {
        name: "ChunkStore",
        on_origin: true,
        admits: &[NodeRole::Edge],
    },
];

/// Every RPC of `service`, with requests that would change or reveal something if admitted.
fn calls(service: &str, channel: &Channel, version: &str) -> Vec<(&'static str, Call)> {
    let ch = || channel.clone();
    let payload = || raft::RaftPayload {
        json: b"{}".to_vec(),
    };
    let version = version.to_owned();
    let mut out: Vec<(&'static str, Call)> = Vec::new();
    match service {
        "Raft" => {
            let c = ch();
            out.push((
                "AppendEntries",
                Box::pin(async move { ok(RaftClient::new(c).append_entries(payload()).await) }),
            ));
            let c = ch();
            out.push((
                "AppendEntriesStream",
                Box::pin(async move {
                    // A stream of one request: refused when the call opens, before any
                    // request is read.
                    let requests = tokio_stream::iter(vec![payload()]);
                    ok(RaftClient::new(c).append_entries_stream(requests).await)
                }),
            ));
            let c = ch();
            out.push((
                "Vote",
                Box::pin(async move { ok(RaftClient::new(c).vote(payload()).await) }),
            ));
            let c = ch();
            out.push((
                "InstallSnapshot",
                Box::pin(async move { ok(RaftClient::new(c).install_snapshot(payload()).await) }),
            ));
            let c = ch();
            out.push(("ClientWrite", Box::pin(async move {
                let command_json = br#"{"actor":"System","at":1,"command":{"SetTesterTokenSecret":{"secret":[]}}}"#.to_vec();
                ok(RaftClient::new(c).client_write(raft::ClientWriteRequest { command_json }).await)
            })));
            let c = ch();
            out.push(("ClientWriteStream", Box::pin(async move {
                let command_json = br#"{"actor":"System","at":1,"command":{"SetTesterTokenSecret":{"secret":[]}}}"#.to_vec();
                let requests = tokio_stream::iter(vec![raft::ClientWriteRequest { command_json }]);
                ok(RaftClient::new(c).client_write_stream(requests).await)
            })));
            let c = ch();
            out.push((
                "ReadIndex",
                Box::pin(async move {
                    ok(RaftClient::new(c)
                        .read_index(raft::ReadIndexRequest {})
                        .await)
                }),
            ));
        }
        "Membership" => {
            let c = ch();
            out.push((
                "Join",
                Box::pin(async move {
                    let node = raft::NodeInfo {
                        id: 9,
                        raft_addr: "127.0.0.1:9".into(),
                        admin_addr: "127.0.0.1:9".into(),
                    };
                    ok(MembershipClient::new(c)
                        .join(raft::JoinRequest { node: Some(node) })
                        .await)
                }),
            ));
            let c = ch();
            out.push((
                "Leave",
                Box::pin(async move {
                    ok(MembershipClient::new(c)
                        .leave(raft::LeaveRequest { id: 1 })
                        .await)
                }),
            ));
            let c = ch();
            out.push((
                "Status",
                Box::pin(async move {
                    ok(MembershipClient::new(c)
                        .status(raft::StatusRequest {})
                        .await)
                }),
            ));
        }
        "CatalogWatch" => {
            let c = ch();
            out.push((
                "Watch",
                Box::pin(async move {
                    let request = catalog::WatchRequest {
                        from_index: 0,
                        watcher_id: "outsider".into(),
                    };
                    ok(CatalogWatchClient::new(c).watch(request).await)
                }),
            ));
        }
        "EdgeRegistry" => {
            let c = ch();
            out.push((
                "Register",
                Box::pin(async move {
                    let request = catalog::RegisterEdgeRequest {
                        edge_id: "intruder".into(),
                        region: "eu".into(),
                        public_urls: vec!["https://intruder.example".into()],
                        cache_capacity_bytes: 1,
                    };
                    ok(EdgeRegistryClient::new(c).register(request).await)
                }),
            ));
            let c = ch();
            out.push((
                "Heartbeat",
                Box::pin(async move {
                    let request = catalog::HeartbeatRequest {
                        edge_id: "dev".into(),
                        ..Default::default()
                    };
                    ok(EdgeRegistryClient::new(c).heartbeat(request).await)
                }),
            ));
        }
        "OriginCoordinator" => {
            let c = ch();
            let v = version.clone();
            out.push((
                "ReportProcessed",
                Box::pin(async move {
                    let id = [1u8; 32].to_vec();
                    let report = catalog::ProcessedReport {
                        version_id: v,
                        outcome: Some(catalog::processed_report::Outcome::Completed(
                            catalog::VersionCompleted {
                                size: 4,
                                archive_hash: id.clone(),
                                chunks: vec![catalog::Chunk { id, length: 4 }],
                                download_policy: Some(catalog::DownloadPolicy {
                                    policy: Some(catalog::download_policy::Policy::OnDemand(
                                        catalog::OnDemand {},
                                    )),
                                }),
                                platforms: vec!["iOS".into()],
                                ..Default::default()
                            },
                        )),
                    };
                    ok(OriginCoordinatorClient::new(c)
                        .report_processed(report)
                        .await)
                }),
            ));
            let c = ch();
            out.push((
                "DescribeUpload",
                Box::pin(async move {
                    let request = catalog::DescribeUploadRequest {
                        upload_file_id: "x".into(),
                    };
                    ok(OriginCoordinatorClient::new(c)
                        .describe_upload(request)
                        .await)
                }),
            ));
        }
        "ChunkStore" => {
            let c = ch();
            out.push((
                "Have",
                Box::pin(async move {
                    ok(ChunkStoreClient::new(c)
                        .have(chunks::HaveRequest {
                            ids: vec![vec![0; 32]],
                        })
                        .await)
                }),
            ));
            let c = ch();
            out.push((
                "Fetch",
                Box::pin(async move {
                    ok(ChunkStoreClient::new(c)
                        .fetch(chunks::FetchRequest {
                            ids: vec![vec![0; 32]],
                        })
                        .await)
                }),
            ));
        }
        other => panic!("no service {other}"),
    }
    out
}

/// Whether a call was answered, whatever with.
fn ok<T>(answer: Result<T, Status>) -> Result<(), Status> {
    answer.map(|_| ())
}

/// What the outsider presents.
enum Credential {
    None,
    ForeignCa,
    Expired,
    Role(NodeRole),
    Plaintext,
}

impl Credential {
    fn describe(&self) -> String {
        match self {
            Credential::None => "no certificate".into(),
            Credential::ForeignCa => "a certificate from another CA".into(),
            Credential::Expired => "an expired certificate".into(),
            Credential::Role(role) => format!("a {role} certificate"),
            Credential::Plaintext => "plain HTTP/2".into(),
        }
    }

    /// The refusal `status` must be.
    fn check(&self, status: &Status) -> Result<(), String> {
        let debug = format!("{status:?}");
        let fits = match self {
            Credential::None => {
                status.code() == Code::Unauthenticated
                    && status.message().contains("no client certificate")
            }
            Credential::Role(_) => status.code() == Code::PermissionDenied,
            Credential::ForeignCa => {
                status.code() == Code::Unauthenticated
                    && status.message().contains("not issued by this cluster's CA")
            }
            Credential::Expired => {
                status.code() == Code::Unauthenticated && status.message().contains("has expired")
            }
            // No TLS at all: the listener hangs up; the call fails below gRPC.
            Credential::Plaintext => std::error::Error::source(status)
                .is_some_and(|e| e.downcast_ref::<tonic::transport::Error>().is_some()),
        };
        if fits { Ok(()) } else { Err(debug) }
    }
}

async fn json_call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Value,
) -> Value {
    let mut request = http.request(method, url).bearer_auth(KEY);
    if !body.is_null() {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outsider_gets_a_refusal_and_no_data_from_every_internal_service() {
    let tmp = tempfile::tempdir().unwrap();
    let (dev, http) = Dev::ready(tmp.path(), &[]).await;
    let api = |path: &str| format!("http://{}{path}", dev.admin);
    // The dev node's own edge registers once the cluster has a leader: the list of edges
    // must hold it, and only it, before and after the outsider's attempts.
    dev::wait_for(60, "the dev edge registers", &dev, || async {
        let edges = http.get(api("/v1/edges")).bearer_auth(KEY).send().await;
        match edges {
            Ok(r) if r.status() == 200 => r
                .json::<Value>()
                .await
                .is_ok_and(|v| v["data"].as_array().is_some_and(|a| !a.is_empty())),
            _ => false,
        }
    })
    .await;

    // A version awaiting its upload: an admitted ReportProcessed would complete it.
    let app = json_call(&http, reqwest::Method::POST, api("/v1/apps"), json!({"data": {"type": "apps",
        "attributes": {"name": "Game", "bundleId": "com.example.outsider", "primaryLanguage": "en-US"}}})).await;
    let app = app["data"]["id"].as_str().unwrap().to_owned();
    let pack = json_call(
        &http,
        reqwest::Method::POST,
        api("/v1/backgroundAssets"),
        json!({"data": {
        "type": "backgroundAssets", "attributes": {"assetPackIdentifier": "level-1"},
        "relationships": {"app": {"data": {"type": "apps", "id": app}}}}}),
    )
    .await;
    let pack = pack["data"]["id"].as_str().unwrap().to_owned();
    let version = json_call(
        &http,
        reqwest::Method::POST,
        api("/v1/backgroundAssetVersions"),
        json!({"data": {
        "type": "backgroundAssetVersions",
        "relationships": {"backgroundAsset": {"data": {"type": "backgroundAssets", "id": pack}}}}}),
    )
    .await;
    let version = version["data"]["id"].as_str().unwrap().to_owned();

    // The cluster CA is public knowledge; its key is not, but the test uses it to make the
    // certificates an insider of each other role would hold, and an expired one.
    let tls = dev.data.join("cluster-tls");
    let read = |name: &str| std::fs::read_to_string(tls.join(name)).unwrap();
    let ca_pem = read("ca.pem");
    let ca = ClusterCa::from_pem(&ca_pem, &read("ca.key")).unwrap();
    let issue = |ca: &ClusterCa, role, validity| {
        let identity = Identity::new(role, "outsider").unwrap();
        ca.issue(&CertRequest {
            identity,
            validity,
            dns_names: vec![],
            ips: vec![],
        })
        .unwrap()
    };
    let year = Validity::starting_now(Duration::from_secs(365 * 86_400)).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let past = Validity {
        not_before: now - time::Duration::days(30),
        not_after: now - time::Duration::days(1),
    };
    let foreign = ClusterCa::generate("someone else's CA", year).unwrap();

    let mut tried = 0;
    for service in SERVICES {
        let (addr, server_role) = if service.on_origin {
            (&dev.chunks, NodeRole::Origin)
        } else {
            (&dev.raft, NodeRole::Control)
        };
        let mut credentials = vec![
            Credential::None,
            Credential::ForeignCa,
            Credential::Expired,
            Credential::Plaintext,
        ];
        credentials.extend(
            NodeRole::ALL
                .into_iter()
                .filter(|r| !service.admits.contains(r))
                .map(Credential::Role),
        );
        for credential in credentials {
            let channel = match &credential {
                Credential::None => raw_channel(addr, &ca_pem, server_role, None),
                Credential::ForeignCa => {
                    let cert = issue(&foreign, service.admits[0], year);
                    raw_channel(
                        addr,
                        &ca_pem,
                        server_role,
                        Some((&cert.cert_pem, &cert.key_pem)),
                    )
                }
                Credential::Expired => {
                    let cert = issue(&ca, service.admits[0], past);
                    raw_channel(
                        addr,
                        &ca_pem,
                        server_role,
                        Some((&cert.cert_pem, &cert.key_pem)),
                    )
                }
                Credential::Role(role) => {
                    let cert = issue(&ca, *role, year);
                    raw_channel(
                        addr,
                        &ca_pem,
                        server_role,
                        Some((&cert.cert_pem, &cert.key_pem)),
                    )
                }
                Credential::Plaintext => {
                    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
                        .unwrap()
                        .connect_lazy()
                }
            };
            for (rpc, call) in calls(service.name, &channel, &version) {
                let answer = tokio::time::timeout(Duration::from_secs(10), call)
                    .await
                    .unwrap_or_else(|_| {
                        panic!("{}.{rpc} with {} hung", service.name, credential.describe())
                    });
                let status = match answer {
                    Ok(()) => panic!("{}.{rpc} answered {}", service.name, credential.describe()),
                    Err(status) => status,
                };
                if let Err(got) = credential.check(&status) {
                    panic!(
                        "{}.{rpc} with {}: {got}\n{}",
                        service.name,
                        credential.describe(),
                        dev.log()
                    );
                }
                tried += 1;
            }
        }
    }
    assert!(tried >= 60, "only {tried} attempts");

    // Nothing was written: no edge but the dev node's own, the version still awaits its
    // upload, the only voter is still there, and the cluster still takes writes.
    let edges = json_call(&http, reqwest::Method::GET, api("/v1/edges"), Value::Null).await;
    let ids: Vec<&str> = edges["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["dev"], "{edges}");
    let v = json_call(
        &http,
        reqwest::Method::GET,
        api(&format!("/v1/backgroundAssetVersions/{version}")),
        Value::Null,
    )
    .await;
    assert_eq!(v["data"]["attributes"]["state"], "AWAITING_UPLOAD", "{v}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args([
            "cluster",
            "--node",
            &dev.raft,
            "--json",
            "status",
            "--cluster-tls-dir",
        ])
        .arg(&tls)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["voters"][0]["id"], 1, "{status}");
    json_call(&http, reqwest::Method::POST, api("/v1/apps"), json!({"data": {"type": "apps",
        "attributes": {"name": "Still", "bundleId": "com.example.still", "primaryLanguage": "en-US"}}})).await;
}
