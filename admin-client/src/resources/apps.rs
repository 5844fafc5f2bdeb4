//! Apps and builds: [`NewApp`], [`NewBuild`], and the calls that create, read and list them.

use packyard_core::catalog::BuildChannel;
use serde_json::{Value, json};

use super::resource::{App, Build};
use crate::client::AdminClient;
use crate::document::to_one;
use crate::error::AdminError;

/// `POST /v1/apps`: the caller becomes the app's Account Holder.
#[derive(Debug, Clone)]
pub struct NewApp {
    /// The app's name.
    pub name: String,
    /// Its bundle id, unique in the cluster.
    pub bundle_id: String,
    /// Its primary language (BCP-47); `en-US` unless set.
    pub primary_language: String,
}

impl NewApp {
    /// An app named `name` with `bundle_id`, primary language `en-US`.
    pub fn new(name: impl Into<String>, bundle_id: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            bundle_id: bundle_id.into(),
            primary_language: "en-US".to_owned(),
        }
    }

    /// Another primary language.
    pub fn primary_language(mut self, language: impl Into<String>) -> Self {
        self.primary_language = language.into();
        self
    }

    /// The request document.
    pub fn document(&self) -> Value {
        json!({"data": {"type": "apps", "attributes": {"name": self.name,
            "bundleId": self.bundle_id, "primaryLanguage": self.primary_language}}})
    }
}

/// `POST /v1/builds`: a build of an app on some channels (rule R4).
#[derive(Debug, Clone)]
pub struct NewBuild {
    /// The app's id.
    pub app: String,
    /// The build number (`100`, `1.2.3`).
    pub number: String,
    /// The channels it is available on.
    pub channels: Vec<BuildChannel>,
}

impl NewBuild {
    /// The request document.
    pub fn document(&self) -> Value {
        let channels: Vec<&str> = self.channels.iter().map(|c| c.as_str()).collect();
        json!({"data": {"type": "builds",
            "attributes": {"buildNumber": self.number, "channels": channels},
            "relationships": {"app": to_one("apps", &self.app)}}})
    }
}

impl AdminClient {
    /// Creates an app.
    pub async fn create_app(&self, app: &NewApp) -> Result<App, AdminError> {
        App::from_document(self.post("/v1/apps", app.document()).await?)
    }

    /// One app, with the bytes its packs use.
    pub async fn app(&self, id: &str) -> Result<App, AdminError> {
        App::from_document(self.get(&format!("/v1/apps/{id}")).await?)
    }

    /// Every app this key may see (each a resource object, not a document).
    pub async fn apps(&self) -> Result<Vec<Value>, AdminError> {
        self.get_all("/v1/apps").await
    }

    /// The builds of an app (each a resource object).
    pub async fn builds(&self, app: &str) -> Result<Vec<Value>, AdminError> {
        self.get_all(&format!("/v1/apps/{app}/builds")).await
    }

    /// The edge fleet, each edge with its state (operators).
    pub async fn edges(&self) -> Result<Vec<Value>, AdminError> {
        self.get_all("/v1/edges").await
    }

    /// One edge (the document).
    pub async fn edge(&self, id: &str) -> Result<Value, AdminError> {
        self.get(&format!("/v1/edges/{id}")).await
    }

    /// The regions the edges serve, with how many are up (operators).
    pub async fn regions(&self) -> Result<Vec<Value>, AdminError> {
        self.get_all("/v1/regions").await
    }

    /// Registers a build of an app.
    pub async fn create_build(&self, build: &NewBuild) -> Result<Build, AdminError> {
        Build::from_document(self.post("/v1/builds", build.document()).await?)
    }
}
