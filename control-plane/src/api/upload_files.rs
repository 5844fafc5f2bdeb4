//! `backgroundAssetUploadFiles`: reserve a file of a version (the response says where to PUT
//! each part), then commit it with its SHA-256 once every part is uploaded.

use axum::http::StatusCode;
use axum::response::Response;
use packyard_core::catalog::{
    Actor, AssetType, Command, CommitUploadFile, ReserveUploadFile, ResourceType, Sha256Digest,
    UploadFile, UploadFileId, UploadFileState, VersionId,
};
use packyard_core::upload_parts::PartLayout;
use serde::Deserialize;
use serde_json::{Value, json};

use super::config::ApiConfig;
use super::context::{Api, new_id};
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
    });
    api.propose(actor, command).await?;
    let config = api.config.clone();
    let doc = api
        .read(move |c| c.upload_file(&id).map(|f| render_file(&config, f)))
        .await?;
    Ok(respond(StatusCode::CREATED, doc.unwrap_or_default()))
}

/// `GET /v1/backgroundAssetUploadFiles/{id}`.
pub(crate) async fn get<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: UploadFileId,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    let config = api.config.clone();
    let doc = api
        .read_or_refuse(move |c| {
            let f = c
                .upload_file(&id)
                .ok_or_else(|| not_found(ResourceType::BackgroundAssetUploadFiles, &id))?;
            visible_version(c, &actor, &f.version)?;
            Ok(render_file(&config, f))
        })
        .await?;
    Ok(respond(StatusCode::OK, doc))
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

fn render_file(config: &ApiConfig, f: &UploadFile) -> Value {
    let operations = (f.state == UploadFileState::AwaitingUpload).then(|| operations(config, f));
    render::upload_file(f, operations)
}

/// Where each part of `f` goes, as [`PartLayout`] cuts it.
fn operations(config: &ApiConfig, f: &UploadFile) -> Vec<Value> {
    PartLayout::new(f.file_size, config.upload_part_bytes)
        .parts()
        .map(|p| {
            json!({
                "method": "PUT",
                "url": format!("{}/v1/uploads/{}/parts/{}", config.origin_base_url, f.id, p.number),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_file_exactly() {
        let mut config = ApiConfig::new("http://origin:9000/");
        config.upload_part_bytes = 4;
        let f = UploadFile {
            id: "f1".into(),
            version: "v1".into(),
            file_name: "a.aar".into(),
            file_size: 10,
            asset_type: AssetType::Asset,
            state: UploadFileState::AwaitingUpload,
            sha256: None,
            failure: None,
            reserved_at: packyard_core::catalog::Timestamp(0),
            committed_at: None,
        };
        let ops = operations(&config, &f);
        let spans: Vec<(u64, u64)> = ops
            .iter()
            .map(|o| (o["offset"].as_u64().unwrap(), o["length"].as_u64().unwrap()))
            .collect();
        assert_eq!(spans, vec![(0, 4), (4, 4), (8, 2)]);
        assert_eq!(ops[2]["url"], "http://origin:9000/v1/uploads/f1/parts/3");
        assert_eq!(ops[2]["partNumber"], 3);
    }
}
