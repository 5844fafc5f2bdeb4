//! Origins report processing outcomes over gRPC: a good report completes the version, a
//! malformed one is refused naming the field, and a second report cannot change a COMPLETE
//! version's bytes (rule R12).

// Test helpers outside `#[test]` functions: a failed setup step should fail the test at once.
#![allow(clippy::unwrap_used)]

mod api_support;

use api_support::Server;
use packyard_control_plane::origin_reports::OriginReports;
use packyard_core::Blake3Hash;
use packyard_net::cluster::NodeRole;
use packyard_net::cluster::test_support::{TestPki, listen};
use packyard_proto::catalog::v1::origin_coordinator_client::OriginCoordinatorClient;
use packyard_proto::catalog::v1::processed_report::Outcome;
use packyard_proto::catalog::v1::{self as pb};
use tonic::Code;
use tonic::transport::Channel;

async fn start() -> (Server, OriginCoordinatorClient<Channel>) {
    let s = Server::start().await;
    let pki = TestPki::new();
    let (addr, incoming) = listen(pki.node(NodeRole::Control, "1")).await;
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(OriginReports::new(s.store.clone(), 8 << 20).into_server())
            .serve_with_incoming(incoming),
    );
    let channel = pki
        .node(NodeRole::Origin, "1")
        .channel(&addr, NodeRole::Control)
        .unwrap();
    (s, OriginCoordinatorClient::new(channel))
}

/// A report of a one-chunk archive of `bytes`.
fn completed(version: &str, bytes: &[u8]) -> pb::ProcessedReport {
    let hash = Blake3Hash::of(bytes).as_bytes().to_vec();
    pb::ProcessedReport {
        version_id: version.to_owned(),
        outcome: Some(Outcome::Completed(pb::VersionCompleted {
            size: bytes.len() as u64,
            archive_hash: hash.clone(),
            chunks: vec![pb::Chunk {
                id: hash,
                length: u32::try_from(bytes.len()).unwrap(),
            }],
            download_policy: Some(pb::DownloadPolicy {
                policy: Some(pb::download_policy::Policy::OnDemand(pb::OnDemand {})),
            }),
            platforms: vec!["iOS".into()],
            language: "fr-CA".into(),
            ..Default::default()
        })),
    }
}

#[tokio::test]
async fn a_report_completes_the_version_and_malformed_ones_name_the_field() {
    let (s, mut origin) = start().await;
    let app = s.app("com.example.origin").await;
    let pack = s.pack(&app, &s.admin, "level-2").await.1["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let version = s.processing_version(&pack, &s.admin, 11).await;

    let mut cases: Vec<(pb::ProcessedReport, &str)> = Vec::new();
    let mut bad = completed(&version, b"hello world");
    if let Some(Outcome::Completed(v)) = &mut bad.outcome {
        v.archive_hash.truncate(5);
    }
    cases.push((bad, "archive_hash"));
    let mut bad = completed(&version, b"hello world");
    if let Some(Outcome::Completed(v)) = &mut bad.outcome {
        v.platforms = vec!["ios".into()];
    }
    cases.push((bad, "platforms"));
    let mut bad = completed(&version, b"hello world");
    if let Some(Outcome::Completed(v)) = &mut bad.outcome {
        v.download_policy = None;
    }
    cases.push((bad, "download_policy"));
    let mut bad = completed(&version, b"hello world");
    if let Some(Outcome::Completed(v)) = &mut bad.outcome {
        v.language = "fr_CA".into();
    }
    cases.push((bad, "language"));
    let mut bad = completed(&version, b"hello world");
    if let Some(Outcome::Completed(v)) = &mut bad.outcome {
        v.chunks[0].length = 0;
    }
    cases.push((bad, "chunks"));
    let mut bad = completed(&version, b"hello world");
    if let Some(Outcome::Completed(v)) = &mut bad.outcome {
        v.size += 1;
    }
    cases.push((bad, "size"));
    cases.push((
        pb::ProcessedReport {
            version_id: version.clone(),
            outcome: None,
        },
        "outcome",
    ));
    for (report, field) in cases {
        let status = origin.report_processed(report).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().starts_with(field),
            "{field}: {}",
            status.message()
        );
    }
    let (_, v) = s
        .get(&format!("/v1/backgroundAssetVersions/{version}"), &s.admin)
        .await;
    assert_eq!(
        v["data"]["attributes"]["state"], "PROCESSING",
        "refused reports store nothing"
    );

    origin
        .report_processed(completed(&version, b"hello world"))
        .await
        .unwrap();
    let (_, v) = s
        .get(&format!("/v1/backgroundAssetVersions/{version}"), &s.admin)
        .await;
    assert_eq!(v["data"]["attributes"]["state"], "COMPLETE", "{v}");

    // R12: the bytes of a COMPLETE version never change.
    let status = origin
        .report_processed(completed(&version, b"other bytes"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
}

#[tokio::test]
async fn a_failure_report_fails_the_version_with_its_reasons() {
    let (s, mut origin) = start().await;
    let app = s.app("com.example.origin-fail").await;
    let pack = s.pack(&app, &s.admin, "level-3").await.1["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let version = s.processing_version(&pack, &s.admin, 11).await;
    let report = pb::ProcessedReport {
        version_id: version.clone(),
        outcome: Some(Outcome::Failed(pb::Failure {
            upload_file_id: String::new(),
            errors: vec![pb::StateDetail {
                code: "MANIFEST_MISSING".into(),
                description: "upload a MANIFEST file or build the archive with packyard pack build"
                    .into(),
            }],
        })),
    };
    origin.report_processed(report).await.unwrap();
    let (_, v) = s
        .get(&format!("/v1/backgroundAssetVersions/{version}"), &s.admin)
        .await;
    assert_eq!(v["data"]["attributes"]["state"], "FAILED", "{v}");
    assert!(v.to_string().contains("MANIFEST_MISSING"), "{v}");
}
