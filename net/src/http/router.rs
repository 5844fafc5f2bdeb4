//! [`serve_router`]: an axum router (the admin API, the upload endpoint) behind the hardened
//! listener.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::{Handler, HttpLimits, TimedBody, serve};

/// Serves `router` on `listener` (over `tls` if given) within `limits` until `shutdown`
/// resolves; see [`serve`].
pub async fn serve_router(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    serve(
        listener,
        tls,
        Arc::new(RouterHandler(router)),
        limits,
        shutdown,
    )
    .await;
}

/// A router as the listener's [`Handler`].
struct RouterHandler(Router);

impl Handler for RouterHandler {
    type Body = Body;

    fn call(
        &self,
        request: http::Request<TimedBody<hyper::body::Incoming>>,
        _tls: bool,
    ) -> impl Future<Output = Response> + Send {
        use tower::ServiceExt as _;
        let router = self.0.clone();
        async move {
            match router.oneshot(request.map(Body::new)).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
    }
}
