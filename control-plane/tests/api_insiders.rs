//! What a user already inside an app can do to others through the admin API, case by case
//! as they were found: an Admin taking over the Account Holder, a version approved by the
//! app's own people, a member who cannot be taken off the app, answers that name another
//! tenant's records, unbounded strings. Each test does what the attacker did and asserts the
//! answer is nothing (rules R13, R14).

#![allow(clippy::unwrap_used)]

mod api_support;

use api_support::{Server, error, id};
use serde_json::{Value, json};

/// An app with its Account Holder (`owner`), an Admin, an App Manager and a Reviewer the
/// operator made, each with a key of their own.
struct Team {
    s: Server,
    app: String,
    owner: Member,
    admin: Member,
    manager: Member,
    reviewer: Member,
}

struct Member {
    id: String,
    key: String,
}

impl Team {
    async fn new() -> Self {
        let s = Server::start().await;
        let app = s.app("com.example.team").await;
        let mut members = Vec::new();
        for (role, email) in [
            ("ACCOUNT_HOLDER", "owner@example.com"),
            ("ADMIN", "admin@example.com"),
            ("APP_MANAGER", "manager@example.com"),
            ("REVIEWER", "reviewer@example.com"),
        ] {
            let (status, doc) = s
                .post(
                    "/v1/users",
                    &s.admin,
                    json!({"data": {"type": "users", "attributes": {
                        "name": role, "email": email, "roles": [{"app": app, "role": role}]}}}),
                )
                .await;
            assert_eq!(status, 201, "{doc}");
            let user = id(&doc);
            let (status, doc) = s.post("/v1/apiKeys", &s.admin, key_for(&user)).await;
            assert_eq!(status, 201, "{doc}");
            let key = doc["data"]["attributes"]["key"]
                .as_str()
                .unwrap()
                .to_owned();
            members.push(Member { id: user, key });
        }
        let mut members = members.into_iter();
        let mut next = || members.next().unwrap();
        Team {
            owner: next(),
            admin: next(),
            manager: next(),
            reviewer: next(),
            s,
            app,
        }
    }

