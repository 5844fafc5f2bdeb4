//! [`Job`]: one due delivery with everything needed to send it, and [`Job::send`], one
//! signed POST turned into the outcome the catalog records.

use std::time::Duration;

use packyard_core::catalog::webhook::sign;
use packyard_core::catalog::{AttemptOutcome, Catalog, Delivery, DeliveryId, WebhookId};
use packyard_core::webhook_target::{internal_address, literal_address};
use reqwest::header::CONTENT_TYPE;

/// The header carrying `sha256=<hex HMAC-SHA256 of the body>` under the webhook's secret.
pub const SIGNATURE_HEADER: &str = "X-Packyard-Signature";
/// The header naming the event type (`BACKGROUND_ASSET_ARCHIVED` …).
pub const EVENT_HEADER: &str = "X-Packyard-Event";
/// The header carrying the delivery id, the same on every retry of that delivery.
pub const DELIVERY_HEADER: &str = "X-Packyard-Delivery";

/// A due delivery, copied out of the catalog so sending holds no lock.
#[derive(Debug, Clone)]
pub struct Job {
    /// The delivery.
    pub delivery: DeliveryId,
    /// Its webhook.
    pub webhook: WebhookId,
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
            url: webhook.url.clone(),
            event_type: delivery.event.kind.as_str(),
            signature: sign(&webhook.secret, &body),
            body,
        })
    }

    /// POSTs the body once. A 2xx is delivered; any other status, a timeout or a network
    /// error is a failed attempt, described for the delivery log. Unless `private_ok`, a URL
    /// naming an internal address is a failed attempt without a connection (host names are
    /// checked by the client's resolver, [`super::PublicResolver`]).
    pub async fn send(
        &self,
        client: &reqwest::Client,
        timeout: Duration,
        private_ok: bool,
    ) -> AttemptOutcome {
        if !private_ok
            && let Some(ip) = literal_address(&self.url)
            && let Some(why) = internal_address(ip)
        {
            return AttemptOutcome::Failed {
                status: None,
                error: format!(
                    "{ip} is {why}; webhooks are not sent into the cluster's own network \
                     unless the operator sets [webhooks] allow_private_addresses"
                ),
            };
        }
        let sent = client
            .post(&self.url)
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
