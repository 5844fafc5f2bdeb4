//! The JSON each command is written to the Raft log as, pinned literally. Entries already in
//! a log must decode whatever shape `Command` takes in Rust, and a node not yet upgraded must
//! read what an upgraded leader writes; a change that fails here changes the log format.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::fixture::metadata;
use crate::catalog::*;
use crate::chunk_list::ChunkRef;
use crate::role::Role;
use crate::rollout::{Regions, Stage};
use crate::{AssetPackIdentifier, Blake3Hash, ChunkList, LanguageTag};

/// One command of every kind, with the JSON the log holds for it.
fn samples() -> Vec<(Command, &'static str)> {
    let hash = Blake3Hash::of(b"key");
    let chunk_list = ChunkList::new(
        Blake3Hash::of(b"archive"),
        vec![ChunkRef {
            id: Blake3Hash::of(b"chunk"),
            len: 100,
        }],
    )
    .unwrap();
    let served = BTreeMap::from([((PackId::from("p1"), 2), 5)]);
    vec![
        (
            Command::CreateUser(CreateUser {
                id: UserId::from("u1"),
                name: "Ann".into(),
                email: "ann@example.com".into(),
                roles: vec![(AppId::from("a1"), Role::Developer)],
                operator: false,
            }),
            r#"{"CreateUser":{"id":"u1","name":"Ann","email":"ann@example.com","roles":[["a1","DEVELOPER"]],"operator":false}}"#,
        ),
        (
            Command::SetNotifications(SetNotifications {
                user: UserId::from("u1"),
                enabled: true,
            }),
            r#"{"SetNotifications":{"user":"u1","enabled":true}}"#,
        ),
        (
            Command::GrantRole(GrantRole {
                user: UserId::from("u1"),
                app: AppId::from("a1"),
                role: Role::AppManager,
            }),
            r#"{"GrantRole":{"user":"u1","app":"a1","role":"APP_MANAGER"}}"#,
        ),
        (
            Command::RemoveRole(RemoveRole {
                user: UserId::from("u1"),
                app: AppId::from("a1"),
                role: None,
            }),
            r#"{"RemoveRole":{"user":"u1","app":"a1","role":null}}"#,
        ),
        (
            Command::CreateApiKey(CreateApiKey {
                id: ApiKeyId::from("k1"),
                user: UserId::from("u1"),
                key_hash: hash,
            }),
            r#"{"CreateApiKey":{"id":"k1","user":"u1","key_hash":"ff8e2bab3b26e0c127002127905539b47eb421de85d554e15f55a446459b52b4"}}"#,
        ),
        (
            Command::RevokeApiKey {
                id: ApiKeyId::from("k1"),
            },
            r#"{"RevokeApiKey":{"id":"k1"}}"#,
        ),
        (
            Command::TouchApiKey {
                id: ApiKeyId::from("k1"),
            },
            r#"{"TouchApiKey":{"id":"k1"}}"#,
        ),
        (
            Command::CreateApp(CreateApp {
                id: AppId::from("a1"),
                name: "Game".into(),
                bundle_id: "com.example.game".into(),
                primary_language: LanguageTag::parse("fr-CA").unwrap(),
            }),
            r#"{"CreateApp":{"id":"a1","name":"Game","bundle_id":"com.example.game","primary_language":"fr-CA"}}"#,
        ),
        (
            Command::SetTransferInProgress(SetTransferInProgress {
                app: AppId::from("a1"),
                in_progress: true,
            }),
            r#"{"SetTransferInProgress":{"app":"a1","in_progress":true}}"#,
        ),
        (
            Command::RegisterBuild(RegisterBuild {
                id: BuildId::from("b1"),
                app: AppId::from("a1"),
                build_number: "42".into(),
                channels: BTreeSet::from([BuildChannel::Internal, BuildChannel::External]),
            }),
            r#"{"RegisterBuild":{"id":"b1","app":"a1","build_number":"42","channels":["INTERNAL","EXTERNAL"]}}"#,
        ),
        (
            Command::CreatePack(CreatePack {
                id: PackId::from("p1"),
                app: AppId::from("a1"),
                identifier: AssetPackIdentifier::parse("level-2").unwrap(),
            }),
            r#"{"CreatePack":{"id":"p1","app":"a1","identifier":"level-2"}}"#,
        ),
        (
            Command::ArchivePack {
                pack: PackId::from("p1"),
            },
            r#"{"ArchivePack":{"pack":"p1"}}"#,
        ),
        (
            Command::CreateVersion(CreateVersion {
                id: VersionId::from("v1"),
                pack: PackId::from("p1"),
            }),
            r#"{"CreateVersion":{"id":"v1","pack":"p1"}}"#,
        ),
        (
            Command::ReserveUploadFile(ReserveUploadFile {
                id: UploadFileId::from("f1"),
                version: VersionId::from("v1"),
                file_name: "pack.aar".into(),
                file_size: 100,
                asset_type: AssetType::Asset,
                key: Some(crate::upload_credential::UploadKey([0xab; 32])),
            }),
            r#"{"ReserveUploadFile":{"id":"f1","version":"v1","file_name":"pack.aar","file_size":100,"asset_type":"ASSET","key":"abababababababababababababababababababababababababababababababab"}}"#,
        ),
        (
            Command::CommitUploadFile(CommitUploadFile {
                id: UploadFileId::from("f1"),
                sha256: Sha256Digest([7; 32]),
            }),
            r#"{"CommitUploadFile":{"id":"f1","sha256":"0707070707070707070707070707070707070707070707070707070707070707"}}"#,
        ),
        (
            Command::ExpireUploadFile(ExpireUploadFile {
                id: UploadFileId::from("f1"),
                ttl_ms: 3_600_000,
            }),
            r#"{"ExpireUploadFile":{"id":"f1","ttl_ms":3600000}}"#,
        ),
        (
            Command::ExpireVersion(ExpireVersion {
                version: VersionId::from("v1"),
                reservation_ms: 3_600_000,
                processing_ms: 7_200_000,
            }),
            r#"{"ExpireVersion":{"version":"v1","reservation_ms":3600000,"processing_ms":7200000}}"#,
        ),
        (
            Command::ProcessingSucceeded(ProcessingSucceeded {
                version: VersionId::from("v1"),
                size: 100,
                chunk_list,
                metadata: metadata(),
            }),
            r#"{"ProcessingSucceeded":{"version":"v1","size":100,"chunk_list":{"archiveHash":"1ff28929422717d74e648482a67b31b423e83858609e2ae1aef3ab9f77066c5b","size":100,"chunks":[{"id":"6b1d440ada61d0f4e4416c73bcbab3694f96875a3e5df3253075163ffe93cd4d","length":100}]},"metadata":{"download_policy":{"onDemand":{}},"platforms":["iOS"],"language":null}}}"#,
        ),
        (
            Command::ProcessingFailed(ProcessingFailed {
                version: VersionId::from("v1"),
                upload_file: Some(UploadFileId::from("f1")),
                details: StateDetails {
                    errors: vec![StateDetail {
                        code: "CHECKSUM_MISMATCH".into(),
                        description: "the checksum does not match".into(),
                    }],
                    ..StateDetails::default()
                },
            }),
            r#"{"ProcessingFailed":{"version":"v1","upload_file":"f1","details":{"errors":[{"code":"CHECKSUM_MISMATCH","description":"the checksum does not match"}],"warnings":[],"infos":[]}}}"#,
        ),
        (
            Command::SubmitForReview(SubmitForReview {
                id: ReviewSubmissionId::from("s1"),
                version: VersionId::from("v1"),
                track: ReviewTrack::AppStore,
            }),
            r#"{"SubmitForReview":{"id":"s1","version":"v1","track":"APP_STORE"}}"#,
        ),
        (
            Command::StartReview {
                submission: ReviewSubmissionId::from("s1"),
            },
            r#"{"StartReview":{"submission":"s1"}}"#,
        ),
        (
            Command::WithdrawSubmission {
                submission: ReviewSubmissionId::from("s1"),
            },
            r#"{"WithdrawSubmission":{"submission":"s1"}}"#,
        ),
        (
            Command::DecideReview(DecideReview {
                submission: ReviewSubmissionId::from("s1"),
                accepted: false,
                reasons: vec!["It crashes.".into()],
            }),
            r#"{"DecideReview":{"submission":"s1","accepted":false,"reasons":["It crashes."]}}"#,
        ),
        (
            Command::FinishExternalProcessing {
                version: VersionId::from("v1"),
            },
            r#"{"FinishExternalProcessing":{"version":"v1"}}"#,
        ),
        (
            Command::Release {
                version: VersionId::from("v1"),
            },
            r#"{"Release":{"version":"v1"}}"#,
        ),
        (
            Command::FinishDistribution {
                version: VersionId::from("v1"),
            },
            r#"{"FinishDistribution":{"version":"v1"}}"#,
        ),
        (
            Command::CreateWebhook(CreateWebhook {
                id: WebhookId::from("w1"),
                app: AppId::from("a1"),
                url: "https://hooks.example.com/packyard".into(),
                secret: WebhookSecret::new("s".repeat(32)),
                event_types: BTreeSet::from([EventType::BackgroundAssetArchived]),
            }),
            r#"{"CreateWebhook":{"id":"w1","app":"a1","url":"https://hooks.example.com/packyard","secret":"ssssssssssssssssssssssssssssssss","event_types":["BACKGROUND_ASSET_ARCHIVED"]}}"#,
        ),
        (
            Command::DeleteWebhook {
                id: WebhookId::from("w1"),
            },
            r#"{"DeleteWebhook":{"id":"w1"}}"#,
        ),
        (
            Command::PingWebhook {
                webhook: WebhookId::from("w1"),
            },
            r#"{"PingWebhook":{"webhook":"w1"}}"#,
        ),
        (
            Command::RecordDeliveryAttempt(RecordDeliveryAttempt {
                delivery: DeliveryId::from("dlv-000000000001"),
                outcome: AttemptOutcome::Failed {
                    status: Some(503),
                    error: "unavailable".into(),
                },
            }),
            r#"{"RecordDeliveryAttempt":{"delivery":"dlv-000000000001","outcome":{"result":"failed","status":503,"error":"unavailable"}}}"#,
        ),
        (
            Command::SetTesterTokenSecret {
                secret: TesterTokenSecret([9; 32]),
                retire_previous: false,
            },
            r#"{"SetTesterTokenSecret":{"secret":[9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9]}}"#,
        ),
        (
            Command::SetTesterTokenSecret {
                secret: TesterTokenSecret([9; 32]),
                retire_previous: true,
            },
            r#"{"SetTesterTokenSecret":{"secret":[9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9],"retire_previous":true}}"#,
        ),
        (
            Command::IssueTesterToken(IssueTesterToken {
                id: TesterTokenId::from("tt-1"),
                app: AppId::from("a1"),
                channel: crate::tester_token::BetaChannel::External,
                lifetime_secs: 3600,
            }),
            r#"{"IssueTesterToken":{"id":"tt-1","app":"a1","channel":"EXTERNAL","lifetime_secs":3600}}"#,
        ),
        (
            Command::RevokeTesterToken {
                id: TesterTokenId::from("tt-1"),
            },
            r#"{"RevokeTesterToken":{"id":"tt-1"}}"#,
        ),
        (
            Command::RegisterEdge(RegisterEdge {
                id: EdgeId::from("e1"),
                region: "eu-west".into(),
                public_urls: vec!["https://e1.example.com".into()],
                capacity_bytes: 1 << 30,
            }),
            r#"{"RegisterEdge":{"id":"e1","region":"eu-west","public_urls":["https://e1.example.com"],"capacity_bytes":1073741824}}"#,
        ),
        (
            Command::EdgeHeartbeat(EdgeHeartbeat {
                id: EdgeId::from("e1"),
                applied_index: 17,
                cached_bytes: 1_000,
                ready: BTreeSet::from([(PackId::from("p1"), 2)]),
                served: served.clone(),
                requests: served,
            }),
            r#"{"EdgeHeartbeat":{"id":"e1","applied_index":17,"cached_bytes":1000,"ready":[["p1",2]],"served":[[["p1",2],5]],"requests":[[["p1",2],5]]}}"#,
        ),
        (
            Command::StartRollout(StartRollout {
                id: RolloutId::from("r1"),
                version: VersionId::from("v1"),
                stages: vec![
                    Stage {
                        regions: Regions::from(vec!["eu-west".to_owned()]),
                        percentage: 10,
                    },
                    Stage {
                        regions: Regions::All,
                        percentage: 100,
                    },
                ],
                soak_seconds: Some(600),
            }),
            r#"{"StartRollout":{"id":"r1","version":"v1","stages":[{"regions":["eu-west"],"percentage":10},{"regions":["*"],"percentage":100}],"soak_seconds":600}}"#,
        ),
        (
            Command::ChangeRollout(ChangeRollout {
                rollout: RolloutId::from("r1"),
                action: RolloutAction::RollBack,
            }),
            r#"{"ChangeRollout":{"rollout":"r1","action":"ROLL_BACK"}}"#,
        ),
        (
            Command::AutoAdvanceRollout(AutoAdvanceRollout {
                rollout: RolloutId::from("r1"),
                stage: 1,
            }),
            r#"{"AutoAdvanceRollout":{"rollout":"r1","stage":1}}"#,
        ),
        (
            Command::SetLimits {
                limits: crate::quota::QuotaLimits::default(),
            },
            r#"{"SetLimits":{"limits":{"max_packs":100,"max_bytes":200000000000,"max_file_bytes":8000000000,"warn_ratio_percent":80,"max_apps_per_account_holder":25,"max_users":10000,"max_name_bytes":256,"max_text_bytes":8192,"max_webhooks_per_app":25,"max_tester_tokens_per_app":10000}}}"#,
        ),
        (
            Command::AcquireLease(AcquireLease {
                name: "processing/v1".into(),
                holder: "origin:1".into(),
                ttl_ms: 30_000,
            }),
            r#"{"AcquireLease":{"name":"processing/v1","holder":"origin:1","ttl_ms":30000}}"#,
        ),
        (
            Command::ReleaseLease(ReleaseLease {
                name: "gc".into(),
                holder: "origin:2".into(),
            }),
            r#"{"ReleaseLease":{"name":"gc","holder":"origin:2"}}"#,
        ),
    ]
}

