//! [`ApiError`]: every way a request can fail, and the one place that maps each to an HTTP
//! status and a JSON:API `errors[]` document.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use packyard_core::catalog::{Refusal, RefusalKind};
use serde_json::json;

use crate::store::StoreError;

/// Why a request got no result. Each variant says what was wrong in words a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request body or query is not what the endpoint reads (400).
    #[error("{detail}")]
    BadRequest {
        /// A JSON pointer into the body (`/data/attributes/bundleId`) or a query parameter name.
        pointer: Option<String>,
        /// Whether `pointer` names a query parameter rather than a body member.
        parameter: bool,
        /// What is wrong.
        detail: String,
    },
    /// A body member has the right JSON type but a value the domain does not accept (422).
    #[error("{detail}")]
    Invalid {
        /// A JSON pointer to the member.
        pointer: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The body's `data.type` is not the endpoint's resource type (409, as JSON:API asks).
    #[error("{0}")]
    TypeMismatch(String),
    /// The body is larger than the configured limit (413).
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    /// The body stalled or took too long to arrive (408).
    #[error("{0}; send the whole body promptly")]
    SlowBody(packyard_net::http::BodyTimeout),
    /// No bearer key, or one that opens nothing (401).
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The catalog refused the command or read.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// No such path (404).
    #[error("there is no resource at {0}; see the admin API reference for the paths")]
    NoRoute(String),
    /// The path exists but not with this method (405).
    #[error("{method} is not allowed on {path}; allowed: {allowed}")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The path.
        path: String,
        /// The methods the path takes, comma separated.
        allowed: &'static str,
    },
    /// The store could not answer (503).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something on this node failed that the caller cannot fix (500).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 about the body member at `pointer`.
    pub(crate) fn body(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            pointer: Some(pointer.into()),
            parameter: false,
            detail: detail.into(),
        }
    }

    /// A 422 about the attribute `name`.
    pub(crate) fn invalid(name: &str, detail: impl std::fmt::Display) -> Self {
        ApiError::Invalid {
            pointer: format!("/data/attributes/{name}"),
            detail: format!("{name}: {detail}"),
        }
    }

    /// A 400 about the query parameter `name`.
    pub(crate) fn parameter(name: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            pointer: Some(name.into()),
            parameter: true,
            detail: detail.into(),
        }
    }

    /// The HTTP status of this error: the only place statuses are chosen.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TypeMismatch(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::SlowBody(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Refused(r) => match r.kind() {
                RefusalKind::Unauthenticated => StatusCode::UNAUTHORIZED,
                RefusalKind::Forbidden => StatusCode::FORBIDDEN,
                RefusalKind::NotFound => StatusCode::NOT_FOUND,
                RefusalKind::Conflict => StatusCode::CONFLICT,
                RefusalKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            },
            ApiError::NoRoute(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, machine-readable code, spelled like the hosted API's codes.
    pub fn code(&self) -> String {
        match self {
            ApiError::BadRequest {
                parameter: true, ..
            } => "PARAMETER_ERROR.INVALID".into(),
            ApiError::BadRequest { .. } => "ENTITY_ERROR.INVALID".into(),
            ApiError::Invalid { .. } => "ENTITY_ERROR.ATTRIBUTE.INVALID".into(),
            ApiError::TypeMismatch(_) => "ENTITY_ERROR.TYPE_MISMATCH".into(),
            ApiError::TooLarge(_) => "ENTITY_ERROR.TOO_LARGE".into(),
            ApiError::SlowBody(_) => "REQUEST_TIMEOUT".into(),
            ApiError::Unauthenticated(_) => "NOT_AUTHORIZED".into(),
            ApiError::Refused(r) => match r {
                Refusal::Unauthenticated { .. } => "NOT_AUTHORIZED".into(),
                Refusal::Forbidden { .. } => "FORBIDDEN_ERROR".into(),
                Refusal::Denied { rule, .. } => format!("FORBIDDEN_ERROR.{rule}"),
                Refusal::NotFound { .. } => "NOT_FOUND".into(),
                Refusal::Conflict {
                    rule: Some(rule), ..
                } => format!("STATE_ERROR.{rule}"),
                Refusal::Conflict { rule: None, .. } => "STATE_ERROR".into(),
                Refusal::Invalid { .. } => "ENTITY_ERROR.ATTRIBUTE.INVALID".into(),
            },
            ApiError::NoRoute(_) => "NOT_FOUND".into(),
            ApiError::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED".into(),
            ApiError::Store(_) => "UNAVAILABLE".into(),
            ApiError::Internal(_) => "INTERNAL_ERROR".into(),
        }
    }

    /// The JSON:API `source` member, when the error points at part of the request.
    fn source(&self) -> Option<serde_json::Value> {
        match self {
            ApiError::BadRequest {
                pointer: Some(p),
                parameter: true,
                ..
            } => Some(json!({ "parameter": p })),
            ApiError::BadRequest {
                pointer: Some(p), ..
            } => Some(json!({ "pointer": p })),
            ApiError::Invalid { pointer, .. } => Some(json!({ "pointer": pointer })),
            ApiError::TypeMismatch(_) => Some(json!({ "pointer": "/data/type" })),
            ApiError::Refused(Refusal::Invalid { field, .. }) => Some(json!({
                "pointer": format!("/data/attributes/{}", field.replace('.', "/"))
            })),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut error = json!({
            "status": status.as_u16().to_string(),
            "code": self.code(),
            "title": status.canonical_reason().unwrap_or("Error"),
            "detail": self.to_string(),
        });
        if let (Some(source), Some(obj)) = (self.source(), error.as_object_mut()) {
            obj.insert("source".into(), source);
        }
        let mut response = (status, axum::Json(json!({ "errors": [error] }))).into_response();
        if let ApiError::MethodNotAllowed { allowed, .. } = self
            && let Ok(value) = allowed.parse()
        {
            response
                .headers_mut()
                .insert(axum::http::header::ALLOW, value);
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
