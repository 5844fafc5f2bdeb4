//! [`UploadError`]: every way an upload request fails, mapped to HTTP status in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why an upload request was refused or failed. Rendered as a JSON:API `errors` document,
/// like the admin API's errors.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// No such path.
    #[error("no upload endpoint at {0}")]
    NoRoute(String),
    /// The path exists for other methods.
    #[error("{method} is not allowed here; use {allowed}")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The methods allowed.
        allowed: &'static str,
    },
    /// The request carries no upload credential.
    #[error("{0}")]
    Unauthorized(String),
    /// The request's upload credential does not allow it: malformed, signed for another part
    /// or file, forged, or expired.
    #[error("{0}")]
    Forbidden(String),
    /// The control plane knows no such upload file.
    #[error("no upload file {0}; reserve one with POST /v1/backgroundAssetUploadFiles")]
    UnknownFile(String),
    /// The file is committed (or processed) and takes no more parts.
    #[error(
        "upload file {file} is already committed ({state}); it takes no more parts. \
         Reserve a new version to upload other bytes"
    )]
    Committed {
        /// The file.
        file: String,
        /// Its state.
        state: &'static str,
    },
    /// The request is malformed: a bad part number, a part of the wrong length.
    #[error("{0}")]
    BadRequest(String),
    /// The part is longer than the part it is sent as.
    #[error("{0}")]
    TooLarge(String),
    /// The body stalled or took longer than the listener allows; nothing was stored.
    #[error("{0}; nothing was stored, send the part again")]
    SlowBody(String),
    /// The control plane cannot answer right now; the client may retry.
    #[error("the control plane cannot describe the upload right now ({0}); retry shortly")]
    Unavailable(String),
    /// The store parts are kept in (a bucket) cannot be reached; nothing was stored.
    #[error("{0}; nothing was stored, send the part again once the store is back")]
    StoreUnavailable(String),
    /// The origin's disk failed.
    #[error("storing the part failed: {0}")]
    Internal(String),
}

impl UploadError {
    /// A failure of the staging area: the store named when it is the bucket that failed,
    /// else the origin's disk.
    pub fn staging(e: std::io::Error) -> Self {
        match crate::staging::store_error(&e) {
            Some(store) => Self::StoreUnavailable(store.to_string()),
            None => Self::Internal(e.to_string()),
        }
    }

    /// The HTTP status this error is sent with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NoRoute(_) | Self::UnknownFile(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Committed { .. } => StatusCode::CONFLICT,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::SlowBody(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Unavailable(_) | Self::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, machine-readable code, spelled like the admin API's codes.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoRoute(_) | Self::UnknownFile(_) => "NOT_FOUND",
            Self::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            Self::Unauthorized(_) => "NOT_AUTHORIZED",
            Self::Forbidden(_) => "FORBIDDEN_ERROR",
            Self::Committed { .. } => "STATE_ERROR.UPLOAD_COMMITTED",
            Self::BadRequest(_) => "ENTITY_ERROR.INVALID",
            Self::TooLarge(_) => "ENTITY_ERROR.TOO_LARGE",
            Self::SlowBody(_) => "REQUEST_TIMEOUT",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::StoreUnavailable(_) => "UNAVAILABLE.STORE",
            Self::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

impl IntoResponse for UploadError {
    fn into_response(self) -> Response {
        let status = self.status();
        let error = json!({
            "status": status.as_u16().to_string(),
            "code": self.code(),
            "title": status.canonical_reason().unwrap_or("Error"),
            "detail": self.to_string(),
        });
        let mut response = (status, axum::Json(json!({ "errors": [error] }))).into_response();
        if let Self::MethodNotAllowed { allowed, .. } = self {
            response.headers_mut().insert(
                axum::http::header::ALLOW,
                axum::http::HeaderValue::from_static(allowed),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            // RFC 9110 asks a 401 to name a scheme: the credential is the URL's signature,
            // as the admin API signs it.
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Upload-Signature realm=\"packyard-uploads\""),
            );
        }
        response
    }
}