    /// The ids of the keys `key` lists.
    async fn keys_seen_by(&self, key: &str) -> Vec<String> {
        let (status, doc) = self.s.get("/v1/apiKeys", key).await;
        assert_eq!(status, 200, "{doc}");
        doc["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                k["relationships"]["user"]["data"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    async fn add_member(&self, key: &str, user: &str, role: &str) -> (u16, Value) {
        let body = json!({"data": {"type": "appMembers", "attributes": {"role": role},
            "relationships": {"user": {"data": {"type": "users", "id": user}}}}});
        self.s
            .post(&format!("/v1/apps/{}/members", self.app), key, body)
            .await
    }
}

fn key_for(user: &str) -> Value {
    json!({"data": {"type": "apiKeys",
        "relationships": {"user": {"data": {"type": "users", "id": user}}}}})
}

/// A 403 that names rule `rule`.
fn denied_by(status: u16, doc: &Value, rule: &str) {
    assert_eq!(status, 403, "{doc}");
    assert_eq!(
        error(doc)["code"],
        format!("FORBIDDEN_ERROR.{rule}"),
        "{doc}"
    );
}

#[tokio::test]
async fn case_1_an_admin_cannot_see_mint_or_revoke_the_account_holders_keys() {
    let t = Team::new().await;
    // The owner's keys are not listed to the Admin (nor the operator-made Reviewer's).
    let seen = t.keys_seen_by(&t.admin.key).await;
    assert!(!seen.contains(&t.owner.id), "{seen:?}");
    assert!(!seen.contains(&t.reviewer.id), "{seen:?}");
    assert!(seen.contains(&t.manager.id), "{seen:?}");
    // No key is minted for the owner or the Reviewer by the Admin.
    for victim in [&t.owner, &t.reviewer, &t.manager] {
        let (status, doc) =
            t.s.post("/v1/apiKeys", &t.admin.key, key_for(&victim.id))
                .await;
        denied_by(status, &doc, "R14");
        assert!(doc["data"].is_null(), "no secret comes back: {doc}");
    }
    // The owner's key is not revoked by the Admin, and still opens the app.
    let (_, listed) = t.s.get("/v1/apiKeys", &t.owner.key).await;
    // The owner sees the keys of the members below them too: pick their own.
    let owner_key = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["relationships"]["user"]["data"]["id"] == t.owner.id.as_str())
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .unwrap();
    let (status, doc) =
        t.s.delete(&format!("/v1/apiKeys/{owner_key}"), &t.admin.key)
            .await;
    denied_by(status, &doc, "R14");
    let (status, _) = t.s.get(&format!("/v1/apps/{}", t.app), &t.owner.key).await;
    assert_eq!(status, 200);
    // Nor can the Admin make anyone Account Holder, a new user or an existing one.
    let (status, doc) = t
        .add_member(&t.admin.key, &t.manager.id, "ACCOUNT_HOLDER")
        .await;
    denied_by(status, &doc, "R14");
    let (status, doc) =
        t.s.post(
            "/v1/users",
            &t.admin.key,
            json!({"data": {"type": "users", "attributes": {"name": "Puppet",
                "email": "puppet@example.com",
                "roles": [{"app": t.app, "role": "ACCOUNT_HOLDER"}]}}}),
        )
        .await;
    denied_by(status, &doc, "R14");
    // The owner manages their own keys.
    let (status, _) =
        t.s.post("/v1/apiKeys", &t.owner.key, key_for(&t.owner.id))
            .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn case_2_no_version_is_approved_by_its_submitter_or_a_reviewer_the_app_made() {
    let t = Team::new().await;
    // The Admin cannot make anyone a Reviewer of their own app.
    let (status, doc) = t.add_member(&t.admin.key, &t.manager.id, "REVIEWER").await;
    denied_by(status, &doc, "R14");
    let (status, doc) = t.add_member(&t.owner.key, &t.manager.id, "REVIEWER").await;
    denied_by(status, &doc, "R14");
    // An operator gives the App Manager the Reviewer role too: they still cannot approve
    // what they submitted, on either track.
    let (status, doc) = t.add_member(&t.s.admin, &t.manager.id, "REVIEWER").await;
    assert_eq!(status, 201, "{doc}");
    let (status, _) =
        t.s.post(
            "/v1/builds",
            &t.s.admin,
            json!({"data": {"type": "builds",
                "attributes": {"buildNumber": "1", "channels": ["EXTERNAL"]},
                "relationships": {"app": {"data": {"type": "apps", "id": t.app}}}}}),
        )
        .await;
    assert_eq!(status, 201);
    let pack = id(&t.s.pack(&t.app, &t.manager.key, "level-1").await.1);
    let version = t.s.complete_version(&pack, &t.manager.key, 100).await;
    for track in ["EXTERNAL_BETA", "APP_STORE"] {
        let (status, doc) = t.s.submit(&version, &t.manager.key, track).await;
        assert_eq!(status, 201, "{doc}");
        let submission = id(&doc);
        let (status, doc) =
            t.s.review(&submission, &t.manager.key, json!({"state": "IN_REVIEW"}))
                .await;
        denied_by(status, &doc, "R13");
        for state in ["IN_REVIEW", "ACCEPTED"] {
            let (status, doc) =
                t.s.review(&submission, &t.reviewer.key, json!({"state": state}))
                    .await;
            assert_eq!(status, 200, "{doc}");
        }
        // The app's members read who decided, and when.
        let (status, doc) =
            t.s.get(&format!("/v1/reviewSubmissions/{submission}"), &t.owner.key)
                .await;
        assert_eq!(status, 200, "{doc}");
        let rel = &doc["data"]["relationships"];
        assert_eq!(
            rel["decidedBy"]["data"]["id"],
            t.reviewer.id.as_str(),
            "{doc}"
        );
        assert_eq!(
            rel["submittedBy"]["data"]["id"],
            t.manager.id.as_str(),
            "{doc}"
        );
        assert!(
            doc["data"]["attributes"]["decidedDate"].is_string(),
            "{doc}"
        );
    }
}

#[tokio::test]
async fn case_8_a_member_who_made_an_app_of_their_own_is_still_taken_off_this_one() {
    let t = Team::new().await;
    // The App Manager creates an app of their own: Account Holder there.
    let (status, doc) =
        t.s.post(
            "/v1/apps",
            &t.manager.key,
            json!({"data": {"type": "apps", "attributes": {
                "name": "Side project", "bundleId": "com.manager.side", "primaryLanguage": "en"}}}),
        )
        .await;
    assert_eq!(status, 201, "{doc}");
    let own = id(&doc);
    // The Admin takes them off the team app.
    let path = format!("/v1/apps/{}/members/{}", t.app, t.manager.id);
    let (status, doc) = t.s.delete(&path, &t.admin.key).await;
    assert_eq!(status, 204, "{doc}");
    let (status, _) =
        t.s.get(&format!("/v1/apps/{}", t.app), &t.manager.key)
            .await;
    assert_eq!(status, 403);
    let (_, members) =
        t.s.get(&format!("/v1/apps/{}/members", t.app), &t.owner.key)
            .await;
    let ids: Vec<&str> = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&t.manager.id.as_str()), "{members}");
    // Their own app is still theirs.
    let (status, _) = t.s.get(&format!("/v1/apps/{own}"), &t.manager.key).await;
    assert_eq!(status, 200);
    // The Admin cannot take the owner or the operator's Reviewer off.
    for (victim, rule) in [(&t.owner, "R14"), (&t.reviewer, "R14")] {
        let path = format!("/v1/apps/{}/members/{}", t.app, victim.id);
        let (status, doc) = t.s.delete(&path, &t.admin.key).await;
        denied_by(status, &doc, rule);
    }
}

