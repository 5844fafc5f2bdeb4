//! Upload files (`backgroundAssetUploadFiles`): reserve (with the parts to send), read, and
//! commit with the SHA-256 of what was sent.

use packyard_core::catalog::{AssetType, UploadFileState};
use serde_json::{Value, json};

use crate::client::AdminClient;
use crate::document::{attribute, id_of, related_id, to_one};
use crate::error::AdminError;
use crate::upload::{Operation, operations, status_url};

/// `POST /v1/backgroundAssetUploadFiles`: a file of `file_size` bytes for `version`.
#[derive(Debug, Clone)]
pub struct NewUploadFile {
    /// The version's id.
    pub version: String,
    /// The file's name (`level-2.tar`).
    pub file_name: String,
    /// Its size in bytes, which the quota reserves (R9).
    pub file_size: u64,
    /// The archive, or a packaging manifest for an opaque archive.
    pub asset_type: AssetType,
}

impl NewUploadFile {
    /// The archive of `version`.
    pub fn asset(version: impl Into<String>, file_name: impl Into<String>, file_size: u64) -> Self {
        Self {
            version: version.into(),
            file_name: file_name.into(),
            file_size,
            asset_type: AssetType::Asset,
        }
    }

    /// The request document.
    pub fn document(&self) -> Value {
        json!({"data": {"type": "backgroundAssetUploadFiles",
            "attributes": {"fileName": self.file_name, "fileSize": self.file_size,
                "assetType": self.asset_type.as_str()},
            "relationships": {"backgroundAssetVersion":
                to_one("backgroundAssetVersions", &self.version)}}})
    }
}

/// A reserved upload file, and the parts it still takes.
#[derive(Debug, Clone)]
pub struct UploadFile {
    /// `data.id`.
    pub id: String,
    /// Its state.
    pub state: UploadFileState,
    /// The size it was reserved for.
    pub file_size: u64,
    /// The version it belongs to.
    pub version: String,
    /// The `PUT`s to make (none once committed), each URL signed for its part.
    pub operations: Vec<Operation>,
    /// Where the origin tells which parts it holds, signed for this file (none once
    /// committed).
    pub status_url: Option<String>,
    /// Where the file may be sent as chunks instead (its chunk list, then the chunks the
    /// store lacks), signed for this file (none once committed).
    pub chunks_url: Option<String>,
    /// The document the API answered.
    pub document: Value,
}

impl UploadFile {
    /// The upload file of a single-resource document.
    pub fn from_document(document: Value) -> Result<Self, AdminError> {
        let id = id_of(&document)?;
        let version = related_id(&document, "backgroundAssetVersion")
            .ok_or_else(|| AdminError::Malformed(format!("upload file {id} names no version")))?
            .to_owned();
        Ok(Self {
            state: attribute(&document, "state")?,
            file_size: document["data"]["attributes"]["fileSize"]
                .as_u64()
                .unwrap_or(0),
            operations: operations(&document)?,
            status_url: status_url(&document),
            chunks_url: document["data"]["attributes"]["uploadChunksUrl"]
                .as_str()
                .map(str::to_owned),
            version,
            id,
            document,
        })
    }
}

/// The `PATCH` that commits an upload file with its SHA-256 (hex).
pub fn commit_document(file: &str, sha256_hex: &str) -> Value {
    json!({"data": {"type": "backgroundAssetUploadFiles", "id": file, "attributes": {
        "uploaded": true,
        "sourceFileChecksums": {"file": {"hash": sha256_hex, "algorithm": "SHA_256"}}}}})
}

impl AdminClient {
    /// Reserves an upload file; the answer lists the parts to send.
    pub async fn reserve_upload(&self, file: &NewUploadFile) -> Result<UploadFile, AdminError> {
        let doc = self
            .post("/v1/backgroundAssetUploadFiles", file.document())
            .await?;
        UploadFile::from_document(doc)
    }

    /// One upload file.
    pub async fn upload_file(&self, id: &str) -> Result<UploadFile, AdminError> {
        UploadFile::from_document(
            self.get(&format!("/v1/backgroundAssetUploadFiles/{id}"))
                .await?,
        )
    }

    /// Commits an upload file: every part is sent and `sha256_hex` is the file's SHA-256.
    pub async fn commit_upload(
        &self,
        id: &str,
        sha256_hex: &str,
    ) -> Result<UploadFile, AdminError> {
        let doc = self
            .patch(
                &format!("/v1/backgroundAssetUploadFiles/{id}"),
                commit_document(id, sha256_hex),
            )
            .await?;
        UploadFile::from_document(doc)
    }
}
