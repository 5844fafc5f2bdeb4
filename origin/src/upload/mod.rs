//! The upload endpoint (HTTP): where clients `PUT` the parts the admin API's
//! `uploadOperations` list, and learn which parts an interrupted upload still needs.
//!
//! A request goes through the same steps whatever it asks:
//! 1. [`Endpoint::parse`] turns method and path into one typed request (404, 405, and 400 for
//!    a malformed part number are decided here);
//! 2. the request's upload credential (the signature the admin API put in the URL) is read
//!    from the query: none is 401, a malformed one 403, before anything else is asked;
//! 3. the control plane is asked about the upload file (`DescribeUpload`, briefly cached in
//!    [`UploadFiles`]), which also hands over the file's signing key: unknown is 404, a
//!    credential not signed for this part (or status) of this file 403, committed 409, an
//!    expired credential 403; so nothing is ever read or stored for a request that may not
//!    write, or for a file that no longer takes parts;
//! 4. the handler streams the part to staging, or lists what is staged;
//! 5. any failure becomes a JSON:API error in one place, [`UploadError`]'s `IntoResponse`.

pub mod chunks;
mod credential;
mod endpoint;
mod error;
mod put_part;
mod status;
mod upload_files;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

pub use endpoint::Endpoint;
pub use error::UploadError;
pub use upload_files::UploadFiles;

use crate::staging::Staging;

/// The chunks the kept versions of a pack name, by pack id.
pub type PackChunks =
    Arc<dyn Fn(&str) -> std::collections::HashSet<packyard_core::Blake3Hash> + Send + Sync>;

/// What the upload endpoint works with.
#[derive(Clone)]
pub struct Uploads {
    /// Where parts go.
    pub staging: Arc<Staging>,
    /// What the control plane says about upload files.
    pub files: Arc<UploadFiles>,
    /// Whether the origin follows the catalog yet (`/readyz`).
    pub ready: Arc<dyn Fn() -> bool + Send + Sync>,
    /// Where requests are counted, and the `/metrics` page.
    pub metrics: crate::metrics::OriginMetrics,
    /// Where chunks of files sent as chunks go.
    pub store: Arc<crate::node::Store>,
    /// The chunks the kept versions of a pack name: what a file of that pack sent as chunks
    /// need not send again.
    pub pack_chunks: PackChunks,
    /// The chunk lists of files sent as chunks through this origin.
    pub lists: Arc<chunks::ChunkLists>,
}

/// Serves the upload endpoint on `listener` (TLS when `tls` is given) until `shutdown`
/// resolves, then finishes the requests under way and returns. The listener is hardened as
/// `limits` says: a part whose body stalls or takes too long fails with 408 and stores
/// nothing.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    uploads: Uploads,
    limits: packyard_net::http::HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let router = Router::new().fallback(handle).with_state(Arc::new(uploads));
    packyard_net::http::serve_router(listener, tls, router, limits, shutdown).await;
}

impl std::fmt::Debug for Uploads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploads")
            .field("staging", &self.staging)
            .field("files", &self.files)
            .field("ready", &(self.ready)())
            .finish()
    }
}

/// `/healthz` and `/readyz` as every Packyard service answers them: JSON naming the service,
/// 200 when ready, 503 when not.
fn health(ready: bool) -> Response {
    let doc = serde_json::json!({
        "status": if ready { "ok" } else { "unavailable" },
        "service": "origin",
        "synced": ready,
    });
    let status = if ready {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(doc)).into_response()
}

async fn handle(State(uploads): State<Arc<Uploads>>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let endpoint = match Endpoint::parse(&parts.method, parts.uri.path()) {
        Ok(e) => e,
        Err(e) => return e.into_response(),
    };
    let name = endpoint.name();
    let span = tracing::info_span!("upload", endpoint = name);
    let result = async {
        match endpoint {
            Endpoint::PutPart { file, number } => {
                let request = put_part::PartRequest {
                    file: &file,
                    number,
                    query: parts.uri.query(),
                    headers: &parts.headers,
                };
                put_part::put_part(&uploads, request, body).await
            }
            Endpoint::Status { file } => status::status(&uploads, &file, parts.uri.query()).await,
            Endpoint::PutChunkList { file } => {
                chunks::put_chunk_list(&uploads, &file, parts.uri.query(), body).await
            }
            Endpoint::PutChunkBundle { file } => {
                chunks::put_bundle(&uploads, &file, parts.uri.query(), body).await
            }
            Endpoint::PutChunk { file, id } => {
                let request = chunks::ChunkRequest {
                    file: &file,
                    id: &id,
                    query: parts.uri.query(),
                    headers: &parts.headers,
                };
                chunks::put_chunk(&uploads, request, body).await
            }
            Endpoint::Health => Ok(health(true)),
            Endpoint::Ready if (uploads.ready)() => Ok(health(true)),
            Endpoint::Ready => Ok(health(false)),
            Endpoint::Metrics => Ok((
                [(
                    axum::http::header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                uploads.metrics.render(),
            )
                .into_response()),
        }
    }
    .instrument(span)
    .await;
    let response = match result {
        Ok(response) => response,
        Err(e) => {
            if e.status().is_server_error() {
                tracing::warn!(error = %e, "upload request failed");
            }
            e.into_response()
        }
    };
    uploads
        .metrics
        .request(name, response.status().as_u16(), started.elapsed());
    response
}
