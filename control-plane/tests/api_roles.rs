//! Rule R8 across the whole admin API, generated from its [`EndpointKind`]s: every kind of
//! request is sent, against a fresh catalog in which it would succeed, by a user of each
//! role, by an operator, with no key and with a revoked key; each answer is compared with
//! what `packyard_core::role` says that role may do. A new endpoint does not compile here
//! until its request and the action it needs are written down below.

#![allow(clippy::unwrap_used)]

mod api_support;

use api_support::{Server, id};
use packyard_control_plane::api::EndpointKind;
use packyard_core::catalog::{Actor, Command, EdgeId, Envelope, RegisterEdge, Timestamp};
use packyard_core::role::{Action, Role, required_roles};
use reqwest::Method;
use serde_json::{Value, json};
use strum::IntoEnumIterator;

/// What a request needs, as far as R8 is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    /// Nothing: probes answer without a key.
    Nothing,
    /// Any valid key: the answer is scoped to what the caller may see.
    AnyKey,
    /// A role on the app that allows this action (operators: everything but review).
    Action(Action),
}

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Role(Role),
    Operator,
    NoKey,
    RevokedKey,
}

const CALLERS: [Caller; 8] = [
    Caller::Role(Role::AccountHolder),
    Caller::Role(Role::Admin),
    Caller::Role(Role::AppManager),
    Caller::Role(Role::Developer),
    Caller::Role(Role::Reviewer),
    Caller::Operator,
    Caller::NoKey,
    Caller::RevokedKey,
];

/// A catalog with one app, a user of each role on it, and something of every resource the
/// endpoints act on, each in a state where the request would succeed.
struct Fixture {
    s: Server,
    keys: Vec<(Role, String)>,
    revoked: String,
    app: String,
    pack: String,
    archivable: String,
    /// COMPLETE, in no review.
    complete: String,
    /// COMPLETE, waiting for external review.
    in_review: String,
    submission: String,
    /// COMPLETE and accepted for the store: ready to roll out.
    accepted: String,
    rollout: String,
    /// AWAITING_UPLOAD, with no upload file yet.
    awaiting: String,
    /// An upload file awaiting its upload (of another version).
    upload_file: String,
    /// A Developer who is none of the callers; only operators (and the member) manage their
    /// keys (rule R14).
    member: String,
    member_key_id: String,
    /// A user of another app, whom the callers may add to this one.
    outsider: String,
    webhook: String,
    /// Tester tokens issued by the operator, of each beta channel.
    internal_token: String,
    external_token: String,
}

