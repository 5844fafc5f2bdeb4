//! [`EdgeService`]: one device request, in named phases.
//!
//! 1. **parse**: method and path into an [`Endpoint`], the query into a [`Query`].
//! 2. **authorize**: beta channels need a tester token for the app and channel; a version
//!    that the store channel does not serve needs a token for the beta channel that serves
//!    it (a token opens only what its channel serves).
//! 3. **resolve**: the serving state names the version (or the manifest's packs).
//! 4. **plan**: `http_range::plan` picks 200, 206, 304 or 416 from `Range`, `If-Range` and
//!    `If-None-Match`.
//! 5. **respond**: header fields, then the body streamed chunk by chunk from the cache.
//! 6. **log**: the request counted by endpoint and status.
//!
//! Every failure is an [`HttpError`], turned into a response in one place.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Request, Response};
use packyard_core::device_access::{self, Audience, Url, VersionRefusal};
use packyard_core::device_manifest::ManifestPolicy;
use packyard_core::http_range::RangeLimits;

use super::access;
use super::body::{self, ResponseBody};
use super::endpoint::{Endpoint, Query};
use super::error::HttpError;
use crate::metrics::EdgeMetrics;
use crate::served::ServedCounter;
use crate::state::{Channel, CompletedVersion, ServingState};
use crate::sync::{Chunks, TokenKeys};

/// The header a device may send its id in, instead of the `device` query parameter.
const DEVICE_HEADER: &str = "x-packyard-device";
/// The longest device id read; a longer one is cut (it still hashes to a stable bucket).
const MAX_DEVICE_ID: usize = 256;

/// What the edge's HTTP service needs: the state, the chunks, the token secret, settings.
#[derive(Debug, Clone)]
pub struct EdgeService {
    /// What the edge serves.
    pub state: Arc<RwLock<ServingState>>,
    /// The chunk cache and its source.
    pub chunks: Chunks,
    /// The tester-token public keys, once known.
    pub secret: TokenKeys,
    /// Where the edge's metrics go.
    pub metrics: EdgeMetrics,
    /// What devices were served, per version, for heartbeats.
    pub served: ServedCounter,
    /// How requests are answered.
    pub settings: ServeSettings,
    /// Where a line per request goes, if anywhere.
    pub access_log: Option<crate::access_log::AccessLog>,
}

/// Settings of the device protocol.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// Whether the device listeners answer `/metrics` (false when the edge has a metrics
    /// listener of its own, [`OperationsHandler`]).
    pub metrics_on_device_port: bool,
    /// The longest tester token lifetime (`exp - iat`) accepted, in seconds.
    pub max_token_lifetime_secs: u64,
    /// The edge's public base URLs (no trailing slash); manifests point at the first whose
    /// scheme matches the listener the request came through, else the first.
    pub public_urls: Vec<String>,
    /// Limits on `Range`.
    pub range_limits: RangeLimits,
    /// Which devices get localized packs.
    pub manifest_policy: ManifestPolicy,
    /// The time tokens expire by and the access log is stamped with.
    pub clock: packyard_net::node::Clock,
}

impl packyard_net::http::Handler for EdgeService {
    type Body = ResponseBody;

    fn call(
        &self,
        request: Request<packyard_net::http::TimedBody<hyper::body::Incoming>>,
        tls: bool,
    ) -> impl std::future::Future<Output = Response<ResponseBody>> + Send {
        self.handle(request, tls)
    }
}

/// The edge's operations listener (`metrics_addr`): `/metrics`, `/healthz` and `/readyz`,
/// nothing a device asks for.
#[derive(Debug)]
pub struct OperationsHandler(pub Arc<EdgeService>);

impl OperationsHandler {
    /// Answers one request to the operations listener.
    pub fn handle<B>(&self, request: &Request<B>) -> Response<ResponseBody> {
        let service = &self.0;
        let ok = request.method() == Method::GET || request.method() == Method::HEAD;
        let mut response = match request.uri().path() {
            "/metrics" if ok => text(service.metrics.render()),
            "/healthz" if ok => service.healthz(false),
            "/readyz" if ok => service.healthz(true),
            path => HttpError::NotFound(format!(
                "{path}: this listener serves /metrics, /healthz and /readyz only"
            ))
            .into_response(),
        };
        if request.method() == Method::HEAD {
            *response.body_mut() = body::empty();
        }
        response
    }
}

impl packyard_net::http::Handler for OperationsHandler {
    type Body = ResponseBody;