#[tokio::test]
async fn case_8_the_members_list_shows_only_this_apps_roles() {
    let t = Team::new().await;
    let (status, doc) =
        t.s.post(
            "/v1/apps",
            &t.admin.key,
            json!({"data": {"type": "apps", "attributes": {
                "name": "Elsewhere", "bundleId": "com.admin.elsewhere", "primaryLanguage": "en"}}}),
        )
        .await;
    assert_eq!(status, 201, "{doc}");
    let (status, doc) =
        t.s.get(&format!("/v1/apps/{}/members", t.app), &t.manager.key)
            .await;
    assert_eq!(status, 200, "{doc}");
    for member in doc["data"].as_array().unwrap() {
        for role in member["attributes"]["roles"].as_array().unwrap() {
            assert_eq!(role["app"], t.app.as_str(), "{doc}");
        }
    }
}

#[tokio::test]
async fn case_8_conflicts_never_name_another_tenants_app_or_user() {
    let t = Team::new().await;
    let stranger =
        t.s.member(
            &t.s.app("com.example.stranger").await,
            "ADMIN",
            "s@example.com",
        )
        .await;
    let (status, doc) =
        t.s.post(
            "/v1/apps",
            &stranger,
            json!({"data": {"type": "apps", "attributes": {
                "name": "Copy", "bundleId": "com.example.team", "primaryLanguage": "en"}}}),
        )
        .await;
    assert_eq!(status, 409, "{doc}");
    let detail = error(&doc)["detail"].as_str().unwrap();
    assert!(!detail.contains(&t.app), "names the other app: {detail}");
    let (status, doc) =
        t.s.post(
            "/v1/users",
            &t.admin.key,
            json!({"data": {"type": "users", "attributes": {"name": "Twin",
                "email": "s@example.com", "roles": [{"app": t.app, "role": "DEVELOPER"}]}}}),
        )
        .await;
    assert_eq!(status, 409, "{doc}");
    let detail = error(&doc)["detail"].as_str().unwrap();
    assert!(detail.contains("already belongs to a user"), "{detail}");
    let (_, keys) = t.s.get("/v1/apiKeys", &stranger).await;
    let stranger_id = keys["data"][0]["relationships"]["user"]["data"]["id"]
        .as_str()
        .unwrap();
    assert!(
        !detail.contains(stranger_id),
        "names the other user: {detail}"
    );
}