/// The name of `command`'s kind. The match has no wildcard, so a new command cannot compile
/// without being named here, and [`every_kind_has_a_sample`] then asks for its sample.
fn kind(command: &Command) -> &'static str {
    use Command as C;
    match command {
        C::CreateUser { .. } => "CreateUser",
        C::SetNotifications { .. } => "SetNotifications",
        C::GrantRole { .. } => "GrantRole",
        C::RemoveRole { .. } => "RemoveRole",
        C::CreateApiKey { .. } => "CreateApiKey",
        C::RevokeApiKey { .. } => "RevokeApiKey",
        C::TouchApiKey { .. } => "TouchApiKey",
        C::CreateApp { .. } => "CreateApp",
        C::SetTransferInProgress { .. } => "SetTransferInProgress",
        C::RegisterBuild { .. } => "RegisterBuild",
        C::CreatePack { .. } => "CreatePack",
        C::ArchivePack { .. } => "ArchivePack",
        C::CreateVersion { .. } => "CreateVersion",
        C::ReserveUploadFile { .. } => "ReserveUploadFile",
        C::CommitUploadFile { .. } => "CommitUploadFile",
        C::ExpireUploadFile { .. } => "ExpireUploadFile",
        C::ExpireVersion { .. } => "ExpireVersion",
        C::ProcessingSucceeded { .. } => "ProcessingSucceeded",
        C::ProcessingFailed { .. } => "ProcessingFailed",
        C::SubmitForReview { .. } => "SubmitForReview",
        C::StartReview { .. } => "StartReview",
        C::WithdrawSubmission { .. } => "WithdrawSubmission",
        C::DecideReview { .. } => "DecideReview",
        C::FinishExternalProcessing { .. } => "FinishExternalProcessing",
        C::Release { .. } => "Release",
        C::FinishDistribution { .. } => "FinishDistribution",
        C::CreateWebhook { .. } => "CreateWebhook",
        C::DeleteWebhook { .. } => "DeleteWebhook",
        C::PingWebhook { .. } => "PingWebhook",
        C::RecordDeliveryAttempt { .. } => "RecordDeliveryAttempt",
        C::SetTesterTokenSecret { .. } => "SetTesterTokenSecret",
        C::IssueTesterToken { .. } => "IssueTesterToken",
        C::RevokeTesterToken { .. } => "RevokeTesterToken",
        C::RegisterEdge { .. } => "RegisterEdge",
        C::EdgeHeartbeat { .. } => "EdgeHeartbeat",
        C::StartRollout { .. } => "StartRollout",
        C::ChangeRollout { .. } => "ChangeRollout",
        C::AutoAdvanceRollout { .. } => "AutoAdvanceRollout",
        C::SetLimits { .. } => "SetLimits",
        C::AcquireLease { .. } => "AcquireLease",
        C::ReleaseLease { .. } => "ReleaseLease",
    }
}

