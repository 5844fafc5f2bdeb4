//! The admin API: JSON:API over HTTP (SPEC §5), generic over any [`CatalogStore`].
//!
//! A request goes through the same steps whatever it asks:
//! 1. [`Endpoint::parse`] turns method, path and query into one typed request (404, 405 and
//!    400 for bad query parameters are decided here);
//! 2. the bearer key is checked (401), except for `/healthz`, `/readyz` and `/metrics`,
//!    before a byte of the body is read, so a caller without a key cannot make the node
//!    buffer anything;
//! 3. the body is read up to [`ApiConfig::max_body_bytes`] (413 beyond), within the
//!    listener's body deadlines (408 when it stalls);
//! 4. the handler of that endpoint parses the body (400 naming the member), proposes one
//!    catalog command with a fresh id and the current time, and renders the result;
//! 5. any failure becomes a JSON:API error in one place, [`ApiError`]'s `IntoResponse`.
//!
//! One file per resource: apps and builds, app members, users and keys, packs, versions and their release
//! records, upload files, review submissions, rollouts, webhooks and their deliveries,
//! edges and regions.

mod apps;
mod bootstrap;
mod config;
mod context;
mod document;
mod edges;
mod endpoint;
mod error;
mod members;
mod packs;
mod query;
mod render;
mod reviews;
mod rollouts;
mod tester_tokens;
mod token_secrets;
mod upload_files;
mod users;
mod versions;
mod webhooks;

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use packyard_core::catalog::{Actor, Refusal, ResourceType};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

pub use bootstrap::{
    Bootstrapped, MIN_BOOTSTRAP_KEY_LEN, OPERATOR_ID, WeakBootstrapKey, bootstrap,
    check_bootstrap_key, write_key_file,
};
pub use config::{ApiConfig, ApiConfigError};
pub use endpoint::{Endpoint, EndpointKind};
pub use error::ApiError;
pub use query::{DEFAULT_LIMIT, MAX_LIMIT, PackListQuery, PackSort, Page, VersionListQuery};

use context::Api;
use versions::Track;

use crate::metrics::ControlMetrics;
use crate::store::CatalogStore;
use crate::watch::ChangeFeed;

/// Serves the admin API on `listener` (TLS when `tls` is given) until `shutdown` resolves,
/// then finishes the requests under way and returns. The listener is hardened as
/// [`ApiConfig::http`] says. Every request is counted and timed in `metrics`, which
/// `/metrics` also serves. `feed` is the node's watch feed: its last index is how far the
/// edges shown lag behind.
pub async fn serve<S: CatalogStore>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    store: S,
    feed: Arc<ChangeFeed>,
    config: ApiConfig,
    metrics: ControlMetrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let limits = config.http.clone();
    let router = router(store, feed, config, metrics);
    packyard_net::http::serve_router(listener, tls, router, limits, shutdown).await;
}

/// The admin API as a router, for callers that serve it themselves (tests, fuzzing).
pub fn router<S: CatalogStore>(
    store: S,
    feed: Arc<ChangeFeed>,
    config: ApiConfig,
    metrics: ControlMetrics,
) -> Router {
    let api = Arc::new(Api {
        store,
        feed,
        config,
        metrics,
        touching: std::sync::Mutex::default(),
    });
    Router::new().fallback(handle::<S>).with_state(api)
}

async fn handle<S: CatalogStore>(State(api): State<Arc<Api<S>>>, request: Request) -> Response {
    let metrics = api.metrics.clone();
    let (parts, body) = request.into_parts();
    let endpoint = match Endpoint::parse(&parts.method, parts.uri.path(), parts.uri.query()) {
        Ok(e) => e,
        Err(e) => {
            let response = e.into_response();
            metrics.api_request("Unknown", response.status().as_u16(), Duration::ZERO);
            return response;
        }
    };
    let name = endpoint.name();
    let span = tracing::info_span!("admin_api", endpoint = name);
    let started = Instant::now();
    let response = async move {
        let result = context::within_request(run(&api, endpoint, &parts.headers, body)).await;
        result.unwrap_or_else(|e| {
            tracing::debug!(status = e.status().as_u16(), error = %e, "request refused");
            e.into_response()
        })
    }
    .instrument(span)
    .await;
    metrics.api_request(name, response.status().as_u16(), started.elapsed());
    response
}

