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

    /// The same file, its URLs pointed at another origin of the cluster (`base`,
    /// `http[s]://HOST[:PORT]`): every origin takes any upload's parts and chunks, and the
    /// credentials the URLs carry do not name a host. For an origin the control plane's URL
    /// does not reach (down, or behind another address).
    pub fn through_origin(mut self, base: &str) -> Result<Self, AdminError> {
        let base = reqwest::Url::parse(base)
            .ok()
            .filter(|u| u.has_host() && matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                AdminError::Malformed(format!(
                    "{base} is not an origin's address; write http[s]://HOST[:PORT]"
                ))
            })?;
        let moved = |given: &str| -> Result<String, AdminError> {
            let mut url = reqwest::Url::parse(given)
                .map_err(|e| AdminError::Malformed(format!("the upload URL {given}: {e}")))?;
            let refused = || AdminError::Malformed(format!("cannot send {given} to {base}"));
            url.set_scheme(base.scheme()).map_err(|()| refused())?;
            url.set_host(base.host_str()).map_err(|_| refused())?;
            url.set_port(base.port()).map_err(|()| refused())?;
            Ok(url.into())
        };
        for op in &mut self.operations {
            op.url = moved(&op.url)?;
        }
        self.status_url = self.status_url.as_deref().map(moved).transpose()?;
        self.chunks_url = self.chunks_url.as_deref().map(moved).transpose()?;
        Ok(self)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reserved() -> UploadFile {
        let signed = "http://origin-1:7200/v1/uploads/f1";
        UploadFile::from_document(json!({"data": {
            "type": "backgroundAssetUploadFiles", "id": "f1",
            "attributes": {
                "state": "AWAITING_UPLOAD", "fileSize": 10,
                "uploadOperations": [{"method": "PUT", "url": format!("{signed}/parts/1?c=abc"),
                                      "offset": 0, "length": 10, "partNumber": 1}],
                "uploadStatusUrl": format!("{signed}?c=def"),
                "uploadChunksUrl": format!("{signed}/chunks?c=ghi")},
            "relationships": {"backgroundAssetVersion": {"data": {
                "type": "backgroundAssetVersions", "id": "v1"}}}}}))
        .unwrap()
    }

    #[test]
    fn through_another_origin_every_url_keeps_its_path_and_credential() {
        let moved = reserved()
            .through_origin("https://origin-2.example:7443")
            .unwrap();
        assert_eq!(
            moved.operations[0].url,
            "https://origin-2.example:7443/v1/uploads/f1/parts/1?c=abc"
        );
        assert_eq!(
            moved.status_url.as_deref(),
            Some("https://origin-2.example:7443/v1/uploads/f1?c=def")
        );
        assert_eq!(
            moved.chunks_url.as_deref(),
            Some("https://origin-2.example:7443/v1/uploads/f1/chunks?c=ghi")
        );
        let default_port = reserved().through_origin("http://10.0.0.2").unwrap();
        assert_eq!(
            default_port.status_url.as_deref(),
            Some("http://10.0.0.2/v1/uploads/f1?c=def")
        );
    }

    #[test]
    fn an_origin_that_is_not_an_http_address_is_refused_naming_it() {
        for bad in ["origin-2:7200", "ftp://origin-2", "not a url"] {
            let err = reserved().through_origin(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
        }
    }
}