#[test]
fn every_kind_has_a_sample() {
    let kinds: BTreeSet<&str> = samples().iter().map(|(c, _)| kind(c)).collect();
    assert_eq!(kinds.len(), 41, "a command kind has no sample: {kinds:?}");
}

#[test]
fn logged_commands_decode() {
    for (command, json) in samples() {
        let read: Command =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{json} does not decode: {e}"));
        assert_eq!(read, command);
    }
}

#[test]
fn commands_are_logged_as_before() {
    for (command, json) in samples() {
        let written = serde_json::to_value(&command).unwrap();
        let logged: Value = serde_json::from_str(json).unwrap();
        assert_eq!(written, logged, "{} is written differently", kind(&command));
    }
}

/// An edge heartbeat logged before edges reported requests still decodes, with none.
#[test]
fn a_heartbeat_without_requests_decodes() {
    let json = r#"{"EdgeHeartbeat":{"id":"e1","applied_index":3,"cached_bytes":0,"ready":[],"served":[]}}"#;
    let read: Command = serde_json::from_str(json).unwrap();
    let Command::EdgeHeartbeat(EdgeHeartbeat { requests, .. }) = read else {
        panic!("{read:?} is not a heartbeat");
    };
    assert!(requests.is_empty());
}

/// A reservation logged before upload URLs were signed still decodes, without a key (its file
/// takes no parts).
#[test]
fn a_reservation_without_a_key_decodes() {
    let json = r#"{"ReserveUploadFile":{"id":"f1","version":"v1","file_name":"pack.aar","file_size":100,"asset_type":"ASSET"}}"#;
    let read: Command = serde_json::from_str(json).unwrap();
    let Command::ReserveUploadFile(ReserveUploadFile { key, .. }) = read else {
        panic!("{read:?} is not a reservation");
    };
    assert_eq!(key, None);
}
