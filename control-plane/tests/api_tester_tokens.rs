//! `testerTokens`: members get internal tokens, managers external ones; tokens verify with
//! the cluster's public keys for their app and channel only; they are listed and revoked by
//! those who may issue them; bad input says what is wrong.

mod api_support;

use api_support::{Server, error};
use packyard_control_plane::CatalogStore;
use packyard_core::tester_token::BetaChannel;
use reqwest::Method;
use serde_json::{Value, json};

fn request(app: &str, channel: &str, expires: Option<u64>) -> Value {
    let mut attributes = json!({"channel": channel});
    if let Some(s) = expires {
        attributes["expiresInSeconds"] = json!(s);
    }
    json!({"data": {"type": "testerTokens", "attributes": attributes,
        "relationships": {"app": {"data": {"type": "apps", "id": app}}}}})
}

#[tokio::test]
async fn members_issue_internal_tokens_and_managers_external_ones() {
    let s = Server::start().await;
    let app = s.app("com.example.tokens").await;
    let dev = s.member(&app, "DEVELOPER", "dev@example.com").await;
    let manager = s.member(&app, "APP_MANAGER", "pm@example.com").await;

    let (st, v) = s
        .post(
            "/v1/testerTokens",
            &dev,
            request(&app, "INTERNAL", Some(3600)),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let token = v["data"]["attributes"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(v["data"]["attributes"]["channel"], "INTERNAL");
    assert!(
        v["data"]["attributes"]["expirationDate"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    let key = s
        .store
        .read(|c| c.tester_token_verifier())
        .await
        .unwrap()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(key.verify(&token, &app, BetaChannel::Internal, now).is_ok());
    assert!(
        key.verify(&token, &app, BetaChannel::External, now)
            .is_err(),
        "bound to its channel"
    );
    assert!(
        key.verify(&token, "another-app", BetaChannel::Internal, now)
            .is_err(),
        "bound to its app"
    );
    assert!(
        key.verify(&token, &app, BetaChannel::Internal, now + 3601)
            .is_err(),
        "it expires"
    );

    let (st, v) = s
        .post("/v1/testerTokens", &dev, request(&app, "EXTERNAL", None))
        .await;
    assert_eq!(st, 403, "{v}");
    assert!(
        error(&v)["detail"]
            .as_str()
            .unwrap()
            .contains("App Manager"),
        "{v}"
    );
    let (st, v) = s
        .post(
            "/v1/testerTokens",
            &manager,
            request(&app, "EXTERNAL", None),
        )
        .await;
    assert_eq!(st, 201, "{v}");
}

#[tokio::test]
async fn bad_token_requests_say_what_is_wrong() {
    let s = Server::start().await;
    let app = s.app("com.example.bad-tokens").await;
    let (st, v) = s
        .post(
            "/v1/testerTokens",
            &s.admin,
            request(&app, "INTERNAL", Some(0)),
        )
        .await;
    assert_eq!(st, 422, "{v}");
    assert!(
        error(&v)["detail"]
            .as_str()
            .unwrap()
            .contains("expiresInSeconds"),
        "{v}"
    );
    let (st, v) = s
        .post(
            "/v1/testerTokens",
            &s.admin,
            request(&app, "INTERNAL", Some(91 * 86_400)),
        )
        .await;
    assert_eq!(st, 422, "{v}");
    let (st, v) = s
        .post("/v1/testerTokens", &s.admin, request(&app, "STORE", None))
        .await;
    assert_eq!(st, 400, "the store channel needs no token: {v}");
    let (st, v) = s
        .post(
            "/v1/testerTokens",
            &s.admin,
            request("no-such-app", "INTERNAL", None),
        )
        .await;
    assert_eq!(st, 404, "{v}");
    let (st, _) = s
        .raw(Method::GET, "/v1/testerTokens", Some(&s.admin), Vec::new())
        .await;
    assert_eq!(st, 405);
}

#[tokio::test]
async fn tokens_are_listed_and_revoked_by_those_who_may_issue_them_and_seen_by_nobody_else() {
    let s = Server::start().await;
    let app = s.app("com.example.listed").await;
    let other = s.app("com.example.elsewhere").await;
    let dev = s.member(&app, "DEVELOPER", "dev@example.com").await;
    let manager = s.member(&app, "APP_MANAGER", "pm@example.com").await;
    let outsider = s
        .member(&other, "ADMIN", "admin@elsewhere.example.com")
        .await;
    let issue = |who: String, channel: &'static str| {
        let (s, app) = (&s, app.clone());
        async move {
            let (st, v) = s
                .post("/v1/testerTokens", &who, request(&app, channel, Some(600)))
                .await;
            assert_eq!(st, 201, "{v}");
            v["data"].clone()
        }
    };
    let internal = issue(dev.clone(), "INTERNAL").await;
    let external = issue(manager.clone(), "EXTERNAL").await;
    let internal_id = internal["id"].as_str().unwrap().to_owned();
    let external_id = external["id"].as_str().unwrap().to_owned();
    assert!(internal_id.starts_with("tt-"), "{internal}");
    // The id is the token's `jti`.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let keys = s
        .store
        .read(|c| c.tester_token_verifier())
        .await
        .unwrap()
        .unwrap();
    let claims = keys
        .verify(
            internal["attributes"]["token"].as_str().unwrap(),
            &app,
            BetaChannel::Internal,
            now,
        )
        .unwrap();
    assert_eq!(claims.jti, internal_id);

    let listed = |who: String| {
        let (s, app) = (&s, app.clone());
        async move {
            let (st, v) = s.get(&format!("/v1/apps/{app}/testerTokens"), &who).await;
            (st, v)
        }
    };
    let ids = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (st, v) = listed(manager.clone()).await;
    assert_eq!(st, 200, "{v}");
    let mut both = vec![internal_id.clone(), external_id.clone()];
    both.sort();
    assert_eq!(ids(&v), both);
    assert!(
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["attributes"].get("token").is_none()),
        "a token is shown once, when issued: {v}"
    );
    // A Developer sees the internal tokens only, an outsider nothing.
    let (st, v) = listed(dev.clone()).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(ids(&v), std::slice::from_ref(&internal_id));
    let (st, _) = listed(outsider.clone()).await;
    assert_eq!(st, 403);
    for (who, id) in [(&outsider, &internal_id), (&dev, &external_id)] {
        let (st, _) = s.get(&format!("/v1/testerTokens/{id}"), who).await;
        assert_eq!(st, 403, "only those who may issue a token see it");
        let (st, _) = s
            .raw(
                Method::DELETE,
                &format!("/v1/testerTokens/{id}"),
                Some(who),
                Vec::new(),
            )
            .await;
        assert_eq!(st, 403);
    }

    // Revoking: the record says when; revoking again changes nothing.
    let path = format!("/v1/testerTokens/{internal_id}");
    for _ in 0..2 {
        let (st, _) = s.raw(Method::DELETE, &path, Some(&dev), Vec::new()).await;
        assert_eq!(st, 204);
    }
    let (st, v) = s.get(&path, &manager).await;
    assert_eq!(st, 200, "{v}");
    assert!(
        v["data"]["attributes"]["revokedDate"].as_str().is_some(),
        "{v}"
    );
    assert_eq!(
        v["data"]["relationships"]["issuedBy"]["data"]["type"],
        "users"
    );

    // The public keys, in a form any PASETO library reads.
    let (st, v) = s.get("/v1/testerTokenKeys", &outsider).await;
    assert_eq!(st, 200, "{v}");
    assert!(
        v["data"][0]["attributes"]["paserk"]
            .as_str()
            .unwrap()
            .starts_with("k4.public."),
        "{v}"
    );
}
