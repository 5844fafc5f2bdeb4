//! Who may write a part, or read an upload's status, at the origin: only the holder of the URL
//! the admin API signed for that part (or that file's status), until the reservation ends.
//! A real control plane and a real origin on 127.0.0.1; every refusal happens before a byte
//! of the body is read or stored.

// Test code: a failed step should fail the test at once.
#![allow(clippy::unwrap_used)]

mod support;

use packyard_core::quota::QuotaLimits;
use packyard_core::upload_credential::Scope;
use packyard_origin::process::ProcessHooks;
use serde_json::Value;
use support::{
    ControlPlane, Origin, Reserved, assert_rebuilds, build_pack, chunk_list, get, noise, put,
    status_url, unix_now, upload_all,
};

const PREFETCH: &str = r#"{"prefetch":{"installationEventTypes":["firstInstallation"]}}"#;

async fn start() -> (ControlPlane, Origin, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let (listener, url) = Origin::bind().await;
    let control = ControlPlane::start(&url, QuotaLimits::default()).await;
    let origin = Origin::start(listener, data.path(), &control, ProcessHooks::default()).await;
    (control, origin, data)
}

/// A reserved file of `bytes.len()` bytes in a new version of a new app's pack.
async fn reserved(control: &ControlPlane, bundle: &str, bytes: &[u8]) -> (String, Reserved) {
    let pack = control.pack(bundle, "level-2").await;
    let version = control.version(&pack).await;
    let file = control.reserve(&version, bytes.len() as u64, "ASSET").await;
    (version, file)
}

/// `url` without its query: what an anonymous client knows of a part.
fn bare(url: &str) -> &str {
    url.split_once('?').map_or(url, |(path, _)| path)
}

/// `url`'s path with the query of `other`: a credential taken from another URL.
fn with_query_of(url: &str, other: &str) -> String {
    let (_, query) = other.split_once('?').unwrap();
    format!("{}?{query}", bare(url))
}

/// Sends `body` to `url` as the anonymous client would; returns status, the error's code and
/// detail, and the `WWW-Authenticate` header.
async fn try_put(url: &str, body: Vec<u8>) -> (u16, String, String, Option<String>) {
    let response = reqwest::Client::new()
        .put(url)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let doc: Value = response.json().await.unwrap_or(Value::Null);
    let error = &doc["errors"][0];
    let text = |f: &str| error[f].as_str().unwrap_or_default().to_owned();
    (status, text("code"), text("detail"), challenge)
}

fn staged(data: &tempfile::TempDir, file: &str, part: u64) -> Option<Vec<u8>> {
    let path = data
        .path()
        .join("staging")
        .join(file)
        .join(part.to_string());
    std::fs::read(path).ok()
}

#[tokio::test]
async fn case_5_an_anonymous_put_over_a_part_of_someone_elses_upload_is_refused_and_their_version_completes()
 {
    let (control, origin, data) = start().await;
    let archive = build_pack(8, &[], PREFETCH);
    let (version, file) = reserved(&control, "com.example.victim", &archive).await;
    upload_all(&file, &archive).await;
    let first = &file.operations[0];
    let stored = staged(&data, &file.id, 1).unwrap();
    assert_eq!(stored, first.slice(&archive));

    // Anyone who learns the part's address (but not its signed URL) is refused before a
    // byte is read, and the part stays as its owner sent it.
    let garbage = noise(13, usize::try_from(first.length).unwrap());
    let (status, code, detail, challenge) = try_put(bare(&first.url), garbage.clone()).await;
    assert_eq!((status, code.as_str()), (401, "NOT_AUTHORIZED"), "{detail}");
    assert!(
        detail.contains(&format!(
            "writing part 1 of upload file {} needs its upload credential",
            file.id
        )),
        "{detail}"
    );
    assert!(detail.contains("carries no upload credential"), "{detail}");
    assert_eq!(
        challenge.as_deref(),
        Some("Upload-Signature realm=\"packyard-uploads\"")
    );
    // Nor does the credential of another part, or of the attacker's own upload, open it.
    let (_, own) = reserved(&control, "com.example.attacker", &archive).await;
    for stolen in [&file.operations[1].url, &own.operations[0].url] {
        let (status, code, detail, _) =
            try_put(&with_query_of(&first.url, stolen), garbage.clone()).await;
        assert_eq!(
            (status, code.as_str()),
            (403, "FORBIDDEN_ERROR"),
            "{detail}"
        );
        assert!(
            detail.contains("signed for another part or file"),
            "{detail}"
        );
    }
    assert_eq!(staged(&data, &file.id, 1).unwrap(), stored, "unchanged");

    // The owner's version completes, its bytes exactly what they sent.
    let (s, v) = control.commit(&file.id, &archive).await;
    assert_eq!(s, 200, "{v}");
    let a = control.settled(&version).await;
    assert_eq!(a["state"], "COMPLETE", "{a}");
    assert_rebuilds(data.path(), &chunk_list(&control, &version).await, &archive);
    origin.shut_down().await;
}

