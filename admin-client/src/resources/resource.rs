//! [`Resource`]: a created or fetched resource's id, with its whole document.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::document::{attribute, id_of};
use crate::error::AdminError;

/// A resource whose callers need its id (apps, packs, builds, users); the whole document
/// stays at hand for printing and for tests that check it.
#[derive(Debug, Clone)]
pub struct Resource {
    /// `data.id`.
    pub id: String,
    /// The document the API answered.
    pub document: Value,
}

impl Resource {
    /// The resource of a single-resource document.
    pub fn from_document(document: Value) -> Result<Self, AdminError> {
        Ok(Self {
            id: id_of(&document)?,
            document,
        })
    }

    /// `data.attributes`.
    pub fn attributes(&self) -> &Value {
        &self.document["data"]["attributes"]
    }
}

/// A resource whose callers follow its `state` (review submissions, rollouts).
#[derive(Debug, Clone)]
pub struct Stateful<S> {
    /// `data.id`.
    pub id: String,
    /// `data.attributes.state`.
    pub state: S,
    /// The document the API answered.
    pub document: Value,
}

impl<S: DeserializeOwned> Stateful<S> {
    /// The resource of a single-resource document.
    pub fn from_document(document: Value) -> Result<Self, AdminError> {
        Ok(Self {
            id: id_of(&document)?,
            state: attribute(&document, "state")?,
            document,
        })
    }
}

/// An app (`apps`).
pub type App = Resource;
/// An asset pack (`backgroundAssets`).
pub type Pack = Resource;
/// A build of an app (`builds`).
pub type Build = Resource;
/// A user (`users`).
pub type User = Resource;
