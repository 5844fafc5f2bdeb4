//! Rule R14 across every admin API request that manages users, keys and roles, generated from
//! the API's [`EndpointKind`]s as `api_roles` is: each such request is sent about a target
//! user holding each role on an app, by each relation an actor can have to that target (the
//! target themselves, a member of the same app in each role, an Admin of another app, an
//! operator), each against a fresh catalog, and each answer is compared with what R14 says,
//! written out below independently of the code under test. A new endpoint kind does not
//! compile here until it is sorted into "manages users, keys or roles" or not.

#![allow(clippy::unwrap_used)]

mod api_support;

use api_support::{Server, id};
use packyard_control_plane::api::EndpointKind;
use reqwest::Method;
use serde_json::{Value, json};
use strum::IntoEnumIterator;

/// The roles of SPEC §2, as the API spells them.
const ROLES: [&str; 5] = [
    "ACCOUNT_HOLDER",
    "ADMIN",
    "APP_MANAGER",
    "DEVELOPER",
    "REVIEWER",
];

/// Who sends a request, relative to the target user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    /// The target user themselves.
    Myself,
    /// Another user holding this role on the target's app.
    SameApp(&'static str),
    /// An Admin of another app only.
    OtherAppAdmin,
    /// An operator.
    Operator,
}

fn actors() -> Vec<Actor> {
    let mut all = vec![Actor::Myself, Actor::OtherAppAdmin, Actor::Operator];
    all.extend(ROLES.iter().map(|r| Actor::SameApp(r)));
    all
}

/// What R14 says about each request, about a target holding `target` on the app.
mod r14 {
    use super::Actor;

    /// Whether `role` on the app may grant (and so remove) `granted` there.
    pub(super) fn grants(role: &str, granted: &str) -> bool {
        match granted {
            "REVIEWER" => false,
            "ACCOUNT_HOLDER" | "ADMIN" => role == "ACCOUNT_HOLDER",
            _ => matches!(role, "ACCOUNT_HOLDER" | "ADMIN"),
        }
    }

    /// Creating or revoking the target's keys: the user or an operator, nobody else.
    pub(super) fn holds_keys(actor: Actor) -> bool {
        matches!(actor, Actor::Myself | Actor::Operator)
    }

    /// Seeing the target's keys: also whoever may grant the target's role.
    pub(super) fn sees_keys(actor: Actor, target: &str) -> bool {
        match actor {
            Actor::Myself | Actor::Operator => true,
            Actor::SameApp(role) => grants(role, target),
            Actor::OtherAppAdmin => false,
        }
    }

    /// Granting `role` on the app (to a new user or an existing one), when the target, who
    /// may be the actor, holds `role` too.
    pub(super) fn grant(actor: Actor, role: &str) -> bool {
        match actor {
            Actor::Operator => true,
            Actor::SameApp(mine) => grants(mine, role),
            Actor::Myself => grants(role, role),
            Actor::OtherAppAdmin => false,
        }
    }

    /// Removing the target's `role` on the app: whoever may grant it, and the target.
    pub(super) fn remove(actor: Actor, role: &str) -> bool {
        actor == Actor::Myself || grant(actor, role)
    }
}

/// A request that manages users, keys or roles, and what decides its answer.
enum Request {
    /// Answered 2xx when allowed, 403 naming R14 (or the roles) when not.
    Change {
        method: Method,
        path: String,
        body: Value,
        allowed: bool,
    },
    /// `GET /v1/apiKeys`: lists the target's key exactly when it may be seen.
    ListKeys { shows_target: bool },
}

