//! The device protocol over HTTP/1.1 and HTTP/2, plain and TLS (SPEC §6).
//!
//! # Layout
//!
//! - [`serve`]: a listener's accept loop: connection limit, HTTP/1.1 keep-alive and HTTP/2 on
//!   one port, header-read and idle timeouts, graceful shutdown.
//! - [`EdgeService`]: one request in named phases (parse, authorize, resolve, plan, respond,
//!   log); see its module.
//! - [`Endpoint`], [`Query`]: the request, parsed once; the endpoint names the metric label.
//! - [`HttpError`]: every failure, mapped to status and JSON `detail` in one place.
//! - `access`: tester tokens; `body`: streamed archive bytes; [`tls_acceptor`]: PEM → rustls.

mod access;
mod body;
mod endpoint;
mod error;
mod limits;
mod server;
mod service;
mod tls;

pub use body::ResponseBody;
pub use endpoint::{Endpoint, Query};
pub use error::HttpError;
pub use limits::HttpLimits;
pub use server::serve;
pub use service::{EdgeService, ServeSettings};
pub use tls::{TlsError, tls_acceptor};
