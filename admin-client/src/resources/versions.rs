//! Pack versions (`backgroundAssetVersions`): create (the number is assigned), read, list,
//! and the state of each release track.

use packyard_core::catalog::VersionState;
use serde_json::{Value, json};

use crate::client::AdminClient;
use crate::document::{attribute, id_of, to_one};
use crate::error::AdminError;

/// A version, with its number and state.
#[derive(Debug, Clone)]
pub struct Version {
    /// `data.id`.
    pub id: String,
    /// The number the control plane assigned (1, 2, … per pack, R11).
    pub number: u64,
    /// Its processing state.
    pub state: VersionState,
    /// The document the API answered.
    pub document: Value,
}

impl Version {
    /// The version of a single-resource document.
    pub fn from_document(document: Value) -> Result<Self, AdminError> {
        let number = match &document["data"]["attributes"]["version"] {
            // The hosted API spells version numbers as strings; Packyard as numbers.
            Value::String(s) => s.parse().ok(),
            other => other.as_u64(),
        }
        .ok_or_else(|| AdminError::Malformed(format!("the version has no number: {document}")))?;
        Ok(Self {
            id: id_of(&document)?,
            number,
            state: attribute(&document, "state")?,
            document,
        })
    }

    /// `data.attributes`.
    pub fn attributes(&self) -> &Value {
        &self.document["data"]["attributes"]
    }
}

/// A version's release tracks, each its own resource under the version's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    /// Internal testing (`backgroundAssetVersionInternalBetaReleases`).
    Internal,
    /// External testing (`backgroundAssetVersionExternalBetaReleases`).
    External,
    /// The store (`backgroundAssetVersionAppStoreReleases`).
    Store,
}

impl Track {
    /// Every track, in release order.
    pub const ALL: [Track; 3] = [Track::Internal, Track::External, Track::Store];

    /// The version's relationship that names this track's record.
    pub fn relationship(self) -> &'static str {
        match self {
            Track::Internal => "internalBetaRelease",
            Track::External => "externalBetaRelease",
            Track::Store => "appStoreRelease",
        }
    }

    /// The resource type of this track's records.
    pub fn resource(self) -> &'static str {
        match self {
            Track::Internal => "backgroundAssetVersionInternalBetaReleases",
            Track::External => "backgroundAssetVersionExternalBetaReleases",
            Track::Store => "backgroundAssetVersionAppStoreReleases",
        }
    }
}

/// The body of `POST /v1/backgroundAssetVersions` for `pack`.
pub fn new_version_document(pack: &str) -> Value {
    json!({"data": {"type": "backgroundAssetVersions",
        "relationships": {"backgroundAsset": to_one("backgroundAssets", pack)}}})
}

impl AdminClient {
    /// Creates a version of `pack`, AWAITING_UPLOAD.
    pub async fn create_version(&self, pack: &str) -> Result<Version, AdminError> {
        let doc = self
            .post("/v1/backgroundAssetVersions", new_version_document(pack))
            .await?;
        Version::from_document(doc)
    }

    /// One version.
    pub async fn version(&self, id: &str) -> Result<Version, AdminError> {
        Version::from_document(
            self.get(&format!("/v1/backgroundAssetVersions/{id}"))
                .await?,
        )
    }

    /// Every version of `pack` (resource objects), every page.
    pub async fn versions(&self, pack: &str) -> Result<Vec<Value>, AdminError> {
        self.get_all(&format!("/v1/backgroundAssets/{pack}/versions"))
            .await
    }

    /// The release record of `version` on `track` (the document).
    pub async fn release(&self, track: Track, version: &str) -> Result<Value, AdminError> {
        self.get(&format!("/v1/{}/{version}", track.resource()))
            .await
    }
}
