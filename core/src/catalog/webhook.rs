//! [`Webhook`]: an endpoint subscribed to an app's events, the commands that create and
//! delete one, and the pure pieces of delivering to it: the [`payload`] of an event and its
//! [`sign`]ature.
//!
//! Webhooks are a transactional outbox inside the catalog: the command that emits an event
//! also queues one [`Delivery`](super::Delivery) per matching webhook, in the same apply, so
//! whichever node leads later finds every delivery it owes in the replicated state.

use std::collections::BTreeSet;
use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

use super::*;

/// The fewest bytes a webhook secret has: 256 bits, the HMAC-SHA256 block it keys.
pub const MIN_WEBHOOK_SECRET_LEN: usize = 32;

pub use crate::webhook_target::MAX_WEBHOOK_URL_LEN;
use crate::webhook_target::WebhookUrl;

/// The key that signs a webhook's bodies. Its `Debug` hides it, so logs never carry it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Wraps a secret generated elsewhere (the API draws it from the system CSPRNG).
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for signing and for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

/// An endpoint that receives an app's events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// Its id.
    pub id: WebhookId,
    /// The app whose events it receives.
    pub app: AppId,
    /// Where events are POSTed.
    pub url: String,
    /// The key of the `X-Packyard-Signature` HMAC.
    pub secret: WebhookSecret,
    /// The event types it receives; empty means all.
    pub event_types: BTreeSet<EventType>,
    /// When it was created.
    pub created: Timestamp,
    /// Who created it.
    pub created_by: Actor,
}

impl Webhook {
    /// Whether this webhook receives `event`.
    pub fn wants(&self, event: &Event) -> bool {
        if event.kind == EventType::WebhookPing {
            return event.instance.id == self.id.as_str();
        }
        event.app == self.app
            && (self.event_types.is_empty() || self.event_types.contains(&event.kind))
    }
}

impl Catalog {
    /// `CreateWebhook`: the app's Account Holder or an Admin subscribes an http(s) endpoint,
    /// its URL read as the HTTP client reads it ([`WebhookUrl`]), within the app's
    /// `max_webhooks_per_app`. Whether it names an internal address depends on the
    /// operator's setting, so the admin API checks that before proposing.
    pub(super) fn create_webhook(
        &mut self,
        ctx: &Ctx,
        new: CreateWebhook,
    ) -> Result<Vec<Event>, Refusal> {
        let webhook = Webhook {
            id: new.id,
            app: new.app,
            url: new.url,
            secret: new.secret,
            event_types: new.event_types,
            created: ctx.at,
            created_by: ctx.actor.clone(),
        };
        self.find_app(&webhook.app)?;
        self.authorize(&ctx.actor, &webhook.app, Action::ManageWebhooks)?;
        self.unused(&self.webhooks, &webhook.id, ResourceType::Webhooks)?;
        WebhookUrl::parse(&webhook.url).map_err(|e| Refusal::invalid("url", e.to_string()))?;
        let limit = self.limits.max_webhooks_per_app;
        if self.webhooks_of(&webhook.app).count() >= limit {
            return Err(Refusal::by_rule(
                Rule::R14,
                format!(
                    "this app already has {limit} webhooks, the limit (quota.max_webhooks_per_app); \
                 delete one it no longer needs, or subscribe one endpoint to more event types"
                ),
            ));
        }
        let len = webhook.secret.expose().len();
        if len < MIN_WEBHOOK_SECRET_LEN {
            return Err(Refusal::invalid(
                "secret",
                format!(
                    "has {len} bytes; a webhook secret needs at least {MIN_WEBHOOK_SECRET_LEN}"
                ),
            ));
        }
        self.webhooks.insert(webhook.id.clone(), webhook);
        Ok(Vec::new())
    }

    /// `DeleteWebhook`: the webhook goes, with its pending deliveries and its log; nothing
    /// more is sent to it.
    pub(super) fn delete_webhook(
        &mut self,
        ctx: &Ctx,
        id: &WebhookId,
    ) -> Result<Vec<Event>, Refusal> {
        self.managed_webhook(&ctx.actor, id)?;
        self.webhooks.remove(id);
        self.deliveries.retain(|_, d| &d.webhook != id);
        Ok(Vec::new())
    }

    /// `PingWebhook`: whoever manages the webhook sends it a test event (`WEBHOOK_PING`),
    /// delivered, signed, retried and logged like any other, to this webhook only.
    pub(super) fn ping_webhook(
        &mut self,
        ctx: &Ctx,
        id: &WebhookId,
    ) -> Result<Vec<Event>, Refusal> {
        let webhook = self.managed_webhook(&ctx.actor, id)?;
        let mut event = ctx.event(
            EventType::WebhookPing,
            webhook.app.clone(),
            ResourceType::Webhooks,
            id.as_str(),
            None,
            None,
        );
        event.detail = Some(format!(
            "a test event sent by {}",
            super::release::actor_name(self, &ctx.actor)
        ));
        Ok(vec![event])
    }

    /// The webhook `id`, if `actor` may manage its app's webhooks.
    fn managed_webhook(&self, actor: &Actor, id: &WebhookId) -> Result<&Webhook, Refusal> {
        let webhook = self.find_webhook(id)?;
        self.authorize(actor, &webhook.app, Action::ManageWebhooks)?;
        Ok(webhook)
    }

    pub(super) fn find_webhook(&self, id: &WebhookId) -> Result<&Webhook, Refusal> {
        self.webhooks
            .get(id)
            .ok_or_else(|| Refusal::not_found(ResourceType::Webhooks, id))
    }
}

/// Refuses a URL (the member `field`: an edge's public URLs) that is not an absolute `http://`
/// or `https://` URL with a host. Webhook URLs are read by [`WebhookUrl`] instead.
pub(super) fn check_url(field: &str, url: &str) -> Result<(), Refusal> {
    let refuse = |why: &str| Err(Refusal::invalid(field, why.to_owned()));
    if url.len() > MAX_WEBHOOK_URL_LEN {
        return refuse("is longer than 2048 bytes; use a shorter URL");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("contains spaces or control characters; percent-encode them");
    }
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return refuse("must start with http:// or https://");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return refuse("has no host; give a URL such as https://host.example.com/path");
    }
    Ok(())
}

/// The body a webhook receives for `event`, in the shape of SPEC §5:
/// `{type, id, attributes: {timestamp, oldState, newState}, relationships: {instance: {type, id}}}`.
pub fn payload(event: &Event) -> Value {
    json!({
        "type": event.kind,
        "id": event.id,
        "attributes": {
            "timestamp": event.timestamp.to_rfc3339(),
            "oldState": event.old_state,
            "newState": event.new_state,
        },
        "relationships": {
            "instance": { "type": event.instance.resource, "id": event.instance.id },
        },
    })
}

/// The `X-Packyard-Signature` header of `body`: `sha256=` and the hex HMAC-SHA256 of the
/// body under the webhook's secret. Receivers recompute it over the raw body they received.
pub fn sign(secret: &WebhookSecret, body: &[u8]) -> String {
    // HMAC takes keys of every length; ours are checked to be long enough on creation.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of every length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}