/// One app with a user in each role (the actors), a target user in the role under test, an
/// Admin of another app, and a user of that other app to add.
struct Fixture {
    s: Server,
    app: String,
    actor_keys: Vec<(&'static str, String)>,
    other_admin: String,
    target: String,
    target_key: String,
    target_key_id: String,
    outsider: String,
}

impl Fixture {
    async fn new(target_role: &str) -> Self {
        let s = Server::start().await;
        let app = s.app("com.example.managed").await;
        let other = s.app("com.example.other").await;
        let mut actor_keys = Vec::new();
        for (i, role) in ROLES.into_iter().enumerate() {
            let key = s.member(&app, role, &format!("actor{i}@example.com")).await;
            actor_keys.push((role, key));
        }
        let other_admin = s.member(&other, "ADMIN", "other-admin@example.com").await;
        let (target, target_key, target_key_id) =
            user_with_key(&s, &app, target_role, "target@example.com").await;
        let (outsider, ..) = user_with_key(&s, &other, "DEVELOPER", "outsider@example.com").await;
        Fixture {
            s,
            app,
            actor_keys,
            other_admin,
            target,
            target_key,
            target_key_id,
            outsider,
        }
    }

    fn key(&self, actor: Actor) -> String {
        match actor {
            Actor::Myself => self.target_key.clone(),
            Actor::SameApp(role) => {
                let found = self.actor_keys.iter().find(|(r, _)| *r == role).unwrap();
                found.1.clone()
            }
            Actor::OtherAppAdmin => self.other_admin.clone(),
            Actor::Operator => self.s.admin.clone(),
        }
    }
}

async fn user_with_key(s: &Server, app: &str, role: &str, email: &str) -> (String, String, String) {
    let (status, doc) = s
        .post(
            "/v1/users",
            &s.admin,
            json!({"data": {"type": "users", "attributes": {"name": role, "email": email,
                "roles": [{"app": app, "role": role}]}}}),
        )
        .await;
    assert_eq!(status, 201, "{doc}");
    let user = id(&doc);
    let (status, doc) = s
        .post(
            "/v1/apiKeys",
            &s.admin,
            json!({"data": {"type": "apiKeys",
                "relationships": {"user": {"data": {"type": "users", "id": user}}}}}),
        )
        .await;
    assert_eq!(status, 201, "{doc}");
    let key = doc["data"]["attributes"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    (user, key, id(&doc))
}

/// The requests of `kind` that manage users, keys or roles, about `f`'s target holding
/// `role`; `None` for a kind that manages none of them. Exhaustive: a new kind must be sorted.
fn requests(kind: EndpointKind, f: &Fixture, role: &str, actor: Actor) -> Option<Request> {
    use EndpointKind as K;
    let change = |method, path: String, body, allowed| Request::Change {
        method,
        path,
        body,
        allowed,
    };
    let members = format!("/v1/apps/{}/members", f.app);
    Some(match kind {
        K::CreateUser => change(
            Method::POST,
            "/v1/users".into(),
            json!({"data": {"type": "users", "attributes": {"name": "New",
                "email": "new@example.com", "roles": [{"app": f.app, "role": role}]}}}),
            r14::grant(actor, role),
        ),
        K::CreateApiKey => change(
            Method::POST,
            "/v1/apiKeys".into(),
            json!({"data": {"type": "apiKeys",
                "relationships": {"user": {"data": {"type": "users", "id": f.target}}}}}),
            r14::holds_keys(actor),
        ),
        K::DeleteApiKey => change(
            Method::DELETE,
            format!("/v1/apiKeys/{}", f.target_key_id),
            Value::Null,
            r14::holds_keys(actor),
        ),
        K::ListApiKeys => Request::ListKeys {
            shows_target: r14::sees_keys(actor, role),
        },
        K::AddAppMember => change(
            Method::POST,
            members,
            json!({"data": {"type": "appMembers", "attributes": {"role": role},
                "relationships": {"user": {"data": {"type": "users", "id": f.outsider}}}}}),
            r14::grant(actor, role),
        ),
        K::RemoveAppMember => change(
            Method::DELETE,
            format!("{members}/{}", f.target),
            Value::Null,
            r14::remove(actor, role),
        ),
        K::RemoveAppMemberRole => change(
            Method::DELETE,
            format!("{members}/{}/roles/{role}", f.target),
            Value::Null,
            r14::remove(actor, role),
        ),
        K::Health
        | K::Ready
        | K::Metrics
        | K::ListApps
        | K::CreateApp
        | K::GetApp
        | K::ListAppMembers
        | K::CreateBuild
        | K::CreateBackgroundAsset
        | K::GetBackgroundAsset
        | K::PatchBackgroundAsset
        | K::ListBackgroundAssets
        | K::CreateBackgroundAssetVersion
        | K::GetBackgroundAssetVersion
        | K::ListBackgroundAssetVersions
        | K::CreateBackgroundAssetUploadFile
        | K::GetBackgroundAssetUploadFile
        | K::PatchBackgroundAssetUploadFile
        | K::GetInternalBetaRelease
        | K::GetExternalBetaRelease
        | K::GetAppStoreRelease
        | K::CreateReviewSubmission
        | K::GetReviewSubmission
        | K::PatchReviewSubmission
        | K::CreateRollout
        | K::GetRollout
        | K::PatchRollout
        | K::CreateWebhook
        | K::CreateWebhookPing
        | K::CreateTesterToken
        | K::RotateTesterTokenSecret
        | K::GetTesterToken
        | K::RevokeTesterToken
        | K::ListTesterTokens
        | K::ListTesterTokenKeys
        | K::GetMe
        | K::ListBuilds
        | K::ListReviewSubmissions
        | K::ListRollouts
        | K::GetWebhook
        | K::DeleteWebhook
        | K::ListWebhookDeliveries
        | K::ListWebhooks
        | K::ListEdges
        | K::GetEdge
        | K::ListRegions => return None,
    })
}

/// Sends one request and says what was wrong with the answer, if anything.
async fn check(f: &Fixture, actor: Actor, request: Request) -> Option<String> {
    let key = f.key(actor);
    match request {
        Request::Change {
            method,
            path,
            body,
            allowed,
        } => {
            let body = if body.is_null() {
                Vec::new()
            } else {
                serde_json::to_vec(&body).unwrap()
            };
            let (status, doc) = f.s.raw(method.clone(), &path, Some(&key), body).await;
            let code = doc["errors"][0]["code"].as_str().unwrap_or("");
            let fits = if allowed {
                (200..300).contains(&status)
            } else {
                status == 403 && code.starts_with("FORBIDDEN_ERROR")
            };
            (!fits).then(|| format!("{method} {path}: {status} {doc}"))
        }
        Request::ListKeys { shows_target } => {
            let (status, doc) = f.s.get("/v1/apiKeys", &key).await;
            let shown = doc["data"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["id"] == f.target_key_id.as_str());
            (status != 200 || shown != shows_target)
                .then(|| format!("GET /v1/apiKeys shows the target's key: {shown} ({status})"))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r14_every_user_key_and_role_request_answers_every_actor_as_the_rule_says() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    let mut kinds = std::collections::BTreeSet::new();
    let probe = Fixture::new("DEVELOPER").await;
    for kind in EndpointKind::iter() {
        if requests(kind, &probe, "DEVELOPER", Actor::Operator).is_none() {
            continue;
        }
        kinds.insert(format!("{kind:?}"));
        for role in ROLES {
            for actor in actors() {
                // A fresh catalog each time: a request that changes something must not see
                // another's change.
                let f = Fixture::new(role).await;
                let Some(request) = requests(kind, &f, role, actor) else {
                    unreachable!("{kind:?} manages users for one target and not another");
                };
                if let Some(problem) = check(&f, actor, request).await {
                    wrong.push(format!("{kind:?}, target {role}, by {actor:?}: {problem}"));
                }
                checked += 1;
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} answers break R14:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(kinds.len(), 7, "{kinds:?}");
    assert_eq!(checked, 7 * ROLES.len() * actors().len());
}
