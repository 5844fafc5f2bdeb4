//! The review workflow end to end through the admin API, over HTTP on 127.0.0.1.

mod api_support;

use api_support::{Server, error, id};
use serde_json::json;

#[tokio::test]
async fn the_review_workflow_runs_through_the_api_with_r2_and_r7_enforced() {
    let s = Server::start().await;
    let app = s.app("com.example.game").await;
    let dev = s.member(&app, "DEVELOPER", "dev@example.com").await;
    let manager = s.member(&app, "APP_MANAGER", "mgr@example.com").await;
    let reviewer = s.member(&app, "REVIEWER", "rev@example.com").await;

    let (st, v) = s
        .post(
            "/v1/builds",
            &manager,
            json!({"data": {"type": "builds",
                "attributes": {"buildNumber": "100", "channels": ["INTERNAL", "EXTERNAL"]},
                "relationships": {"app": {"data": {"type": "apps", "id": app}}}}}),
        )
        .await;
    assert_eq!(st, 201, "{v}");

    let (st, v) = s.pack(&app, &dev, "level-2").await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["data"]["attributes"]["assetPackIdentifier"], "level-2");
    let pack = id(&v);
    let v1 = s.complete_version(&pack, &dev, 1000).await;

    // R1: the COMPLETE version is what internal testers get.
    let (st, v) = s
        .get(
            &format!("/v1/backgroundAssetVersionInternalBetaReleases/{v1}"),
            &dev,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data"]["attributes"]["state"], "READY_FOR_TESTING");
    let (_, v) = s.get(&format!("/v1/apps/{app}"), &dev).await;
    assert_eq!(v["data"]["attributes"]["usedBytes"], 1000);

    // R8: a Developer may not submit; the refusal names the roles that may.
    let (st, v) = s.submit(&v1, &dev, "EXTERNAL_BETA").await;
    assert_eq!(st, 403, "{v}");
    let detail = error(&v)["detail"].as_str().unwrap();
    assert!(
        detail.contains("App Manager") && detail.contains("Admin"),
        "{detail}"
    );

    let (st, v) = s.submit(&v1, &manager, "EXTERNAL_BETA").await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["data"]["attributes"]["state"], "WAITING_FOR_REVIEW");
    let submission = id(&v);

    // R2: a second version of the pack cannot enter external review meanwhile.
    let v2 = s.complete_version(&pack, &dev, 500).await;
    let (st, v) = s.submit(&v2, &manager, "EXTERNAL_BETA").await;
    assert_eq!(st, 409, "{v}");
    assert_eq!(error(&v)["code"], "STATE_ERROR.R2");
    assert!(error(&v)["detail"].as_str().unwrap().contains("rule R2"));

    let (st, v) = s
        .review(&submission, &reviewer, json!({"state": "IN_REVIEW"}))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data"]["attributes"]["state"], "IN_REVIEW");

    // R7: no archiving while a version is in review.
    let archive = json!({"data": {"type": "backgroundAssets", "id": pack,
        "attributes": {"archived": true}}});
    let (st, v) = s
        .patch(
            &format!("/v1/backgroundAssets/{pack}"),
            &manager,
            archive.clone(),
        )
        .await;
    assert_eq!(st, 409, "{v}");
    assert_eq!(error(&v)["code"], "STATE_ERROR.R7");

    let (st, v) = s
        .review(&submission, &reviewer, json!({"state": "ACCEPTED"}))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data"]["attributes"]["state"], "ACCEPTED");
    let (_, v) = s
        .get(
            &format!("/v1/backgroundAssetVersionExternalBetaReleases/{v1}"),
            &dev,
        )
        .await;
    assert_eq!(v["data"]["attributes"]["state"], "READY_FOR_TESTING");

    // The store track: submit, review, roll out everywhere at 100 %.
    let (st, v) = s.submit(&v1, &manager, "APP_STORE").await;
    assert_eq!(st, 201, "{v}");
    let store_submission = id(&v);
    s.review(&store_submission, &reviewer, json!({"state": "IN_REVIEW"}))
        .await;
    let (st, v) = s
        .review(&store_submission, &reviewer, json!({"state": "ACCEPTED"}))
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = s
        .post(
            "/v1/rollouts",
            &manager,
            json!({"data": {"type": "rollouts", "relationships": {"backgroundAssetVersion": {
                "data": {"type": "backgroundAssetVersions", "id": v1}}}}}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (_, v) = s
        .get(
            &format!("/v1/backgroundAssetVersionAppStoreReleases/{v1}"),
            &dev,
        )
        .await;
    assert_eq!(v["data"]["attributes"]["state"], "READY_FOR_DISTRIBUTION");

    // Rejection reasons are readable by the app's members (R5).
    let (st, v) = s.submit(&v2, &manager, "EXTERNAL_BETA").await;
    assert_eq!(st, 201, "{v}");
    let rejected = id(&v);
    s.review(&rejected, &reviewer, json!({"state": "IN_REVIEW"}))
        .await;
    let (st, v) = s
        .review(
            &rejected,
            &reviewer,
            json!({"state": "REJECTED", "reasons": ["crashes on launch"]}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (_, v) = s
        .get(&format!("/v1/reviewSubmissions/{rejected}"), &dev)
        .await;
    assert_eq!(
        v["data"]["attributes"]["reasons"],
        json!(["crashes on launch"])
    );

    // Archive, then the identifier is gone for good (R7).
    let (st, v) = s
        .patch(&format!("/v1/backgroundAssets/{pack}"), &manager, archive)
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data"]["attributes"]["archived"], true);
    let (_, v) = s.get(&format!("/v1/apps/{app}"), &dev).await;
    assert_eq!(v["data"]["attributes"]["usedBytes"], 0);
    let (st, v) = s.pack(&app, &dev, "level-2").await;
    assert_eq!(st, 409, "{v}");
    assert_eq!(error(&v)["code"], "STATE_ERROR.R7");
    assert!(
        error(&v)["detail"]
            .as_str()
            .unwrap()
            .contains("never be used again")
    );

    let (st, v) = s
        .get(
            &format!("/v1/apps/{app}/backgroundAssets?filter[archived]=true"),
            &dev,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    let (_, v) = s
        .get(
            &format!("/v1/backgroundAssets/{pack}/versions?filter[state]=COMPLETE"),
            &dev,
        )
        .await;
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_eq!(v["data"][1]["attributes"]["version"], 2);
}

#[tokio::test]
async fn pack_listings_page_with_links_next_and_sort() {
    let s = Server::start().await;
    let app = s.app("com.example.paged").await;
    for name in ["b-pack", "a-pack", "c-pack"] {
        assert_eq!(s.pack(&app, &s.admin, name).await.0, 201);
    }
    let path = format!("/v1/apps/{app}/backgroundAssets?sort=assetPackIdentifier&limit=2");
    let (st, v) = s.get(&path, &s.admin).await;
    assert_eq!(st, 200, "{v}");
    let names: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["attributes"]["assetPackIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a-pack", "b-pack"]);
    let next = v["links"]["next"].as_str().unwrap().to_owned();
    let (_, v) = s.get(&next, &s.admin).await;
    assert_eq!(v["data"][0]["attributes"]["assetPackIdentifier"], "c-pack");
    assert!(v["links"].get("next").is_none());
}
