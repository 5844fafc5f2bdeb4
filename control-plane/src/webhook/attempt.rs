//! [`Job`]: one due delivery with everything needed to send it, and [`Job::send`], one
//! signed POST turned into the outcome the catalog records.

use std::time::Duration;

use packyard_core::catalog::webhook::sign;
use packyard_core::catalog::{AppId, AttemptOutcome, Catalog, Delivery, DeliveryId, WebhookId};
use packyard_core::webhook_target::WebhookUrl;
use reqwest::header::CONTENT_TYPE;

use super::public_resolver::NoPublicAddress;

/// The header carrying `sha256=<hex HMAC-SHA256 of the body>` under the webhook's secret.
pub const SIGNATURE_HEADER: &str = "X-Packyard-Signature";
/// The header naming the event type (`BACKGROUND_ASSET_ARCHIVED` …).
pub const EVENT_HEADER: &str = "X-Packyard-Event";
/// The header carrying the delivery id, the same on every retry of that delivery.
pub const DELIVERY_HEADER: &str = "X-Packyard-Delivery";

/// What the delivery log says of an attempt refused because its target is (or resolves
/// into) the cluster's own network, or does not resolve. Nothing more: no address, no
/// connect error, so the log cannot be used to map the cluster's network or its names.
pub const REFUSED_TARGET: &str = "not sent: the host has no public address (it is or resolves \
     to an address in the cluster's own network, or it does not resolve); webhooks are not \
     sent into the cluster's own network unless the operator sets [webhooks] \
     allow_private_addresses";

/// A due delivery, copied out of the catalog so sending holds no lock.
#[derive(Debug, Clone)]
pub struct Job {
    /// The delivery.
    pub delivery: DeliveryId,
    /// Its webhook.
    pub webhook: WebhookId,
    /// The webhook's app, whose turn it is to use a delivery slot.
    pub app: AppId,
    /// Where it goes.
    pub url: String,
    /// The event type, for the header.
    pub event_type: &'static str,
    /// The exact bytes sent.
    pub body: Vec<u8>,
    /// The signature header's value.
    pub signature: String,
}

impl Job {
    /// The job of `delivery`, if its webhook still exists.
    pub fn of(catalog: &Catalog, delivery: &Delivery) -> Option<Self> {
        let webhook = catalog.webhook(&delivery.webhook)?;
        let body = delivery.body();
        Some(Self {
            delivery: delivery.id.clone(),
            webhook: webhook.id.clone(),
            app: webhook.app.clone(),
            url: webhook.url.clone(),
            event_type: delivery.event.kind.as_str(),
            signature: sign(&webhook.secret, &body),
            body,
        })
    }

    /// POSTs the body once. A 2xx is delivered; any other status, a timeout or a network
    /// error is a failed attempt, described for the delivery log. The URL is read as it was
    /// when the webhook was created ([`WebhookUrl`]) and handed to the client parsed, so the
    /// client connects to the host checked. Unless `private_ok`, a host written as an
    /// internal address is refused here, without a connection, and a name by the client's
    /// resolver ([`super::PublicResolver`]); either is recorded as [`REFUSED_TARGET`] only.
    pub async fn send(
        &self,
        client: &reqwest::Client,
        timeout: Duration,
        private_ok: bool,
    ) -> AttemptOutcome {
        let url = match WebhookUrl::parse(&self.url) {
            Ok(url) => url,
            Err(e) => {
                return AttemptOutcome::Failed {
                    status: None,
                    error: format!("not sent: the webhook's URL {e}"),
                };
            }
        };
        if !private_ok && url.check_address().is_err() {
            return refused();
        }
        let sent = client
            .post(url.url().clone())
            .timeout(timeout)
            .header(CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, &self.signature)
            .header(EVENT_HEADER, self.event_type)
            .header(DELIVERY_HEADER, self.delivery.as_str())
            .body(self.body.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => AttemptOutcome::Delivered {
                status: response.status().as_u16(),
            },
            Ok(response) => AttemptOutcome::Failed {
                status: Some(response.status().as_u16()),
                error: format!(
                    "the endpoint answered {}; any 2xx status confirms a delivery",
                    response.status()
                ),
            },
            Err(e) if caused_by_refusal(&e) => refused(),
            Err(e) if e.is_timeout() => AttemptOutcome::Failed {
                status: None,
                error: format!(
                    "the endpoint did not answer within {} ms",
                    timeout.as_millis()
                ),
            },
            Err(e) => AttemptOutcome::Failed {
                status: None,
                error: format!("the endpoint could not be reached: {}", error_chain(&e)),
            },
        }
    }
}

/// The outcome of an attempt whose target is refused: [`REFUSED_TARGET`], nothing more.
fn refused() -> AttemptOutcome {
    AttemptOutcome::Failed {
        status: None,
        error: REFUSED_TARGET.to_owned(),
    }
}

/// Whether the resolver refused the request's host ([`NoPublicAddress`] among its causes).
fn caused_by_refusal(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause.is::<NoPublicAddress>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// An error and its causes, `: `-separated.
fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
