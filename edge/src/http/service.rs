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
use http::header::{
    ACCEPT, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG,
    HeaderName, IF_NONE_MATCH, IF_RANGE, RANGE, VARY,
};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use packyard_core::chunk_list::COMPACT_MEDIA_TYPE;
use packyard_core::device_access::{self, Audience, Url, VersionRefusal};
use packyard_core::device_manifest::{self, DeviceQuery, ManifestPolicy, OsVersion, UrlBase};
use packyard_core::http_range::{self, Boundary, Conditions, Plan, RangeLimits, Segment};
use packyard_core::{LanguageTag, Platform, pieces};

use super::access;
use super::body::{self, ResponseBody};
use super::endpoint::{Endpoint, Query};
use super::error::HttpError;
use crate::metrics::EdgeMetrics;
use crate::served::ServedCounter;
use crate::state::{Channel, CompletedVersion, ServingState};
use crate::sync::{Chunks, TokenKeys};

const OCTET_STREAM: &str = "application/octet-stream";
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
type Answer = Result<Response<ResponseBody>, HttpError>;

impl EdgeService {
    /// Answers one request; `tls` says which listener it came through.
    pub async fn handle<B>(&self, request: Request<B>, tls: bool) -> Response<ResponseBody> {
        let started = Instant::now();
        let (parts, _body) = request.into_parts();
        let endpoint = Endpoint::parse(&parts.method, parts.uri.path());
        let name = endpoint.as_ref().map_or("unknown", Endpoint::name);
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
                time: crate::access_log::timestamp(std::time::SystemTime::now()),
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
                // A device asks for the compact form; anything else gets the JSON document.
                let compact = parts
                    .headers
                    .get_all(ACCEPT)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .any(|v| v.contains(COMPACT_MEDIA_TYPE));
                let mut response = if compact {
                    let mut r =
                        Response::new(body::full(Bytes::from(version.chunk_list.to_compact())));
                    set(r.headers_mut(), CONTENT_TYPE, COMPACT_MEDIA_TYPE);
                    r
                } else {
                    json(
                        serde_json::to_vec(&version.chunk_list)
                            .map_err(|e| HttpError::NotReady(e.to_string()))?,
                    )
                };
                // Each representation its own tag: the compact form is other bytes.
                let etag = match compact {
                    true => format!("\"{}-compact\"", version.chunk_list.archive_hash()),
                    false => version.etag(),
                };
                set(response.headers_mut(), VARY, "Accept");
                set(response.headers_mut(), CACHE_CONTROL, cache);
                set(response.headers_mut(), ETAG, &etag);
                Ok(response)
            }
            Endpoint::Pieces { app, pack, number } => {
                let (version, cache) = self.immutable(&app, &pack, number, token)?;
                self.pieces(&version, query.chunks.as_deref(), cache).await
            }
        }
    }

    /// The pieces of the chunks `chunks` names, cut from their verified bytes.
    async fn pieces(
        &self,
        version: &CompletedVersion,
        chunks: Option<&str>,
        cache: &'static str,
    ) -> Answer {
        let list = version.chunk_list.chunks();
        let selection =
            pieces::Selection::parse(chunks.unwrap_or(""), list.len()).map_err(|e| {
                HttpError::BadParameter {
                    name: "chunks",
                    reason: e.to_string(),
                }
            })?;
        let mut cut = Vec::with_capacity(selection.indices().len());
        for &index in selection.indices() {
            let chunk = list[index as usize];
            let p = self
                .chunks
                .pieces(chunk)
                .await
                .map_err(|e| HttpError::Upstream(e.to_string()))?;
            cut.push((index, p));
        }
        let doc = pieces::encode(cut.iter().map(|(i, p)| (*i, &p[..])));
        let mut response = Response::new(body::full(Bytes::from(doc)));
        set(response.headers_mut(), CONTENT_TYPE, pieces::MEDIA_TYPE);
        set(response.headers_mut(), CACHE_CONTROL, cache);
        Ok(response)
    }

    // ---- authorize ----

    fn token_policy<'a>(&'a self, revoked: &'a dyn Fn(&str) -> bool) -> access::TokenPolicy<'a> {
        access::TokenPolicy {
            keys: &self.secret,
            now: access::now(),
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

    fn read(&self) -> std::sync::RwLockReadGuard<'_, ServingState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn resolve<T>(
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

    fn manifest(
        &self,
        app: &str,
        channel: Channel,
        query: &Query,
        device_id: Option<&str>,
        token: Option<&str>,
        tls: bool,
    ) -> Answer {
        let device = device_query(query)?;
        let (versions, primary) = self.resolve(
            |s| {
                s.has_app(app).then(|| {
                    (
                        s.device_versions(app, channel, device_id),
                        s.primary_language(app),
                    )
                })
            },
            || format!("no app {app:?} on this edge"),
        )?;
        let served: Vec<_> = versions.iter().map(|v| v.served_pack()).collect();
        let origin = self.public_url(tls);
        let urls = UrlBase {
            origin: &origin,
            app,
            token: channel.beta().and(token),
        };
        let manifest = device_manifest::build(
            &served,
            &device,
            &primary,
            self.settings.manifest_policy,
            &urls,
        );
        for listed in &manifest.asset_packs {
            if let Some(v) = versions
                .iter()
                .find(|v| v.identifier.as_str() == listed.id && v.number == listed.version)
            {
                self.served.record(v, device_id);
            }
        }
        let doc = serde_json::to_vec(&manifest).map_err(|e| HttpError::NotReady(e.to_string()))?;
        let mut response = json(doc);
        let cache = Audience::of(channel).cache_control(Url::Channel);
        set(response.headers_mut(), CACHE_CONTROL, cache);
        Ok(response)
    }

    fn public_url(&self, tls: bool) -> String {
        let scheme = if tls { "https://" } else { "http://" };
        let urls = &self.settings.public_urls;
        urls.iter()
            .find(|u| u.starts_with(scheme))
            .or_else(|| urls.first())
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_default()
    }

    // ---- plan and respond ----

    async fn bytes(
        &self,
        version: Arc<CompletedVersion>,
        parts: &Parts,
        cache_control: &'static str,
    ) -> Answer {
        let header = |name: HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let conditions = Conditions {
            method_is_head_or_get: parts.method == Method::GET || parts.method == Method::HEAD,
            if_none_match: header(IF_NONE_MATCH),
            if_range: header(IF_RANGE),
            range: header(RANGE),
        };
        let len = version.size;
        let etag = version.etag();
        let plan = http_range::plan(&conditions, len, &etag, &self.settings.range_limits);
        let mut response = Response::new(body::empty());
        let headers = response.headers_mut();
        set(headers, ETAG, &etag);
        set(headers, CACHE_CONTROL, cache_control);
        set(headers, ACCEPT_RANGES, "bytes");
        let (status, segments, content_length) = match plan {
            Plan::NotModified => {
                *response.status_mut() = StatusCode::NOT_MODIFIED;
                return Ok(response);
            }
            Plan::PreconditionFailed => return Err(HttpError::PreconditionFailed),
            Plan::Unsatisfiable => return Err(HttpError::RangeNotSatisfiable { len }),
            Plan::Full => {
                set(headers, CONTENT_TYPE, OCTET_STREAM);
                let whole = http_range::ByteRange::new(0, len.saturating_sub(1));
                let segments = whole
                    .filter(|_| len > 0)
                    .map(Segment::Bytes)
                    .into_iter()
                    .collect();
                (StatusCode::OK, segments, len)
            }
            Plan::Partial(range) => {
                set(headers, CONTENT_TYPE, OCTET_STREAM);
                set(headers, CONTENT_RANGE, &range.content_range(len));
                (
                    StatusCode::PARTIAL_CONTENT,
                    vec![Segment::Bytes(range)],
                    range.len(),
                )
            }
            Plan::Multipart(ranges) => {
                let layout = http_range::multipart_layout(
                    &ranges,
                    len,
                    OCTET_STREAM,
                    &Boundary::from_etag(&etag),
                );
                set(headers, CONTENT_TYPE, &layout.content_type);
                (
                    StatusCode::PARTIAL_CONTENT,
                    layout.segments,
                    layout.content_length,
                )
            }
        };
        set(headers, CONTENT_LENGTH, &content_length.to_string());
        *response.status_mut() = status;
        if parts.method == Method::GET {
            // Hot path: every chunk in memory, the body goes out with the head.
            let ready = body::ready(&self.chunks, &version, &segments, &self.metrics);
            *response.body_mut() = match ready {
                Some(ready) => ready,
                None => {
                    self.first_chunk(&version, &segments).await?;
                    body::stream(self.chunks.clone(), version, segments, self.metrics.clone())
                }
            };
        }
        Ok(response)
    }

    /// Fetches the first chunk the body needs before the head is sent, so an origin that
    /// cannot provide it gets a clean 502 instead of a cut-off 200.
    async fn first_chunk(
        &self,
        version: &CompletedVersion,
        segments: &[Segment],
    ) -> Result<(), HttpError> {
        let first = segments.iter().find_map(|s| match s {
            Segment::Bytes(r) => version.chunk_list.covering(r.to_range()).next(),
            Segment::Literal(_) => None,
        });
        if let Some((chunk, _)) = first {
            self.chunks
                .get(chunk)
                .await
                .map_err(|e| HttpError::Upstream(e.to_string()))?;
        }
        Ok(())
    }

    /// `/healthz` (`ready` false) and `/readyz`: JSON naming the service, as every Packyard
    /// service answers them; `/readyz` is 503 until the edge has the catalog.
    fn healthz(&self, ready: bool) -> Response<ResponseBody> {
        let state = self.read();
        let unready = ready && !state.is_synced();
        let doc = serde_json::json!({
            "status": if unready { "unavailable" } else { "ok" },
            "service": "edge",
            "synced": state.is_synced(),
            "appliedIndex": state.applied_index(),
            "tokenKeys": self.secret.get().is_some(),
        });
        let mut response = json(doc.to_string().into_bytes());
        if unready {
            *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
            set(response.headers_mut(), http::header::RETRY_AFTER, "1");
        }
        response
    }
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

fn not_synced() -> HttpError {
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

/// The device's platform, OS and languages from the manifest query.
fn device_query(query: &Query) -> Result<DeviceQuery, HttpError> {
    let bad = |name, reason: String| HttpError::BadParameter { name, reason };
    let platform = query.platform.as_deref().ok_or_else(|| {
        bad(
            "platform",
            "is required (iOS, iPadOS, macOS, tvOS or visionOS)".into(),
        )
    })?;
    let platform = Platform::from_manifest_name(platform).ok_or_else(|| {
        bad(
            "platform",
            format!("{platform:?} is not one of iOS, iPadOS, macOS, tvOS, visionOS"),
        )
    })?;
    let os = query
        .os
        .as_deref()
        .ok_or_else(|| bad("os", "is required, for example 27.0".into()))?;
    let os: OsVersion = os.parse().map_err(|e| bad("os", format!("{e}")))?;
    let languages = query
        .lang
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| LanguageTag::parse(l).map_err(|e| bad("lang", e.to_string())))
        .collect::<Result<_, _>>()?;
    Ok(DeviceQuery {
        platform,
        os,
        languages,
    })
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

fn json(doc: Vec<u8>) -> Response<ResponseBody> {
    let mut response = Response::new(body::full(Bytes::from(doc)));
    set(response.headers_mut(), CONTENT_TYPE, "application/json");
    response
}

fn text(page: String) -> Response<ResponseBody> {
    let mut response = Response::new(body::full(Bytes::from(page)));
    set(
        response.headers_mut(),
        CONTENT_TYPE,
        "text/plain; version=0.0.4",
    );
    response
}