#[tokio::test]
async fn case_8_a_900_kb_app_name_is_refused_naming_the_limit() {
    let t = Team::new().await;
    let name = "n".repeat(900 * 1024);
    let (status, doc) =
        t.s.post(
            "/v1/apps",
            &t.owner.key,
            json!({"data": {"type": "apps", "attributes": {
                "name": name, "bundleId": "com.example.huge", "primaryLanguage": "en"}}}),
        )
        .await;
    assert_eq!(status, 422, "{}", error(&doc));
    let e = error(&doc);
    assert_eq!(e["source"]["pointer"], "/data/attributes/name");
    assert!(
        e["detail"]
            .as_str()
            .unwrap()
            .contains("quota.max_name_bytes"),
        "{e}"
    );
    let (_, apps) = t.s.get("/v1/apps", &t.owner.key).await;
    assert_eq!(apps["data"].as_array().unwrap().len(), 1, "nothing stored");
}

#[tokio::test]
async fn case_8_the_bearer_scheme_is_accepted_in_any_case() {
    let t = Team::new().await;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let resp = reqwest::Client::new()
            .get(format!("{}/v1/apps", t.s.base))
            .header("authorization", format!("{scheme} {}", t.owner.key))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{scheme}");
    }
}

/// A token for the team's app, issued by `key`.
async fn tester_token(t: &Team, key: &str, channel: &str) -> Value {
    let (status, doc) =
        t.s.post(
            "/v1/testerTokens",
            key,
            json!({"data": {"type": "testerTokens", "attributes": {"channel": channel},
                "relationships": {"app": {"data": {"type": "apps", "id": t.app}}}}}),
        )
        .await;
    assert_eq!(status, 201, "{doc}");
    doc["data"].clone()
}

#[tokio::test]
async fn case_6_an_edge_is_handed_public_keys_only_so_its_certificate_mints_no_token() {
    use packyard_control_plane::CatalogStore;
    use packyard_core::tester_token::{BetaChannel, Claims, TokenSigner, TokenVerifier};
    let t = Team::new().await;
    let issued = tester_token(&t, &t.manager.key, "INTERNAL").await;
    // What EdgeRegistry hands an edge (Register, TokenSecret): generation and public key.
    let (handed, signer) =
        t.s.store
            .read(|c| {
                (
                    c.tester_token_verifier().unwrap().to_bytes(),
                    c.tester_token_signer().unwrap(),
                )
            })
            .await
            .unwrap();
    assert_eq!(
        handed.len(),
        40,
        "one generation and one public key, nothing else"
    );
    assert_eq!(
        &handed[8..],
        signer.public_key().key,
        "the public key itself"
    );
    let edge = TokenVerifier::from_bytes(&handed).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = issued["attributes"]["token"].as_str().unwrap();
    assert!(
        edge.verify(token, &t.app, BetaChannel::Internal, now)
            .is_ok()
    );
    // The best a thief can do: sign a 25-year token with a key of their own, or with the
    // public key's bytes as if they were a seed. Every edge refuses both.
    let forever = Claims {
        jti: "tt-stolen".into(),
        app: t.app.clone(),
        channel: BetaChannel::Internal,
        iat: now,
        exp: now + 25 * 365 * 86_400,
    };
    for forger in [
        TokenSigner::from_seed(1, &[0x42; 32]),
        TokenSigner::from_seed(1, &signer.public_key().key),
    ] {
        let forged = forger.sign(&forever);
        assert!(edge.verify_signature(&forged).is_err(), "{forged}");
    }
}

#[tokio::test]
async fn case_6_a_token_is_revoked_before_it_expires_and_the_edges_are_told() {
    use packyard_control_plane::CatalogStore;
    use packyard_core::catalog::{ServingChange, TesterTokenId};
    let t = Team::new().await;
    let issued = tester_token(&t, &t.admin.key, "EXTERNAL").await;
    let token_id = issued["id"].as_str().unwrap().to_owned();
    let (status, doc) =
        t.s.raw(
            reqwest::Method::DELETE,
            &format!("/v1/testerTokens/{token_id}"),
            Some(&t.manager.key),
            Vec::new(),
        )
        .await;
    assert_eq!(status, 204, "{doc}");
    let snapshot = t.s.store.read(|c| c.serving_snapshot()).await.unwrap();
    assert!(
        snapshot.iter().any(|c| matches!(
            c,
            ServingChange::TesterTokenRevoked { token, .. } if *token == TesterTokenId::from(token_id.as_str())
        )),
        "every edge, even one starting from nothing, hears of it"
    );
}
