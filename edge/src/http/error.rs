//! [`HttpError`]: every way a device request fails, and the one place that maps each to a
//! status and a JSON body with a `detail`.

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_RANGE, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use packyard_core::http_range::unsatisfied_content_range;

use super::body::{ResponseBody, full};

/// Why a request was not answered with what it asked for. Each variant says who is at fault:
/// the device (4xx), this edge not being ready (503), the origin (502) or this edge (500).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The path names nothing this edge serves.
    #[error("{0}")]
    NotFound(String),
    /// Only GET and HEAD are served.
    #[error("method {0} is not allowed; use GET or HEAD")]
    MethodNotAllowed(String),
    /// A query parameter is missing or malformed.
    #[error("query parameter `{name}`: {reason}")]
    BadParameter {
        /// The parameter.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// No tester token, or one that is forged, malformed or expired.
    #[error("{0}")]
    Unauthorized(String),
    /// A valid tester token that does not open this app or channel.
    #[error("{0}")]
    Forbidden(String),
    /// No range of the request lies inside the archive.
    #[error("no requested range lies inside the {len} bytes of this version")]
    RangeNotSatisfiable {
        /// The archive's size.
        len: u64,
    },
    /// `If-None-Match` matched on a method other than GET or HEAD.
    #[error("the representation matches If-None-Match")]
    PreconditionFailed,
    /// The edge cannot answer yet (no catalog snapshot, no token secret).
    #[error("{0}")]
    NotReady(String),
    /// The origin could not provide a chunk.
    #[error("{0}")]
    Upstream(String),
    /// The edge failed at something it should never fail at (a response it cannot make).
    #[error("this edge failed: {0}")]
    Internal(String),
}

impl HttpError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadParameter { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The response: the status, `{"status", "detail"}`, and the header fields the status
    /// calls for (`Allow`, `WWW-Authenticate`, `Content-Range: bytes */LEN`).
    pub fn into_response(self) -> Response<ResponseBody> {
        let status = self.status();
        let body = serde_json::json!({
            "status": status.as_u16(),
            "detail": self.to_string(),
        });
        let mut response = Response::new(full(Bytes::from(body.to_string())));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        match &self {
            Self::MethodNotAllowed(_) => {
                headers.insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            }
            Self::Unauthorized(_) => {
                headers.insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"packyard\""),
                );
            }
            Self::RangeNotSatisfiable { len } => {
                match HeaderValue::from_str(&unsatisfied_content_range(*len)) {
                    Ok(v) => {
                        headers.insert(CONTENT_RANGE, v);
                    }
                    Err(e) => tracing::error!(error = %e, "a 416 without its Content-Range"),
                }
            }
            _ => {}
        }
        response
    }
}
