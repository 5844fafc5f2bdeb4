//! Webhooks: an app's Account Holder or Admins subscribe an http(s) endpoint to the app's
//! events, read the delivery log, and delete it.

use serde_json::{Value, json};

use crate::client::AdminClient;
use crate::error::AdminError;

/// A webhook to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// The app whose events are sent.
    pub app: String,
    /// Where they are sent.
    pub url: String,
    /// Which event types (`BACKGROUND_ASSET_ARCHIVED` …); empty for every one.
    pub event_types: Vec<String>,
}

impl NewWebhook {
    fn document(&self) -> Value {
        json!({"data": {"type": "webhooks",
            "attributes": {"url": self.url, "eventTypes": self.event_types},
            "relationships": {"app": {"data": {"type": "apps", "id": self.app}}}}})
    }
}

impl AdminClient {
    /// Creates a webhook; the document's `attributes.secret` is shown this once.
    pub async fn create_webhook(&self, webhook: &NewWebhook) -> Result<Value, AdminError> {
        self.post("/v1/webhooks", webhook.document()).await
    }

    /// The webhooks of an app (each a resource object).
    pub async fn webhooks(&self, app: &str) -> Result<Vec<Value>, AdminError> {
        self.get_all(&format!("/v1/apps/{app}/webhooks")).await
    }

    /// One webhook, without its secret (the document).
    pub async fn webhook(&self, id: &str) -> Result<Value, AdminError> {
        self.get(&format!("/v1/webhooks/{id}")).await
    }

    /// Deletes a webhook: nothing more is sent to it.
    pub async fn delete_webhook(&self, id: &str) -> Result<(), AdminError> {
        self.delete(&format!("/v1/webhooks/{id}")).await.map(drop)
    }

    /// Sends the webhook, and only it, a test event (`WEBHOOK_PING`); the document names the
    /// event, whose delivery shows in the webhook's log.
    pub async fn ping_webhook(&self, id: &str) -> Result<Value, AdminError> {
        let body = serde_json::json!({"data": {"type": "webhookPings", "relationships": {
            "webhook": {"data": {"type": "webhooks", "id": id}}}}});
        self.post("/v1/webhookPings", body).await
    }

    /// A webhook's delivery log, newest first (each a resource object).
    pub async fn webhook_deliveries(&self, id: &str) -> Result<Vec<Value>, AdminError> {
        self.get_all(&format!("/v1/webhooks/{id}/deliveries")).await
    }
}