    fn call(
        &self,
        request: Request<packyard_net::http::TimedBody<hyper::body::Incoming>>,
        _tls: bool,
    ) -> impl std::future::Future<Output = Response<ResponseBody>> + Send {
        std::future::ready(self.handle(&request))
    }
}

/// A response before its body: what the log phase needs to know.
pub(in crate::http) type Answer = Result<Response<ResponseBody>, HttpError>;

impl EdgeService {
    /// Answers one request; `tls` says which listener it came through.
    pub async fn handle<B>(&self, request: Request<B>, tls: bool) -> Response<ResponseBody> {
        let started = Instant::now();
        let (parts, _body) = request.into_parts();
        let endpoint = Endpoint::parse(&parts.method, parts.uri.path());
        let name = endpoint.as_ref().map_or("Unknown", Endpoint::name);
        let answer = match endpoint {
            Ok(endpoint) => self.dispatch(endpoint, &parts, tls).await,
            Err(e) => Err(e),
        };
        let mut response = answer.unwrap_or_else(HttpError::into_response);
        if parts.method == Method::HEAD {
            *response.body_mut() = body::empty();
        }
        let elapsed = started.elapsed();
        self.metrics
            .request(name, response.status().as_u16(), elapsed);
        if let Some(log) = &self.access_log {
            let header = |h| {
                parts
                    .headers
                    .get(h)
                    .and_then(|v: &HeaderValue| v.to_str().ok())
            };
            // The declared length, else what the body knows of its own (a full body does).
            let bytes = response
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .or_else(|| hyper::body::Body::size_hint(response.body()).exact())
                .unwrap_or(0);
            log.record(&crate::access_log::Entry {
                time: self.settings.clock.now().to_rfc3339(),
                method: parts.method.as_str(),
                path: parts.uri.path(),
                endpoint: name,
                status: response.status().as_u16(),
                bytes,
                micros: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
                range: header(http::header::RANGE),
                scheme: if tls { "https" } else { "http" },
            });
        }
        response
    }

    async fn dispatch(&self, endpoint: Endpoint, parts: &Parts, tls: bool) -> Answer {
        let query = Query::parse(parts.uri.query());
        let token = access::token(&parts.headers, query.token.as_deref());
        let device = device_id(&parts.headers, query.device.as_deref());
        match endpoint {
            Endpoint::Healthz => Ok(self.healthz(false)),
            Endpoint::Readyz => Ok(self.healthz(true)),
            Endpoint::Metrics if self.settings.metrics_on_device_port => {
                Ok(text(self.metrics.render()))
            }
            Endpoint::Metrics => Err(HttpError::NotFound(
                "/metrics is served on this edge's metrics listener (metrics_addr)".into(),
            )),
            Endpoint::Manifest { app, channel } => {
                self.authorize_channel(&app, channel, token)?;
                self.manifest(&app, channel, &query, device, token, tls)
            }
            Endpoint::ChannelPack { app, channel, pack } => {
                self.authorize_channel(&app, channel, token)?;
                let version = self.resolve(
                    |s| s.channel_version(&app, channel, &pack, device),
                    || format!("the {channel} channel of app {app} serves no pack {pack:?}"),
                )?;
                self.served.record(&version, device);
                let cache = Audience::of(channel).cache_control(Url::Channel);
                self.bytes(version, parts, cache).await
            }
            Endpoint::Version { app, pack, number } => {
                let (version, cache) = self.immutable(&app, &pack, number, token)?;
                self.served.record(&version, device);
                self.bytes(version, parts, cache).await
            }
            Endpoint::ChunkList { app, pack, number } => {
                let (version, cache) = self.immutable(&app, &pack, number, token)?;
                self.chunk_list(&version, &parts.headers, cache)
            }
            Endpoint::Pieces { app, pack, number } => {
                let (version, cache) = self.immutable(&app, &pack, number, token)?;
                self.pieces(&version, query.chunks.as_deref(), cache).await
            }
        }
    }

    // ---- authorize ----

    fn token_policy<'a>(&'a self, revoked: &'a dyn Fn(&str) -> bool) -> access::TokenPolicy<'a> {
        access::TokenPolicy {
            keys: &self.secret,
            now: self.settings.clock.now_secs(),
            max_lifetime: self.settings.max_token_lifetime_secs,
            revoked,
        }
    }

    fn authorize_channel(
        &self,
        app: &str,
        channel: Channel,
        token: Option<&str>,
    ) -> Result<(), HttpError> {
        match channel.beta() {
            None => Ok(()),
            Some(beta) => self
                .token_policy(&|jti| self.read().is_revoked(jti))
                .check_channel(token, app, beta),
        }
    }