async fn run<S: CatalogStore>(
    api: &Arc<Api<S>>,
    endpoint: Endpoint,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    use Endpoint as E;
    match endpoint {
        E::Health => return Ok(health(true)),
        E::Ready => {
            // A linearizable read: only a node in touch with a leader and a majority is ready.
            return Ok(health(api.read(|_| ()).await.is_ok()));
        }
        E::Metrics => {
            let page = api.metrics.render();
            let content_type = "text/plain; version=0.0.4; charset=utf-8";
            return Ok(([(axum::http::header::CONTENT_TYPE, content_type)], page).into_response());
        }
        _ => {}
    }
    let for_write = endpoint.writes();
    let actor: Actor = Api::authenticate(api, headers, for_write).await?;
    let actor = &actor;
    let body = read_body(api.config.max_body_bytes, headers, body).await?;
    match endpoint {
        E::Health | E::Ready | E::Metrics => Ok(StatusCode::OK.into_response()),
        E::ListApps => apps::list(api, actor).await,
        E::CreateApp => apps::create(api, actor, &body).await,
        E::GetApp(id) => apps::get(api, actor, id).await,
        E::ListAppMembers(app) => members::list(api, actor, app).await,
        E::AddAppMember(app) => members::add(api, actor, app, &body).await,
        E::RemoveAppMember(app, user) => members::remove(api, actor, app, user, None).await,
        E::RemoveAppMemberRole(app, user, role) => {
            members::remove(api, actor, app, user, Some(role)).await
        }
        E::CreateBuild => apps::create_build(api, actor, &body).await,
        E::CreateUser => users::create_user(api, actor, &body).await,
        E::ListApiKeys => users::list_keys(api, actor).await,
        E::CreateApiKey => users::create_key(api, actor, &body).await,
        E::DeleteApiKey(id) => users::delete_key(api, actor, id).await,
        E::CreateBackgroundAsset => packs::create(api, actor, &body).await,
        E::GetBackgroundAsset(id) => packs::get(api, actor, id).await,
        E::PatchBackgroundAsset(id) => packs::patch(api, actor, id, &body).await,
        E::ListBackgroundAssets(app, q) => packs::list(api, actor, app, q).await,
        E::CreateBackgroundAssetVersion => versions::create(api, actor, &body).await,
        E::GetBackgroundAssetVersion(id) => versions::get(api, actor, id).await,
        E::ListBackgroundAssetVersions(pack, q) => versions::list(api, actor, pack, q).await,
        E::CreateBackgroundAssetUploadFile => upload_files::reserve(api, actor, &body).await,
        E::GetBackgroundAssetUploadFile(id) => upload_files::get(api, actor, id).await,
        E::PatchBackgroundAssetUploadFile(id) => upload_files::commit(api, actor, id, &body).await,
        E::GetInternalBetaRelease(id) => {
            versions::get_release(api, actor, id, Track::Internal).await
        }
        E::GetExternalBetaRelease(id) => {
            versions::get_release(api, actor, id, Track::External).await
        }
        E::GetAppStoreRelease(id) => versions::get_release(api, actor, id, Track::Store).await,
        E::CreateReviewSubmission => reviews::submit(api, actor, &body).await,
        E::GetReviewSubmission(id) => reviews::get(api, actor, id).await,
        E::PatchReviewSubmission(id) => reviews::decide(api, actor, id, &body).await,
        E::CreateRollout => rollouts::create(api, actor, &body).await,
        E::GetRollout(id) => rollouts::get(api, actor, id).await,
        E::PatchRollout(id) => rollouts::change(api, actor, id, &body).await,
        E::CreateWebhook => webhooks::create(api, actor, &body).await,
        E::CreateWebhookPing => webhooks::ping(api, actor, &body).await,
        E::CreateTesterToken => tester_tokens::create(api, actor, &body).await,
        E::RotateTesterTokenSecret => token_secrets::rotate(api, actor, &body).await,
        E::ListTesterTokenKeys => token_secrets::keys(api).await,
        E::GetMe => users::me(api, actor).await,
        E::ListBuilds(app) => apps::list_builds(api, actor, app).await,
        E::ListReviewSubmissions(app) => reviews::list(api, actor, app).await,
        E::ListRollouts(app) => rollouts::list(api, actor, app).await,
        E::GetTesterToken(id) => tester_tokens::get(api, actor, id).await,
        E::RevokeTesterToken(id) => tester_tokens::revoke(api, actor, id).await,
        E::ListTesterTokens(app) => tester_tokens::list(api, actor, app).await,
        E::GetWebhook(id) => webhooks::get(api, actor, id).await,
        E::DeleteWebhook(id) => webhooks::delete(api, actor, id).await,
        E::ListWebhookDeliveries(id) => webhooks::deliveries(api, actor, id).await,
        E::ListWebhooks(app) => webhooks::list(api, actor, app).await,
        E::ListEdges => edges::list(api, actor).await,
        E::GetEdge(id) => edges::get(api, actor, id).await,
        E::ListRegions => edges::regions(api, actor).await,
    }
}

/// `/healthz` and `/readyz` as every Packyard service answers them: JSON naming the service,
/// 200 when ready, 503 when not.
fn health(ready: bool) -> Response {
    let doc = serde_json::json!({
        "status": if ready { "ok" } else { "unavailable" },
        "service": "control",
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(doc)).into_response()
}

/// The body, once the caller is known: at most `limit` bytes (413 beyond, decided from a
/// declared length before reading), arriving within the listener's deadlines (408).
async fn read_body(
    limit: usize,
    headers: &HeaderMap,
    body: Body,
) -> Result<bytes::Bytes, ApiError> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(ApiError::TooLarge(limit));
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let error: &(dyn std::error::Error + 'static) = &e;
        match packyard_net::http::body_timeout(error) {
            Some(timeout) => ApiError::SlowBody(timeout.clone()),
            // Besides the client going away (then nobody reads the answer), the only way
            // reading up to the limit fails is a body longer than the limit.
            None => ApiError::TooLarge(limit),
        }
    })
}

/// A 404 for a record that does not exist, worded as the catalog words it.
pub(crate) fn not_found(resource: ResourceType, id: &impl Display) -> ApiError {
    ApiError::Refused(Refusal::NotFound {
        resource,
        id: id.to_string(),
    })
}
