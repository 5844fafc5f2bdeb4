//! Tester tokens at the edge (SPEC §6): beta channels and pre-release versions are never
//! served without a valid token for that app (and channel); the store is public.

#![allow(clippy::unwrap_used)]

mod support;

use packyard_core::tester_token::{BetaChannel, TokenSigner};
use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::change::Change;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CACHE_CONTROL};
use support::{APP, Archive, LAZY, MemorySource, TestEdge, app_change, changes, channel, client};

/// Version 1 in the store, version 2 (pre-release) in the internal channel.
async fn edge() -> (TestEdge, Archive, Archive) {
    edge_on(packyard_net::node::Clock::System).await
}

/// [`edge`], checking token expiry by `clock`.
async fn edge_on(clock: packyard_net::node::Clock) -> (TestEdge, Archive, Archive) {
    let v1 = Archive::new(50_000, 1, 8 << 10);
    let v2 = Archive::new(60_000, 2, 8 << 10);
    let source = MemorySource::with(&[&v1, &v2]);
    let events = [
        support::empty_snapshot(),
        changes(
            2,
            vec![
                app_change(),
                Change::VersionCompleted(v1.completed("p1", "level-1", 1, LAZY)),
                Change::VersionCompleted(v2.completed("p1", "level-1", 2, LAZY)),
                channel("p1", pb::Channel::Store, 1),
                channel("p1", pb::Channel::Internal, 2),
            ],
        ),
    ];
    (
        TestEdge::start_with_clock(&events, source, None, clock).await,
        v1,
        v2,
    )
}

async fn status(url: &str, bearer: Option<&str>) -> StatusCode {
    let mut r = client().get(url);
    if let Some(t) = bearer {
        r = r.header(AUTHORIZATION, format!("Bearer {t}"));
    }
    r.send().await.unwrap().status()
}

