//! `webhooks` and their delivery logs: an app's Account Holder or Admins subscribe an http(s)
//! endpoint to the app's events, read what was sent to it, and delete it. The signing secret
//! is generated here and shown once, in the response that creates the webhook. A ping sends
//! one webhook a test event.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use packyard_core::catalog::{
    Actor, AppId, Catalog, Command, CreateWebhook, EventType, ResourceType, Webhook, WebhookId,
    WebhookSecret,
};
use packyard_core::webhook_target::WebhookUrl;
use serde::Deserialize;

use super::context::{Api, hex, new_id, random_bytes};
use super::document::{Rel, parse};
use super::error::ApiError;
use super::{not_found, render};
use crate::store::CatalogStore;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WebhookAttributes {
    url: String,
    /// Empty or absent: every event type.
    #[serde(default)]
    event_types: BTreeSet<EventType>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookRelationships {
    app: Rel,
}

/// A new signing secret: 256 bits from the system CSPRNG, prefixed so it is recognisable in
/// logs and secret scanners.
fn generate_secret() -> Result<WebhookSecret, ApiError> {
    Ok(WebhookSecret::new(format!(
        "pyw_{}",
        hex(&random_bytes::<32>()?)
    )))
}

/// `POST /v1/webhooks`: the secret is in `attributes.secret` of this response only.
pub(crate) async fn create<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<WebhookAttributes, WebhookRelationships>(body, "webhooks")?;
    let app = AppId::new(input.relationships.app.id("app", "apps")?);
    // The URL as the deliverer's HTTP client will read it; whether internal targets are
    // allowed is the operator's setting, which the catalog does not know.
    WebhookUrl::parse_target(
        &input.attributes.url,
        api.config.allow_private_webhook_targets,
    )
    .map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let id = WebhookId::new(new_id()?);
    let secret = generate_secret()?;
    let command = Command::CreateWebhook(CreateWebhook {
        id: id.clone(),
        app,
        url: input.attributes.url,
        secret: secret.clone(),
        event_types: input.attributes.event_types,
    });
    api.propose(actor, command).await?;
    let doc = api
        .read(move |c| {
            c.webhook(&id)
                .map(|w| render::webhook(w, Some(secret.expose())))
        })
        .await?;
    super::document::respond_created(doc, "webhook")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PingRelationships {
    webhook: Rel,
}

/// `POST /v1/webhookPings`: a `WEBHOOK_PING` event to the webhook named in
/// `relationships.webhook`, and to it only; 201 with the event's id, whose delivery shows in
/// the webhook's log like any other.
pub(crate) async fn ping<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<super::document::Nothing, PingRelationships>(body, "webhookPings")?;
    let webhook = WebhookId::new(input.relationships.webhook.id("webhook", "webhooks")?);
    let events = api
        .propose(
            actor,
            Command::PingWebhook {
                webhook: webhook.clone(),
            },
        )
        .await?;
    let event = events.first().map(|e| e.id.as_str().to_owned());
    let doc = event.map(|id| {
        serde_json::json!({
            "type": "webhookPings",
            "id": id,
            "relationships": {
                "webhook": {"data": {"type": "webhooks", "id": webhook.as_str()}},
            },
        })
    });
    super::document::respond_created(doc, "webhook ping")
}

/// The webhook, if `actor` may manage its app's webhooks.
fn visible_webhook<'c>(
    c: &'c Catalog,
    actor: &Actor,
    id: &WebhookId,
) -> Result<&'c Webhook, ApiError> {
    let webhook = c
        .webhook(id)
        .ok_or_else(|| not_found(ResourceType::Webhooks, id))?;
    c.may_read(actor, &webhook.app, ResourceType::Webhooks)?;
    Ok(webhook)
}

/// `GET /v1/webhooks/{id}`, without its secret.
pub(crate) async fn get<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: WebhookId,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    api.show(move |c| Ok(render::webhook(visible_webhook(c, &actor, &id)?, None)))
        .await
}

/// `DELETE /v1/webhooks/{id}`: nothing more is sent to it; its log goes with it.
pub(crate) async fn delete<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: WebhookId,
) -> Result<Response, ApiError> {
    api.propose(actor, Command::DeleteWebhook { id }).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v1/webhooks/{id}/deliveries`: the delivery log, newest first: every pending delivery
/// and the newest finished ones the catalog keeps, each with its attempts.
pub(crate) async fn deliveries<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: WebhookId,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    api.list(format!("/v1/webhooks/{id}/deliveries"), move |c| {
        visible_webhook(c, &actor, &id)?;
        let mut log: Vec<_> = c.deliveries_of(&id).map(render::delivery).collect();
        log.reverse();
        Ok(log)
    })
    .await
}

/// `GET /v1/apps/{id}/webhooks`, in id order.
pub(crate) async fn list<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    app: AppId,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    api.list(format!("/v1/apps/{app}/webhooks"), move |c| {
        c.may_read(&actor, &app, ResourceType::Webhooks)?;
        Ok(c.webhooks_of(&app)
            .map(|w| render::webhook(w, None))
            .collect())
    })
    .await
}
