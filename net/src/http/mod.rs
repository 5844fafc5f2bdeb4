//! The HTTP listener every public surface shares (the edge, the admin API, the origin's
//! upload endpoint): HTTP/1.1 and HTTP/2 on one port, plain or TLS, hardened the same way.
//!
//! # Layout
//!
//! - [`serve`]: the accept loop: connection cap, head and handshake deadline, idle timeout,
//!   graceful shutdown; a [`Handler`] answers each request.
//! - [`serve_router`]: an axum router as the handler.
//! - [`HttpLimits`]: the `[http]` table.
//! - [`RequestSeries`]: the request counter and duration histogram of a surface.
//! - [`TimedBody`]: request bodies that fail when they stall or take too long.
//! - [`tls_acceptor`]: PEM files → rustls.

mod limits;
mod request_series;
mod router;
mod server;
mod timed_body;
mod tls;

pub use limits::HttpLimits;
pub use request_series::RequestSeries;
pub use router::serve_router;
pub use server::{Handler, serve};
pub use timed_body::{BodyTimeout, TimedBody, body_timeout};
pub use tls::{TlsError, tls_acceptor};