    /// A version by its immutable URL: public when the store serves it, else for testers of
    /// the beta channel that serves it (`packyard_core::device_access`).
    fn immutable(
        &self,
        app: &str,
        pack: &str,
        number: u32,
        token: Option<&str>,
    ) -> Result<(Arc<CompletedVersion>, &'static str), HttpError> {
        let (version, public) = {
            let state = self.read();
            let version = state.version(app, pack, number);
            let public = version.as_ref().is_some_and(|v| state.is_public(v));
            (version, public, state.is_synced())
        }
        .into_found(|| format!("app {app} has no version {number} of pack {pack:?}"))?;
        let audience = device_access::version_audience(
            public,
            || {
                self.token_policy(&|jti| self.read().is_revoked(jti))
                    .beta_channel(token, app)
            },
            |channel| self.read().channel_serves(&version, channel),
        )
        .map_err(|refusal| match refusal {
            VersionRefusal::Token(e) => e,
            VersionRefusal::NotServed { opened } => HttpError::Forbidden(format!(
                "this tester token opens the {opened} channel, which does not serve version \
                 {number} of pack {pack:?}; ask the {opened} channel's manifest for its version"
            )),
        })?;
        Ok((version, audience.cache_control(Url::Version)))
    }

    // ---- resolve ----

    pub(in crate::http) fn read(&self) -> std::sync::RwLockReadGuard<'_, ServingState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(in crate::http) fn resolve<T>(
        &self,
        find: impl FnOnce(&ServingState) -> Option<T>,
        what: impl FnOnce() -> String,
    ) -> Result<T, HttpError> {
        let state = self.read();
        match find(&state) {
            Some(found) => Ok(found),
            None if !state.is_synced() => Err(not_synced()),
            None => Err(HttpError::NotFound(what())),
        }
    }

    // ---- plan and respond ----
}

/// `(version, public, synced)` into the version or the right error.
trait IntoFound {
    fn into_found(
        self,
        what: impl FnOnce() -> String,
    ) -> Result<(Arc<CompletedVersion>, bool), HttpError>;
}

impl IntoFound for (Option<Arc<CompletedVersion>>, bool, bool) {
    fn into_found(
        self,
        what: impl FnOnce() -> String,
    ) -> Result<(Arc<CompletedVersion>, bool), HttpError> {
        match self {
            (Some(v), public, _) => Ok((v, public)),
            (None, _, false) => Err(not_synced()),
            (None, _, true) => Err(HttpError::NotFound(what())),
        }
    }
}

pub(in crate::http) fn not_synced() -> HttpError {
    HttpError::NotReady("this edge has not received the catalog yet; retry shortly".into())
}

/// The device's id: the `device` query parameter (SPEC §6), else the `X-Packyard-Device`
/// header; none when both are missing or empty. At most [`MAX_DEVICE_ID`] bytes are read.
fn device_id<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Option<&'a str> {
    let id = query.filter(|d| !d.is_empty()).or_else(|| {
        headers
            .get(DEVICE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|d| !d.is_empty())
    })?;
    let mut end = id.len().min(MAX_DEVICE_ID);
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    Some(&id[..end])
}

/// Sets header `name` to a value fixed in the code.
pub(in crate::http) fn set(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    headers.insert(name, HeaderValue::from_static(value));
}

/// Sets header `name` to a value made from the request or the catalog; one that cannot be
/// a header value is an internal error naming the header, never a response without it.
pub(in crate::http) fn set_computed(
    headers: &mut HeaderMap,
    name: HeaderName,
    value: &str,
) -> Result<(), HttpError> {
    let value = HeaderValue::from_str(value).map_err(|_| {
        HttpError::Internal(format!(
            "{value:?} cannot be the value of the {name} header"
        ))
    })?;
    headers.insert(name, value);
    Ok(())
}

pub(in crate::http) fn json(doc: Vec<u8>) -> Response<ResponseBody> {
    let mut response = Response::new(body::full(Bytes::from(doc)));
    set(response.headers_mut(), CONTENT_TYPE, "application/json");
    response
}

pub(in crate::http) fn text(page: String) -> Response<ResponseBody> {
    let mut response = Response::new(body::full(Bytes::from(page)));
    set(
        response.headers_mut(),
        CONTENT_TYPE,
        "text/plain; version=0.0.4",
    );
    response
}
