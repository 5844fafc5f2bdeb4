//! `backgroundAssetUploadFiles`: reserve a file of a version (the response says where to PUT
//! each part), then commit it with its SHA-256 once every part is uploaded.

use axum::http::StatusCode;
use axum::response::Response;
use packyard_core::catalog::{
    Actor, AssetType, Command, CommitUploadFile, ReserveUploadFile, ResourceType, Sha256Digest,
    UploadFile, UploadFileId, VersionId,
};
use packyard_core::role::Action;
use packyard_core::upload_credential::{Scope, UploadKey, expires_at};
use packyard_core::upload_parts::PartLayout;
use serde::Deserialize;
use serde_json::{Value, json};

use super::config::ApiConfig;
use super::context::{Api, new_id, random_bytes};
use super::document::{Nothing, Rel, parse, respond};
use super::error::ApiError;
use super::packs::check_id;
use super::versions::visible_version;
use super::{not_found, render};
use crate::store::CatalogStore;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ReserveAttributes {
    file_name: String,
    file_size: u64,
    asset_type: AssetType,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ReserveRelationships {
    background_asset_version: Rel,
}

/// `POST /v1/backgroundAssetUploadFiles`: reserves the file; refused before any byte is
/// stored if it would pass the app's quota (rule R9).
pub(crate) async fn reserve<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input =
        parse::<ReserveAttributes, ReserveRelationships>(body, "backgroundAssetUploadFiles")?;
    let rel = &input.relationships.background_asset_version;
    let version = VersionId::new(rel.id("backgroundAssetVersion", "backgroundAssetVersions")?);
    let a = input.attributes;
    let id = UploadFileId::new(new_id()?);
    let command = Command::ReserveUploadFile(ReserveUploadFile {
        id: id.clone(),
        version,
        file_name: a.file_name,
        file_size: a.file_size,
        asset_type: a.asset_type,
        key: Some(UploadKey(random_bytes::<32>()?)),
    });
    api.propose(actor, command).await?;
    Ok(respond(
        StatusCode::CREATED,
        document(api, actor, id).await?,
    ))
}

/// `GET /v1/backgroundAssetUploadFiles/{id}`: with its upload URLs signed afresh while it
/// awaits upload, for a caller who may upload (what `--resume` reads).
pub(crate) async fn get<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: UploadFileId,
) -> Result<Response, ApiError> {
    Ok(respond(StatusCode::OK, document(api, actor, id).await?))
}

