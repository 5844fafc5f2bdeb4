//! Asset packs (`backgroundAssets`): create, read, list, archive (R7).

use serde_json::{Value, json};

use super::resource::Pack;
use crate::client::AdminClient;
use crate::document::to_one;
use crate::error::AdminError;

/// `POST /v1/backgroundAssets`: a pack `identifier` in `app`.
#[derive(Debug, Clone)]
pub struct NewPack {
    /// The app's id.
    pub app: String,
    /// The pack's identifier (`level-2`), as the packaging manifest names it.
    pub identifier: String,
}

impl NewPack {
    /// A pack `identifier` in `app`.
    pub fn new(app: impl Into<String>, identifier: impl Into<String>) -> Self {
        Self {
            app: app.into(),
            identifier: identifier.into(),
        }
    }

    /// The request document.
    pub fn document(&self) -> Value {
        json!({"data": {"type": "backgroundAssets",
            "attributes": {"assetPackIdentifier": self.identifier},
            "relationships": {"app": to_one("apps", &self.app)}}})
    }
}

impl AdminClient {
    /// Creates a pack.
    pub async fn create_pack(&self, pack: &NewPack) -> Result<Pack, AdminError> {
        Pack::from_document(self.post("/v1/backgroundAssets", pack.document()).await?)
    }

    /// One pack.
    pub async fn pack(&self, id: &str) -> Result<Pack, AdminError> {
        Pack::from_document(self.get(&format!("/v1/backgroundAssets/{id}")).await?)
    }

    /// An app's packs, archived ones or live ones (resource objects).
    pub async fn packs(&self, app: &str, archived: bool) -> Result<Vec<Value>, AdminError> {
        self.get_all(&format!(
            "/v1/apps/{app}/backgroundAssets?filter[archived]={archived}"
        ))
        .await
    }

    /// Archives a pack: every version leaves every channel, for good (R7).
    pub async fn archive_pack(&self, id: &str) -> Result<Pack, AdminError> {
        let body = json!({"data": {"type": "backgroundAssets", "id": id,
            "attributes": {"archived": true}}});
        Pack::from_document(
            self.patch(&format!("/v1/backgroundAssets/{id}"), body)
                .await?,
        )
    }
}
