//! `POST /v1/testerTokens`: members get internal tokens, managers external ones; tokens
//! verify with the cluster's secret for their app and channel only; bad input says what is
//! wrong.

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
        .read(|c| c.tester_token_key())
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