impl Fixture {
    async fn new() -> Self {
        let s = Server::start().await;
        let op = s.admin.clone();
        let app = s.app("com.example.roles").await;
        let mut keys = Vec::new();
        for (i, role) in Role::ALL.into_iter().enumerate() {
            let name = serde_json::to_value(role).unwrap();
            let key = s
                .member(&app, name.as_str().unwrap(), &format!("u{i}@example.com"))
                .await;
            keys.push((role, key));
        }

        let (_, v) = s
            .post(
                "/v1/builds",
                &op,
                json!({"data": {"type": "builds",
                "attributes": {"buildNumber": "1", "channels": ["EXTERNAL", "APP_STORE"]},
                "relationships": {"app": {"data": {"type": "apps", "id": app}}}}}),
            )
            .await;
        assert!(v["data"]["id"].is_string(), "{v}");
        let pack = id(&s.pack(&app, &op, "level-1").await.1);
        let archivable = id(&s.pack(&app, &op, "archive-me").await.1);
        let complete = s.complete_version(&pack, &op, 100).await;
        let review_pack = id(&s.pack(&app, &op, "in-review").await.1);
        let in_review = s.complete_version(&review_pack, &op, 100).await;
        let submission = id(&s.submit(&in_review, &op, "EXTERNAL_BETA").await.1);
        let (reviewer, store_pack) = (
            keys.iter()
                .find(|(r, _)| *r == Role::Reviewer)
                .unwrap()
                .1
                .clone(),
            id(&s.pack(&app, &op, "store").await.1),
        );
        let accepted = s.complete_version(&store_pack, &op, 100).await;
        let store_submission = id(&s.submit(&accepted, &op, "APP_STORE").await.1);
        for state in ["IN_REVIEW", "ACCEPTED"] {
            assert_eq!(
                s.review(&store_submission, &reviewer, json!({"state": state}))
                    .await
                    .0,
                200
            );
        }
        // A running rollout of another accepted version, to pause.
        let rollout_pack = id(&s.pack(&app, &op, "rolling").await.1);
        let rolling = s.complete_version(&rollout_pack, &op, 100).await;
        let sub = id(&s.submit(&rolling, &op, "APP_STORE").await.1);
        for state in ["IN_REVIEW", "ACCEPTED"] {
            assert_eq!(
                s.review(&sub, &reviewer, json!({"state": state})).await.0,
                200
            );
        }
        let (st, v) = s
            .post("/v1/rollouts", &op, json!({"data": {"type": "rollouts",
                "attributes": {"stages": [{"regions": ["*"], "percentage": 10}, {"regions": ["*"], "percentage": 100}]},
                "relationships": {"backgroundAssetVersion": {"data": {
                    "type": "backgroundAssetVersions", "id": rolling}}}}}))
            .await;
        assert_eq!(st, 201, "{v}");
        let rollout = id(&v);
        let (_, v) = s
            .post("/v1/backgroundAssetVersions", &op, json!({"data": {"type": "backgroundAssetVersions",
                "relationships": {"backgroundAsset": {"data": {"type": "backgroundAssets", "id": pack}}}}}))
            .await;
        let awaiting = id(&v);
        let (_, v) = s
            .post("/v1/backgroundAssetVersions", &op, json!({"data": {"type": "backgroundAssetVersions",
                "relationships": {"backgroundAsset": {"data": {"type": "backgroundAssets", "id": archivable}}}}}))
            .await;
        let other = id(&v);
        let (st, v) = s
            .post(
                "/v1/backgroundAssetUploadFiles",
                &op,
                json!({"data": {"type": "backgroundAssetUploadFiles",
                "attributes": {"fileName": "pack.aar", "fileSize": 10, "assetType": "ASSET"},
                "relationships": {"backgroundAssetVersion": {"data": {
                    "type": "backgroundAssetVersions", "id": other}}}}}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        let upload_file = id(&v);
        let (_, v) = s
            .post(
                "/v1/users",
                &op,
                json!({"data": {"type": "users", "attributes": {
                "name": "Member", "email": "member@example.com",
                "roles": [{"app": app, "role": "DEVELOPER"}]}}}),
            )
            .await;
        let member = id(&v);
        let (_, v) = s
            .post(
                "/v1/apiKeys",
                &op,
                json!({"data": {"type": "apiKeys",
            "relationships": {"user": {"data": {"type": "users", "id": member}}}}}),
            )
            .await;
        let member_key_id = id(&v);
        let other_app = s.app("com.example.roles-other").await;
        let (_, v) = s
            .post(
                "/v1/users",
                &op,
                json!({"data": {"type": "users", "attributes": {
                "name": "Outsider", "email": "outsider@example.com",
                "roles": [{"app": other_app, "role": "DEVELOPER"}]}}}),
            )
            .await;
        let outsider = id(&v);
        // A revoked key, which opens nothing.
        let (_, made) = s
            .post(
                "/v1/apiKeys",
                &op,
                json!({"data": {"type": "apiKeys",
            "relationships": {"user": {"data": {"type": "users", "id": member}}}}}),
            )
            .await;
        let revoked = made["data"]["attributes"]["key"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            s.delete(&format!("/v1/apiKeys/{}", id(&made)), &op).await.0,
            204
        );
        let (st, v) = s
            .post(
                "/v1/webhooks",
                &op,
                json!({"data": {"type": "webhooks",
                "attributes": {"url": "https://hooks.example.com/x"},
                "relationships": {"app": {"data": {"type": "apps", "id": app}}}}}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        let webhook = id(&v);
        let mut tokens = Vec::new();
        for channel in ["INTERNAL", "EXTERNAL"] {
            let (st, v) = s
                .post(
                    "/v1/testerTokens",
                    &op,
                    json!({"data": {"type": "testerTokens", "attributes": {"channel": channel},
                    "relationships": {"app": {"data": {"type": "apps", "id": app}}}}}),
                )
                .await;
            assert_eq!(st, 201, "{v}");
            tokens.push(id(&v));
        }
        let (internal_token, external_token) = (tokens[0].clone(), tokens[1].clone());
        // An edge, as the edge registry records one.
        let register = Command::RegisterEdge(RegisterEdge {
            id: EdgeId::from("eu-1"),
            region: "eu".into(),
            public_urls: vec!["https://eu-1.example.com".into()],
            capacity_bytes: 1,
        });
        packyard_control_plane::CatalogStore::write(
            &s.store,
            Envelope {
                actor: Actor::System,
                at: Timestamp(5),
                command: register,
                key: None,
            },
        )
        .await
        .unwrap()
        .unwrap();
        Fixture {
            s,
            keys,
            revoked,
            app,
            pack,
            archivable,
            complete,
            in_review,
            submission,
            accepted,
            rollout,
            awaiting,
            upload_file,
            member,
            member_key_id,
            outsider,
            webhook,
            internal_token,
            external_token,
        }
    }

    fn key(&self, caller: Caller) -> Option<String> {
        match caller {
            Caller::Role(role) => self
                .keys
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, k)| k.clone()),
            Caller::Operator => Some(self.s.admin.clone()),
            Caller::NoKey => None,
            Caller::RevokedKey => Some(self.revoked.clone()),
        }
    }
}

/// One request of a kind: method, path, body, and what it needs.
struct Case {
    method: Method,
    path: String,
    body: Value,
    needs: Needs,
}

fn case(method: Method, path: String, body: Value, needs: Needs) -> Case {
    Case {
        method,
        path,
        body,
        needs,
    }
}

fn rel(kind: &str, id: &str) -> Value {
    json!({"data": {"type": kind, "id": id}})
}

/// The requests of `kind`, in `f`. Exhaustive: a new endpoint kind must be added here.
fn cases(kind: EndpointKind, f: &Fixture) -> Vec<Case> {
    use EndpointKind as K;
    use Needs::{Action as A, AnyKey, Nothing};
    let get = |path: String, needs| case(Method::GET, path, Value::Null, needs);
    let post = |path: &str, body, needs| case(Method::POST, path.to_owned(), body, needs);
    match kind {
        K::Health => vec![get("/healthz".into(), Nothing)],
        K::Ready => vec![get("/readyz".into(), Nothing)],
        K::Metrics => vec![get("/metrics".into(), Nothing)],
        K::ListApps => vec![get("/v1/apps".into(), AnyKey)],
        K::CreateApp => vec![post(
            "/v1/apps",
            json!({"data": {"type": "apps", "attributes": {
            "name": "New", "bundleId": "com.example.new", "primaryLanguage": "en"}}}),
            AnyKey,
        )],
        K::GetApp => vec![get(format!("/v1/apps/{}", f.app), A(Action::View))],
        K::CreateBuild => vec![post(
            "/v1/builds",
            json!({"data": {"type": "builds",
            "attributes": {"buildNumber": "2", "channels": ["INTERNAL"]},
            "relationships": {"app": rel("apps", &f.app)}}}),
            A(Action::RegisterBuild),
        )],
        K::CreateUser => vec![post(
            "/v1/users",
            json!({"data": {"type": "users", "attributes": {
            "name": "Newcomer", "email": "new@example.com",
            "roles": [{"app": f.app, "role": "DEVELOPER"}]}}}),
            A(Action::ManageMembers),
        )],
        K::ListApiKeys => vec![get("/v1/apiKeys".into(), AnyKey)],
        // Another user's keys: theirs and operators' only (rule R14).
        K::CreateApiKey => vec![post(
            "/v1/apiKeys",
            json!({"data": {"type": "apiKeys",
            "relationships": {"user": rel("users", &f.member)}}}),
            A(Action::Operate),
        )],
        K::DeleteApiKey => vec![case(
            Method::DELETE,
            format!("/v1/apiKeys/{}", f.member_key_id),
            Value::Null,
            A(Action::Operate),
        )],
        K::ListAppMembers => vec![get(format!("/v1/apps/{}/members", f.app), A(Action::View))],
        K::AddAppMember => vec![post(
            &format!("/v1/apps/{}/members", f.app),
            json!({"data": {"type": "appMembers", "attributes": {"role": "DEVELOPER"},
                "relationships": {"user": rel("users", &f.outsider)}}}),
            A(Action::ManageMembers),
        )],
        K::RemoveAppMember => vec![case(
            Method::DELETE,
            format!("/v1/apps/{}/members/{}", f.app, f.member),
            Value::Null,
            A(Action::ManageMembers),
        )],
        K::RemoveAppMemberRole => vec![case(
            Method::DELETE,
            format!("/v1/apps/{}/members/{}/roles/DEVELOPER", f.app, f.member),
            Value::Null,
            A(Action::ManageMembers),
        )],
        K::CreateBackgroundAsset => vec![post(
            "/v1/backgroundAssets",
            json!({"data": {
            "type": "backgroundAssets", "attributes": {"assetPackIdentifier": "fresh"},
            "relationships": {"app": rel("apps", &f.app)}}}),
            A(Action::CreatePack),
        )],
        K::GetBackgroundAsset => vec![get(
            format!("/v1/backgroundAssets/{}", f.pack),
            A(Action::View),
        )],
        K::PatchBackgroundAsset => vec![case(
            Method::PATCH,
            format!("/v1/backgroundAssets/{}", f.archivable),
            json!({"data": {"type": "backgroundAssets", "id": f.archivable,
                "attributes": {"archived": true}}}),
            A(Action::Archive),
        )],
        K::ListBackgroundAssets => vec![get(
            format!("/v1/apps/{}/backgroundAssets", f.app),
            A(Action::View),
        )],
        K::CreateBackgroundAssetVersion => vec![post(
            "/v1/backgroundAssetVersions",
            json!({"data": {
            "type": "backgroundAssetVersions",
            "relationships": {"backgroundAsset": rel("backgroundAssets", &f.pack)}}}),
            A(Action::CreateVersion),
        )],
        K::GetBackgroundAssetVersion => vec![
            get(
                format!("/v1/backgroundAssetVersions/{}", f.complete),
                A(Action::View),
            ),
            get(
                format!("/v1/backgroundAssetVersions/{}", f.in_review),
                A(Action::ViewUnderReview),
            ),
        ],
        K::ListBackgroundAssetVersions => vec![get(
            format!("/v1/backgroundAssets/{}/versions", f.pack),
            A(Action::View),
        )],
        K::CreateBackgroundAssetUploadFile => vec![post(
            "/v1/backgroundAssetUploadFiles",
            json!({"data": {
            "type": "backgroundAssetUploadFiles",
            "attributes": {"fileName": "pack.aar", "fileSize": 10, "assetType": "ASSET"},
            "relationships": {"backgroundAssetVersion": rel("backgroundAssetVersions", &f.awaiting)}}}),
            A(Action::Upload),
        )],
        K::GetBackgroundAssetUploadFile => vec![get(
            format!("/v1/backgroundAssetUploadFiles/{}", f.upload_file),
            A(Action::View),
        )],
        K::PatchBackgroundAssetUploadFile => vec![case(
            Method::PATCH,
            format!("/v1/backgroundAssetUploadFiles/{}", f.upload_file),
            json!({"data": {"type": "backgroundAssetUploadFiles", "id": f.upload_file, "attributes": {
                "uploaded": true,
                "sourceFileChecksums": {"file": {"hash": "ab".repeat(32), "algorithm": "SHA_256"}}}}}),
            A(Action::Upload),
        )],
        K::GetInternalBetaRelease => vec![get(
            format!(
                "/v1/backgroundAssetVersionInternalBetaReleases/{}",
                f.complete
            ),
            A(Action::View),
        )],
        K::GetExternalBetaRelease => vec![get(
            format!(
                "/v1/backgroundAssetVersionExternalBetaReleases/{}",
                f.complete
            ),
            A(Action::View),
        )],
        K::GetAppStoreRelease => vec![get(
            format!("/v1/backgroundAssetVersionAppStoreReleases/{}", f.complete),
            A(Action::View),
        )],
        K::CreateReviewSubmission => vec![post(
            "/v1/reviewSubmissions",
            json!({"data": {
            "type": "reviewSubmissions", "attributes": {"track": "EXTERNAL_BETA"},
            "relationships": {"backgroundAssetVersion": rel("backgroundAssetVersions", &f.complete)}}}),
            A(Action::SubmitForReview),
        )],
        K::GetReviewSubmission => vec![get(
            format!("/v1/reviewSubmissions/{}", f.submission),
            A(Action::ViewUnderReview),
        )],
        K::PatchReviewSubmission => vec![case(
            Method::PATCH,
            format!("/v1/reviewSubmissions/{}", f.submission),
            json!({"data": {"type": "reviewSubmissions", "id": f.submission, "attributes": {"state": "IN_REVIEW"}}}),
            A(Action::Review),
        )],
        K::CreateRollout => vec![post(
            "/v1/rollouts",
            json!({"data": {"type": "rollouts",
            "relationships": {"backgroundAssetVersion": rel("backgroundAssetVersions", &f.accepted)}}}),
            A(Action::RollOut),
        )],
        K::GetRollout => vec![get(format!("/v1/rollouts/{}", f.rollout), A(Action::View))],
        K::PatchRollout => vec![case(
            Method::PATCH,
            format!("/v1/rollouts/{}", f.rollout),
            json!({"data": {"type": "rollouts", "id": f.rollout, "attributes": {"action": "PAUSE"}}}),
            A(Action::RollOut),
        )],
        K::CreateWebhook => vec![post(
            "/v1/webhooks",
            json!({"data": {"type": "webhooks",
            "attributes": {"url": "https://hooks.example.com/new"},
            "relationships": {"app": rel("apps", &f.app)}}}),
            A(Action::ManageWebhooks),
        )],
        K::CreateTesterToken => vec![
            post(
                "/v1/testerTokens",
                json!({"data": {"type": "testerTokens", "attributes": {"channel": "INTERNAL"},
                "relationships": {"app": rel("apps", &f.app)}}}),
                A(Action::IssueInternalTesterTokens),
            ),
            post(
                "/v1/testerTokens",
                json!({"data": {"type": "testerTokens", "attributes": {"channel": "EXTERNAL"},
                "relationships": {"app": rel("apps", &f.app)}}}),
                A(Action::IssueExternalTesterTokens),
            ),
        ],
        K::RotateTesterTokenSecret => vec![post(
            "/v1/testerTokenSecrets",
            json!({"data": {"type": "testerTokenSecrets"}}),
            A(Action::Operate),
        )],
        K::GetTesterToken => vec![
            get(
                format!("/v1/testerTokens/{}", f.internal_token),
                A(Action::IssueInternalTesterTokens),
            ),
            get(
                format!("/v1/testerTokens/{}", f.external_token),
                A(Action::IssueExternalTesterTokens),
            ),
        ],
        K::RevokeTesterToken => vec![
            case(
                Method::DELETE,
                format!("/v1/testerTokens/{}", f.internal_token),
                Value::Null,
                A(Action::IssueInternalTesterTokens),
            ),
            case(
                Method::DELETE,
                format!("/v1/testerTokens/{}", f.external_token),
                Value::Null,
                A(Action::IssueExternalTesterTokens),
            ),
        ],
        K::ListTesterTokens => vec![get(
            format!("/v1/apps/{}/testerTokens", f.app),
            A(Action::IssueInternalTesterTokens),
        )],
        K::ListTesterTokenKeys => vec![get("/v1/testerTokenKeys".into(), AnyKey)],
        K::GetMe => vec![get("/v1/me".into(), AnyKey)],
        K::ListBuilds => vec![get(format!("/v1/apps/{}/builds", f.app), A(Action::View))],
        K::ListReviewSubmissions => vec![get(
            format!("/v1/apps/{}/reviewSubmissions", f.app),
            A(Action::View),
        )],
        K::ListRollouts => vec![get(format!("/v1/apps/{}/rollouts", f.app), A(Action::View))],
        K::CreateWebhookPing => vec![post(
            "/v1/webhookPings",
            json!({"data": {"type": "webhookPings",
            "relationships": {"webhook": rel("webhooks", &f.webhook)}}}),
            A(Action::ManageWebhooks),
        )],
        K::GetWebhook => vec![get(
            format!("/v1/webhooks/{}", f.webhook),
            A(Action::ManageWebhooks),
        )],
        K::DeleteWebhook => vec![case(
            Method::DELETE,
            format!("/v1/webhooks/{}", f.webhook),
            Value::Null,
            A(Action::ManageWebhooks),
        )],
        K::ListWebhookDeliveries => vec![get(
            format!("/v1/webhooks/{}/deliveries", f.webhook),
            A(Action::ManageWebhooks),
        )],
        K::ListWebhooks => vec![get(
            format!("/v1/apps/{}/webhooks", f.app),
            A(Action::ManageWebhooks),
        )],
        K::ListEdges => vec![get("/v1/edges".into(), A(Action::ViewFleet))],
        K::GetEdge => vec![get("/v1/edges/eu-1".into(), A(Action::ViewFleet))],
        K::ListRegions => vec![get("/v1/regions".into(), A(Action::ViewFleet))],
    }
}

/// Whether `caller` may do what `needs` asks, by R8 (and, for operators, everything but
/// review).
fn allowed(caller: Caller, needs: Needs) -> Option<bool> {
    match (caller, needs) {
        (_, Needs::Nothing) => Some(true),
        (Caller::NoKey | Caller::RevokedKey, _) => None,
        (_, Needs::AnyKey) => Some(true),
        (Caller::Operator, Needs::Action(action)) => Some(action != Action::Review),
        (Caller::Role(role), Needs::Action(action)) => Some(required_roles(action).contains(&role)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_every_role_as_rule_r8_says() {
    let mut checked = 0;
    let mut kinds = 0;
    let mut wrong = Vec::new();
    let probe = Fixture::new().await;
    for kind in EndpointKind::iter() {
        kinds += 1;
        let count = cases(kind, &probe).len();
        assert!(count > 0, "{kind:?} has no case");
        for n in 0..count {
            for caller in CALLERS {
                // A fresh catalog each time: requests that change state must not see another's.
                let f = Fixture::new().await;
                let c = cases(kind, &f).swap_remove(n);
                let key = f.key(caller);
                let body = if c.body.is_null() {
                    Vec::new()
                } else {
                    serde_json::to_vec(&c.body).unwrap()
                };
                let (status, doc) =
                    f.s.raw(c.method.clone(), &c.path, key.as_deref(), body)
                        .await;
                let fits = match allowed(caller, c.needs) {
                    None => status == 401,
                    Some(true) => (200..300).contains(&status),
                    Some(false) => {
                        let detail = doc["errors"][0]["detail"].as_str().unwrap_or("");
                        let Needs::Action(action) = c.needs else {
                            unreachable!()
                        };
                        let named = match required_roles(action) {
                            [] => detail.contains("operator"),
                            roles => roles.iter().any(|r| detail.contains(&r.to_string())),
                        };
                        status == 403 && named
                    }
                };
                if !fits {
                    wrong.push(format!(
                        "{kind:?} {} {} as {caller:?} (needs {:?}): {status} {doc}",
                        c.method, c.path, c.needs
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} answers break R8:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        kinds >= 40 && checked >= kinds * CALLERS.len(),
        "{kinds} kinds, {checked} answers"
    );
}
