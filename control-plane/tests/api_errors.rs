//! Every way a request can go wrong gets the right status and a JSON:API error that says
//! what to fix, and never disturbs the next request.

mod api_support;

use api_support::{Server, error};
use reqwest::Method;
use serde_json::json;

fn app_body(bundle_id: serde_json::Value) -> serde_json::Value {
    json!({"data": {"type": "apps", "attributes": {
        "name": "Game", "bundleId": bundle_id, "primaryLanguage": "en"}}})
}

#[tokio::test]
async fn missing_and_forged_keys_are_401_and_probes_need_none() {
    let s = Server::start().await;
    let (st, v) = s.raw(Method::GET, "/v1/apps", None, Vec::new()).await;
    assert_eq!(st, 401, "{v}");
    assert_eq!(error(&v)["code"], "NOT_AUTHORIZED");
    assert!(error(&v)["detail"].as_str().unwrap().contains("Bearer"));
    let (st, v) = s.get("/v1/apps", "pyk_forged").await;
    assert_eq!(st, 401, "{v}");
    assert!(
        error(&v)["detail"]
            .as_str()
            .unwrap()
            .contains("unknown or was revoked")
    );
    assert_eq!(
        s.raw(Method::GET, "/healthz", None, Vec::new()).await.0,
        200
    );
    assert_eq!(s.raw(Method::GET, "/readyz", None, Vec::new()).await.0, 200);
}

#[tokio::test]
async fn a_revoked_key_stops_working() {
    let s = Server::start().await;
    let app = s.app("com.example.keys").await;
    let key = s.member(&app, "DEVELOPER", "dev@example.com").await;
    assert_eq!(s.get("/v1/apps", &key).await.0, 200);
    let (_, v) = s
        .post(
            "/v1/apiKeys",
            &s.admin,
            json!({"data": {"type": "apiKeys", "relationships": {
                "user": {"data": {"type": "users", "id": "operator"}}}}}),
        )
        .await;
    let key_id = v["data"]["id"].as_str().unwrap().to_owned();
    let second = v["data"]["attributes"]["key"].as_str().unwrap().to_owned();
    assert_eq!(s.get("/v1/apps", &second).await.0, 200);
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/apiKeys/{key_id}"),
            &s.admin,
            json!(null),
        )
        .await;
    assert_eq!(st, 204);
    assert_eq!(s.get("/v1/apps", &second).await.0, 401);
}