#[tokio::test]
async fn a_forged_expired_malformed_or_other_parts_credential_is_refused_naming_what_is_wrong() {
    let (control, origin, data) = start().await;
    let bytes = noise(3, 3 * 1024 * 1024);
    let (_, file) = reserved(&control, "com.example.forged", &bytes).await;
    let part = &file.operations[1];
    let body = part.slice(&bytes).to_vec();
    let (url, query) = part.url.split_once('?').unwrap();
    let signature = query.split_once("signature=").unwrap().1;
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let expired = control
        .signed_url(&origin.url, &file.id, Scope::Part(2), unix_now() - 10)
        .await;
    let expires = query.split('&').next().unwrap();
    let cases = [
        (
            format!("{url}?{expires}&signature={flipped}{}", &signature[1..]),
            "is not valid for part 2",
        ),
        (
            with_query_of(url, &file.operations[0].url),
            "is not valid for part 2",
        ),
        (
            with_query_of(url, status_url(&file)),
            "is not valid for part 2",
        ),
        (
            format!(
                "{url}?expires={}&signature={signature}",
                unix_now() + 999_999
            ),
            "is not valid for part 2",
        ),
        (expired, "expired at"),
        (format!("{url}?{expires}"), "`signature` is missing"),
        (
            format!("{url}?{query}&{expires}"),
            "`expires` is given more than once",
        ),
        (format!("{url}?{expires}&signature=abc"), "not 32 bytes"),
    ];
    for (bad, named) in cases {
        let (status, code, detail, _) = try_put(&bad, body.clone()).await;
        assert_eq!(
            (status, code.as_str()),
            (403, "FORBIDDEN_ERROR"),
            "{bad}: {detail}"
        );
        assert!(detail.contains(named), "{bad}: {detail}");
    }
    assert_eq!(staged(&data, &file.id, 2), None, "nothing stored");
    // The URL the admin API gave still works.
    assert_eq!(put(&part.url, body).await.0, 200);
    origin.shut_down().await;
}

#[tokio::test]
async fn the_upload_status_needs_the_files_status_credential() {
    let (control, origin, _data) = start().await;
    let bytes = noise(4, 2 * 1024 * 1024 + 5);
    let (_, file) = reserved(&control, "com.example.status", &bytes).await;
    let (_, other) = reserved(&control, "com.example.other", &bytes).await;
    let status = status_url(&file);

    let (s, v) = get(bare(status)).await;
    assert_eq!(s, 401, "{v}");
    assert!(
        v["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("reading the upload status of upload file"),
        "{v}"
    );
    for stolen in [&file.operations[0].url, status_url(&other)] {
        let (s, v) = get(&with_query_of(status, stolen)).await;
        assert_eq!(s, 403, "{v}");
    }
    let (s, v) = get(status).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["missingParts"], serde_json::json!([1, 2, 3]));

    // Reading the upload file again (what `--resume` does) gives working URLs again.
    let again = control.client.upload_file(&file.id).await.unwrap();
    let (s, _) = get(status_url(&again)).await;
    assert_eq!(s, 200);
    origin.shut_down().await;
}
