//! [`Transport`]: how the deliverer sends one job, and [`HttpTransport`], the signed POST over
//! HTTP that nodes send with. Tests put a recording transport in its place, so the retry
//! schedule can run on paused Tokio time without a socket.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use packyard_core::catalog::AttemptOutcome;

use super::attempt::Job;
use super::config::DelivererConfig;

/// Sends a due delivery once and says what came of it: delivered, or failed and why.
pub trait Transport: Send + Sync + 'static {
    /// One attempt at `job`.
    fn send(&self, job: &Job) -> impl Future<Output = AttemptOutcome> + Send;
}

/// Deliveries as signed HTTP POSTs ([`Job::send`]), each within the configured timeout.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    timeout: Duration,
    private_ok: bool,
}

impl HttpTransport {
    /// The transport `config` asks for. Its HTTP client follows no redirects (a 3xx is a
    /// failed attempt, so a signed body is never re-sent somewhere the webhook did not name),
    /// goes through no proxy (a proxy from the environment would resolve and connect to the
    /// host itself, past every check), sends a user agent that names Packyard, and, unless
    /// `config` allows private addresses, resolves host names to public addresses only
    /// ([`super::PublicResolver`]) and connects to those.
    pub fn new(config: &DelivererConfig) -> reqwest::Result<Self> {
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("packyard-webhooks/", env!("CARGO_PKG_VERSION")));
        let builder = if config.allow_private_addresses {
            builder
        } else {
            builder.dns_resolver(Arc::new(super::PublicResolver))
        };
        Ok(Self {
            client: builder.build()?,
            timeout: config.request_timeout(),
            private_ok: config.allow_private_addresses,
        })
    }
}

impl Transport for HttpTransport {
    fn send(&self, job: &Job) -> impl Future<Output = AttemptOutcome> + Send {
        job.send(&self.client, self.timeout, self.private_ok)
    }
}