#[tokio::test]
async fn malformed_bodies_are_400_naming_the_member_and_the_next_request_works() {
    let s = Server::start().await;
    let key = s.admin.clone();
    let post = |body: Vec<u8>| s.raw(Method::POST, "/v1/apps", Some(&key), body);

    let (st, v) = post(b"{\"data\": ".to_vec()).await;
    assert_eq!(st, 400, "{v}");
    assert!(
        error(&v)["detail"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );

    let mut unknown = app_body(json!("com.example.a"));
    unknown["data"]["attributes"]["colour"] = json!("red");
    let (st, v) = post(serde_json::to_vec(&unknown).unwrap()).await;
    assert_eq!(st, 400, "{v}");
    assert!(
        error(&v)["detail"].as_str().unwrap().contains("colour"),
        "{v}"
    );
    assert_eq!(error(&v)["source"]["pointer"], "/data/attributes/colour");

    let (st, v) = post(serde_json::to_vec(&app_body(json!(5))).unwrap()).await;
    assert_eq!(st, 400, "{v}");
    assert_eq!(error(&v)["source"]["pointer"], "/data/attributes/bundleId");

    let (st, v) = post(b"{\"data\":{\"type\":\"builds\",\"attributes\":{}}}".to_vec()).await;
    assert_eq!(st, 409, "{v}");
    assert_eq!(error(&v)["source"]["pointer"], "/data/type");

    let huge = vec![b' '; 2 * 1024 * 1024];
    let (st, v) = post(huge).await;
    assert_eq!(st, 413, "{v}");

    // None of that stored anything or upset the server.
    let (st, v) = post(serde_json::to_vec(&app_body(json!("com.example.a"))).unwrap()).await;
    assert_eq!(st, 201, "{v}");
    let (_, v) = s.get("/v1/apps", &key).await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn each_refusal_kind_has_its_status_and_an_actionable_detail() {
    let s = Server::start().await;
    let app = s.app("com.example.game").await;
    let dev = s.member(&app, "DEVELOPER", "dev@example.com").await;

    // 403 (R8): a Developer may not register builds.
    let (st, v) = s
        .post(
            "/v1/builds",
            &dev,
            json!({"data": {"type": "builds",
                "attributes": {"buildNumber": "1", "channels": ["EXTERNAL"]},
                "relationships": {"app": {"data": {"type": "apps", "id": app}}}}}),
        )
        .await;
    assert_eq!(st, 403, "{v}");
    assert_eq!(error(&v)["code"], "FORBIDDEN_ERROR");
    assert!(
        error(&v)["detail"]
            .as_str()
            .unwrap()
            .contains("App Manager")
    );

    // 404: no such app.
    let (st, v) = s.get("/v1/apps/nope", &dev).await;
    assert_eq!(st, 404, "{v}");
    assert!(error(&v)["detail"].as_str().unwrap().contains("nope"));

    // 409: a bundle id that is taken.
    let (st, v) = s
        .post("/v1/apps", &s.admin, app_body(json!("com.example.game")))
        .await;
    assert_eq!(st, 409, "{v}");
    assert!(
        error(&v)["detail"]
            .as_str()
            .unwrap()
            .contains("already registered to another app")
    );

    // 422: an empty name, with a pointer to it.
    let mut empty = app_body(json!("com.example.other"));
    empty["data"]["attributes"]["name"] = json!(" ");
    let (st, v) = s.post("/v1/apps", &s.admin, empty).await;
    assert_eq!(st, 422, "{v}");
    assert_eq!(error(&v)["source"]["pointer"], "/data/attributes/name");

    // 422: an identifier the domain refuses.
    let (st, v) = s.pack(&app, &dev, "bad_name").await;
    assert_eq!(st, 422, "{v}");
    assert_eq!(
        error(&v)["source"]["pointer"],
        "/data/attributes/assetPackIdentifier"
    );

    // 404 and 405 for paths and methods, 400 for bad query parameters.
    assert_eq!(s.get("/v1/nothing", &dev).await.0, 404);
    let (st, v) = s.call(Method::PUT, "/v1/apps", &dev, json!(null)).await;
    assert_eq!(st, 405, "{v}");
    let (st, v) = s
        .get(&format!("/v1/apps/{app}/backgroundAssets?limit=abc"), &dev)
        .await;
    assert_eq!(st, 400, "{v}");
    assert_eq!(error(&v)["source"]["parameter"], "limit");
}

#[tokio::test]
async fn metrics_count_requests_by_endpoint_and_status_without_a_key() {
    let s = Server::start().await;
    let app = s.app("com.example.metrics").await;
    assert_eq!(s.get(&format!("/v1/apps/{app}"), &s.admin).await.0, 200);
    assert_eq!(s.get("/v1/apps/nope", &s.admin).await.0, 404);
    assert_eq!(
        s.raw(Method::GET, "/v1/apps", None, Vec::new()).await.0,
        401
    );
    let page = reqwest::get(format!("{}/metrics", s.base)).await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    for line in [
        r#"packyard_control_api_requests_total{endpoint="CreateApp",status="201"} 1"#,
        r#"packyard_control_api_requests_total{endpoint="GetApp",status="200"} 1"#,
        r#"packyard_control_api_requests_total{endpoint="GetApp",status="404"} 1"#,
        r#"packyard_control_api_requests_total{endpoint="ListApps",status="401"} 1"#,
    ] {
        assert!(page.contains(line), "missing {line} in\n{page}");
    }
    assert!(page.contains("packyard_control_raft_term"), "{page}");
}