#[tokio::test]
async fn beta_channels_refuse_missing_forged_expired_and_foreign_tokens() {
    let (edge, _, v2) = edge().await;
    let url = format!("{}/apps/app1/internal/level-1", edge.url);
    let good = support::token(APP, BetaChannel::Internal, 3600);
    let mut forged = good.clone();
    forged.pop();
    forged.push(if good.ends_with('A') { 'B' } else { 'A' });
    let cases = [
        (None, StatusCode::UNAUTHORIZED),
        (Some("garbage".to_owned()), StatusCode::UNAUTHORIZED),
        (Some(forged), StatusCode::UNAUTHORIZED),
        (
            Some(support::token(APP, BetaChannel::Internal, -10)),
            StatusCode::UNAUTHORIZED,
        ),
        (
            Some(support::token("app2", BetaChannel::Internal, 3600)),
            StatusCode::FORBIDDEN,
        ),
        (
            Some(support::token(APP, BetaChannel::External, 3600)),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (token, expected) in cases {
        assert_eq!(status(&url, token.as_deref()).await, expected, "{token:?}");
    }
    let ok = client()
        .get(&url)
        .header(AUTHORIZATION, format!("Bearer {good}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()[CACHE_CONTROL], "private, no-cache");
    assert_eq!(ok.bytes().await.unwrap(), v2.bytes);
    // The query parameter works as well as the header.
    assert_eq!(
        status(&format!("{url}?token={good}"), None).await,
        StatusCode::OK
    );
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let lower = client()
        .get(&url)
        .header(AUTHORIZATION, format!("bEaReR {good}"))
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_revoked_token_is_refused_from_the_change_that_revokes_it_and_others_still_open() {
    let (edge, _, _) = edge().await;
    let url = format!("{}/apps/app1/internal/level-1", edge.url);
    let signer = support::signer();
    let revoked = support::signed(
        &signer,
        "tt-revoked",
        APP,
        BetaChannel::Internal,
        600,
        3_600,
    );
    let kept = support::signed(&signer, "tt-kept", APP, BetaChannel::Internal, 600, 3_600);
    // Verified once before the revocation: the kept claims must not outlive it.
    assert_eq!(status(&url, Some(&revoked)).await, StatusCode::OK);
    edge.state.write().unwrap().apply(&changes(
        3,
        vec![Change::TesterTokenRevoked(pb::TesterTokenRevoked {
            app_id: APP.into(),
            token_id: "tt-revoked".into(),
            expires_at: u64::MAX,
        })],
    ));
    let refused = client()
        .get(&url)
        .header(AUTHORIZATION, format!("Bearer {revoked}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.text().await.unwrap().contains("revoked"));
    assert_eq!(status(&url, Some(&kept)).await, StatusCode::OK);
}

#[tokio::test]
async fn an_edge_refuses_tokens_living_longer_than_it_accepts_and_waits_for_newer_keys() {
    let (edge, _, _) = edge().await;
    let url = format!("{}/apps/app1/internal/level-1", edge.url);
    let signer = support::signer();
    let too_long = support::signed(
        &signer,
        "tt-long",
        APP,
        BetaChannel::Internal,
        600,
        support::MAX_TOKEN_LIFETIME + 1,
    );
    let r = client()
        .get(&url)
        .header(AUTHORIZATION, format!("Bearer {too_long}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("accepts at most"));

    // Signed by a key newer than the edge holds: the edge is behind, so 503, not 401.
    let newer = TokenSigner::from_seed(2, &[9; 32]);
    let token = support::signed(&newer, "tt-new", APP, BetaChannel::Internal, 600, 3_600);
    assert_eq!(
        status(&url, Some(&token)).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // Another key claiming to be the one the edge holds proves nothing.
    let impostor = TokenSigner::from_seed(1, &[9; 32]);
    let token = support::signed(&impostor, "tt-fake", APP, BetaChannel::Internal, 600, 3_600);
    assert_eq!(status(&url, Some(&token)).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_store_is_public_and_pre_release_immutable_urls_need_a_token() {
    let (edge, v1, v2) = edge().await;
    let store = client()
        .get(format!("{}/apps/app1/store/level-1", edge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(store.status(), StatusCode::OK);
    assert_eq!(store.bytes().await.unwrap(), v1.bytes);
    let v1_url = format!("{}/apps/app1/packs/level-1/versions/1", edge.url);
    assert_eq!(status(&v1_url, None).await, StatusCode::OK);
    assert_eq!(
        status(&format!("{v1_url}/chunks"), None).await,
        StatusCode::OK
    );

    let v2_url = format!("{}/apps/app1/packs/level-1/versions/2", edge.url);
    assert_eq!(status(&v2_url, None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        status(&format!("{v2_url}/chunks"), None).await,
        StatusCode::UNAUTHORIZED
    );
    let other_app = support::token("app2", BetaChannel::Internal, 3600);
    assert_eq!(
        status(&v2_url, Some(&other_app)).await,
        StatusCode::FORBIDDEN
    );
    let internal = support::token(APP, BetaChannel::Internal, 3600);
    let r = client()
        .get(&v2_url)
        .header(AUTHORIZATION, format!("Bearer {internal}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()[CACHE_CONTROL],
        "private, max-age=31536000, immutable"
    );
    assert_eq!(r.bytes().await.unwrap(), v2.bytes);
}

/// Version 1 in the store, 2 approved for external testing, 3 (the newest) only internal.
async fn three_channel_edge() -> TestEdge {
    let archives: Vec<Archive> = (1..=3)
        .map(|n: u64| Archive::new(40_000 + usize::try_from(n).unwrap() * 1_000, n, 8 << 10))
        .collect();
    let source = MemorySource::with(&archives.iter().collect::<Vec<_>>());
    let mut items = vec![app_change()];
    for (n, a) in (1u32..).zip(&archives) {
        items.push(Change::VersionCompleted(
            a.completed("p1", "level-1", n, LAZY),
        ));
    }
    items.extend([
        channel("p1", pb::Channel::Store, 1),
        channel("p1", pb::Channel::External, 2),
        channel("p1", pb::Channel::Internal, 3),
    ]);
    TestEdge::start(
        &[support::empty_snapshot(), changes(2, items)],
        source,
        None,
    )
    .await
}

#[tokio::test]
async fn a_tester_token_opens_only_what_its_channel_serves() {
    let edge = three_channel_edge().await;
    let url = |n: u32| format!("{}/apps/app1/packs/level-1/versions/{n}", edge.url);
    let external = support::token(APP, BetaChannel::External, 3600);
    let internal = support::token(APP, BetaChannel::Internal, 3600);
    // The store's version is public; each beta version opens to its own channel's testers.
    let expected = [
        (1, None, StatusCode::OK),
        (2, Some(&external), StatusCode::OK),
        (3, Some(&internal), StatusCode::OK),
        // An external tester never gets a version that is only in internal testing...
        (3, Some(&external), StatusCode::FORBIDDEN),
        // ...and an internal tester gets the internal channel's version, not the other's.
        (2, Some(&internal), StatusCode::FORBIDDEN),
    ];
    for (n, token, want) in expected {
        assert_eq!(
            status(&url(n), token.map(String::as_str)).await,
            want,
            "version {n}"
        );
        assert_eq!(
            status(&format!("{}/chunks", url(n)), token.map(String::as_str)).await,
            want,
            "chunks of version {n}"
        );
    }
    let r = client()
        .get(url(3))
        .header(AUTHORIZATION, format!("Bearer {external}"))
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = r.json().await.unwrap();
    assert!(
        doc["detail"]
            .as_str()
            .unwrap()
            .contains("opens the external channel, which does not serve version 3"),
        "{doc}"
    );
}

#[tokio::test]
async fn a_beta_manifest_carries_the_token_into_its_urls_and_bad_parameters_are_named() {
    let (edge, _, v2) = edge().await;
    let token = support::token(APP, BetaChannel::Internal, 3600);
    let url = format!(
        "{}/apps/app1/internal/manifest?platform=iOS&os=27.0&lang=en&token={token}",
        edge.url
    );
    let doc: serde_json::Value = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pack = &doc["assetPacks"][0];
    assert_eq!(pack["id"], "level-1");
    assert_eq!(pack["version"], 2);
    assert_eq!(pack["downloadSize"], 60_000);
    assert_eq!(pack["archiveHash"], v2.list.archive_hash().to_hex());
    let pack_url = pack["url"].as_str().unwrap();
    assert_eq!(
        pack_url,
        format!(
            "{}/apps/app1/packs/level-1/versions/2?token={token}",
            edge.url
        )
    );
    // The URL works as it is.
    let bytes = client()
        .get(pack_url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes, v2.bytes);
    let chunks: serde_json::Value = client()
        .get(pack["chunksUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(chunks["size"], 60_000);

    let store = format!("{}/apps/app1/store/manifest", edge.url);
    let doc: serde_json::Value = client()
        .get(format!("{store}?platform=iOS&os=27"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["assetPacks"][0]["version"], 1);
    assert!(
        !doc["assetPacks"][0]["url"]
            .as_str()
            .unwrap()
            .contains("token")
    );
    for (query, parameter) in [
        ("platform=Android&os=27", "`platform`"),
        ("os=27", "`platform`"),
        ("platform=iOS&os=twenty", "`os`"),
        ("platform=iOS&os=27&lang=fr_FR!", "`lang`"),
    ] {
        let r = client()
            .get(format!("{store}?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(
            body["detail"].as_str().unwrap().contains(parameter),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn a_token_opens_until_its_expiry_on_the_edges_clock_and_not_from_then_on() {
    use packyard_core::catalog::Timestamp;
    use packyard_core::tester_token::Claims;
    use packyard_net::node::{Clock, ManualTime};
    use std::time::Duration;

    // 2030-01-01T00:00:00Z, far from the machine's own clock.
    let issued = 1_893_456_000;
    let time = ManualTime::starting_at(Timestamp(issued * 1000));
    let (edge, _, _) = edge_on(Clock::Manual(time)).await;
    let token = support::signer().sign(&Claims {
        jti: "tt-clock".into(),
        app: APP.into(),
        channel: BetaChannel::Internal,
        iat: issued,
        exp: issued + 60,
    });
    let url = format!("{}/apps/app1/internal/level-1", edge.url);
    assert_eq!(
        status(&url, Some(&token)).await,
        StatusCode::OK,
        "issued now"
    );
    time.advance(Duration::from_secs(59));
    assert_eq!(
        status(&url, Some(&token)).await,
        StatusCode::OK,
        "a second before its expiry"
    );
    // Expired from `exp` on, as JWT's and PASETO's `exp` mean.
    time.advance(Duration::from_secs(1));
    let late = client()
        .get(&url)
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), StatusCode::UNAUTHORIZED, "at its expiry");
    let why = late.text().await.unwrap();
    assert!(why.contains("expired"), "{why}");
}
