//! The device protocol over HTTP/1.1 and HTTP/2, plain and TLS (SPEC §6).
//!
//! # Layout
//!
//! - The listener itself (connection limit, HTTP/1.1 keep-alive and HTTP/2 on one port,
//!   header-read and idle timeouts, graceful shutdown) is `packyard_net::http::serve`, shared
//!   with the admin API and the upload endpoint; [`EdgeService`] is its handler.
//! - [`EdgeService`]: one request in named phases (parse, authorize, resolve, plan, respond,
//!   log); see its module.
//! - [`Endpoint`], [`Query`]: the request, parsed once; the endpoint names the metric label.
//! - [`HttpError`]: every failure, mapped to status and JSON `detail` in one place.
//! - `ops`: one file per device operation (manifest, pack bytes, chunk list, pieces,
//!   health), each an `impl EdgeService` block the dispatch calls.
//! - `access`: tester tokens; `body`: streamed archive bytes.

mod access;
mod body;
mod endpoint;
mod error;
mod ops;
mod service;

pub use body::ResponseBody;
pub use endpoint::{Endpoint, Query};
pub use error::HttpError;
pub use packyard_net::http::{HttpLimits, TlsError, serve, tls_acceptor};
pub use service::{EdgeService, OperationsHandler, ServeSettings};