/// The document of upload file `id` as `actor` may see it.
async fn document<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: UploadFileId,
) -> Result<Value, ApiError> {
    let actor = actor.clone();
    let config = api.config.clone();
    api.read_or_refuse(move |c| {
        let f = c
            .upload_file(&id)
            .ok_or_else(|| not_found(ResourceType::BackgroundAssetUploadFiles, &id))?;
        let version = visible_version(c, &actor, &f.version)?;
        let may_upload = c.permits(&actor, &version.app, Action::Upload).is_ok();
        Ok(render_file(&config, f, may_upload))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Checksum {
    hash: String,
    algorithm: Algorithm,
}

#[derive(Deserialize)]
enum Algorithm {
    #[serde(rename = "SHA_256")]
    Sha256,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Checksums {
    file: Checksum,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CommitAttributes {
    uploaded: bool,
    source_file_checksums: Checksums,
}

/// `PATCH /v1/backgroundAssetUploadFiles/{id}` with `uploaded: true` and the SHA-256: every
/// part is uploaded. Once the version's files are all committed it goes PROCESSING.
pub(crate) async fn commit<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: UploadFileId,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<CommitAttributes, Nothing>(body, "backgroundAssetUploadFiles")?;
    check_id(input.id.as_deref(), id.as_str())?;
    let a = input.attributes;
    if !a.uploaded {
        return Err(ApiError::invalid(
            "uploaded",
            "must be true: send this request once every part is uploaded",
        ));
    }
    let Algorithm::Sha256 = a.source_file_checksums.file.algorithm;
    let sha256 = Sha256Digest::parse_hex(&a.source_file_checksums.file.hash).map_err(|_| {
        ApiError::Invalid {
            pointer: "/data/attributes/sourceFileChecksums/file/hash".into(),
            detail: "sourceFileChecksums.file.hash: is not a SHA-256 checksum; give 64 hex \
                     digits"
                .into(),
        }
    })?;
    let command = Command::CommitUploadFile(CommitUploadFile {
        id: id.clone(),
        sha256,
    });
    api.propose(actor, command).await?;
    get(api, actor, id).await
}

/// The document of `f`. While it awaits upload, a caller who may upload to its app also
/// gets the URLs to send its parts to and to read its upload status from, each signed
/// afresh with the file's key until its reservation ends.
fn render_file(config: &ApiConfig, f: &UploadFile, may_upload: bool) -> Value {
    if !(may_upload && f.state.takes_parts()) {
        return render::upload_file(f, None, None, None);
    }
    let signed = Signer { config, file: f };
    render::upload_file(
        f,
        Some(signed.operations()),
        Some(signed.status_url()),
        Some(signed.chunks_url()),
    )
}

/// Signs the upload URLs of one file.
struct Signer<'a> {
    config: &'a ApiConfig,
    file: &'a UploadFile,
}

impl Signer<'_> {
    /// `url` with the credential for `scope` of the file as its query. A file reserved before
    /// uploads were signed has no key: its URLs carry none, and the origin refuses them.
    fn sign(&self, url: String, scope: Scope) -> String {
        let Some(key) = &self.file.key else {
            return url;
        };
        let lifetime_ms = self.config.upload_deadlines().reservation_ms;
        let expires = expires_at(self.file.reserved_at.0, lifetime_ms);
        let credential = key.sign(self.file.id.as_str(), scope, expires);
        format!("{url}?{}", credential.query())
    }

    /// Where each part goes, as [`PartLayout`] cuts the file, each URL signed for its part.
    fn operations(&self) -> Vec<Value> {
        let (config, f) = (self.config, self.file);
        PartLayout::new(f.file_size, config.upload_part_bytes)
            .parts()
            .map(|p| {
                let url = format!(
                    "{}/v1/uploads/{}/parts/{}",
                    config.origin_base_url, f.id, p.number
                );
                json!({
                    "method": "PUT",
                    "url": self.sign(url, Scope::Part(p.number)),
                    "offset": p.offset,
                    "length": p.len,
                    "partNumber": p.number,
                    "requestHeaders": [
                        { "name": "Content-Type", "value": "application/octet-stream" }
                    ],
                })
            })
            .collect()
    }

    /// Where the origin tells which parts it holds, signed for that.
    fn status_url(&self) -> String {
        let url = format!(
            "{}/v1/uploads/{}",
            self.config.origin_base_url, self.file.id
        );
        self.sign(url, Scope::Status)
    }

    /// Where the file may be sent as chunks instead of parts (its chunk list, then the
    /// chunks the store lacks at `…/chunks/{id}` with the same query), signed for that.
    fn chunks_url(&self) -> String {
        let url = format!(
            "{}/v1/uploads/{}/chunks",
            self.config.origin_base_url, self.file.id
        );
        self.sign(url, Scope::Chunks)
    }
}

#[cfg(test)]
mod tests {
    use packyard_core::catalog::UploadFileState;
    use packyard_core::upload_credential::{Credential, UploadKey};

    use super::*;

    fn file(key: Option<UploadKey>) -> UploadFile {
        UploadFile {
            id: "f1".into(),
            version: "v1".into(),
            file_name: "a.aar".into(),
            file_size: 10,
            asset_type: AssetType::Asset,
            state: UploadFileState::AwaitingUpload,
            sha256: None,
            failure: None,
            reserved_at: packyard_core::catalog::Timestamp(1_000_000),
            committed_at: None,
            key,
        }
    }

    fn config() -> ApiConfig {
        let mut config = ApiConfig::new("http://origin:9000/");
        config.upload_part_bytes = 4;
        config.upload_expiry_secs = 60;
        config
    }

    /// The credential in `url`'s query.
    fn credential(url: &str) -> Credential {
        let query = url.split_once('?').map(|(_, q)| q);
        Credential::from_query(query).unwrap().unwrap()
    }

    #[test]
    fn parts_cover_the_file_exactly() {
        let (config, f) = (config(), file(Some(UploadKey([3; 32]))));
        let ops = Signer {
            config: &config,
            file: &f,
        }
        .operations();
        let spans: Vec<(u64, u64)> = ops
            .iter()
            .map(|o| (o["offset"].as_u64().unwrap(), o["length"].as_u64().unwrap()))
            .collect();
        assert_eq!(spans, vec![(0, 4), (4, 4), (8, 2)]);
        let url = ops[2]["url"].as_str().unwrap();
        assert!(
            url.starts_with("http://origin:9000/v1/uploads/f1/parts/3?expires=1060&signature="),
            "{url}"
        );
        assert_eq!(ops[2]["partNumber"], 3);
    }

    #[test]
    fn each_url_is_signed_for_its_own_part_until_the_reservation_ends() {
        let key = UploadKey([3; 32]);
        let (config, f) = (config(), file(Some(key)));
        let signer = Signer {
            config: &config,
            file: &f,
        };
        let ops = signer.operations();
        for (i, op) in ops.iter().enumerate() {
            let c = credential(op["url"].as_str().unwrap());
            assert_eq!(c.expires, 1_060, "the reservation's end, in Unix seconds");
            let part = u64::try_from(i).unwrap() + 1;
            assert_eq!(key.check("f1", Scope::Part(part), &c, 1_059), Ok(()));
            assert!(key.check("f1", Scope::Part(part + 1), &c, 1_059).is_err());
        }
        let status = credential(&signer.status_url());
        assert_eq!(key.check("f1", Scope::Status, &status, 1_059), Ok(()));
    }

    #[test]
    fn only_uploaders_of_a_file_awaiting_upload_get_its_urls() {
        let config = config();
        let mut f = file(Some(UploadKey([3; 32])));
        let doc = render_file(&config, &f, true);
        assert!(doc["attributes"]["uploadOperations"].is_array());
        assert!(doc["attributes"]["uploadStatusUrl"].is_string());
        for (may_upload, state) in [
            (false, UploadFileState::AwaitingUpload),
            (true, UploadFileState::UploadComplete),
        ] {
            f.state = state;
            let doc = render_file(&config, &f, may_upload);
            assert!(doc["attributes"]["uploadOperations"].is_null(), "{doc}");
            assert!(doc["attributes"]["uploadStatusUrl"].is_null(), "{doc}");
        }
        assert!(
            !doc.to_string().contains(&"03".repeat(32)),
            "the key is never shown"
        );
    }

    #[test]
    fn a_file_reserved_before_uploads_were_signed_gets_unsigned_urls() {
        let (config, f) = (config(), file(None));
        let signer = Signer {
            config: &config,
            file: &f,
        };
        assert_eq!(signer.status_url(), "http://origin:9000/v1/uploads/f1");
        assert_eq!(
            signer.operations()[0]["url"],
            "http://origin:9000/v1/uploads/f1/parts/1"
        );
    }
}
