//! [`AdminClient`]: JSON:API documents in, JSON:API documents out, an error document turned
//! into an [`AdminError`] that says what the server refused and why; and [`Answer`], the raw
//! status and document for callers that check the API's own behaviour.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::error::{AdminError, Refusal};

/// A connection to one control plane's admin API, authenticated with one API key. Cheap to
/// clone; [`AdminClient::with_key`] gives the same connection pool under another key.
#[derive(Debug, Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    server: String,
    key: String,
    key_hint: Option<String>,
}

/// An answer as it came: the status and the body as JSON (`Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub document: Value,
}

impl AdminClient {
    /// A client for `server` (`http://host:port`, a trailing slash is ignored) using `key`,
    /// trusting `ca` (PEM certificates) for https servers besides the usual roots. Requests
    /// give up after 60 s, connecting after 5 s.
    pub fn new(
        server: &str,
        key: impl Into<String>,
        ca: Option<&[u8]>,
    ) -> Result<Self, AdminError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60));
        if let Some(pem) = ca {
            for cert in reqwest::Certificate::from_pem_bundle(pem).map_err(AdminError::CaBundle)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(AdminError::Client)?;
        Ok(Self::with_http(http, server, key))
    }

    /// A client over an HTTP client the caller built (its own timeouts or roots).
    pub fn with_http(http: reqwest::Client, server: &str, key: impl Into<String>) -> Self {
        Self {
            http,
            server: server.trim_end_matches('/').to_owned(),
            key: key.into(),
            key_hint: None,
        }
    }

    /// The same client, authenticated with `key` instead (a Reviewer's, say).
    pub fn with_key(&self, key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            ..self.clone()
        }
    }

    /// Words added to a bare 401 refusal, telling where a key comes from.
    pub fn key_hint(mut self, hint: impl Into<String>) -> Self {
        self.key_hint = Some(hint.into());
        self
    }

    /// The admin API's base URL, without a trailing slash.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The API key this client sends.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The shared HTTP client, for requests that are not admin API calls (upload parts).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The refusal of an answer with `status` and `body`, worded with this client's key hint.
    pub(crate) fn refusal(&self, status: StatusCode, body: &str) -> Box<Refusal> {
        Box::new(Refusal::new(status, body, self.key_hint.as_deref()))
    }

    /// `GET path`; the document, or the refusal as an error.
    pub async fn get(&self, path: &str) -> Result<Value, AdminError> {
        self.call(Method::GET, path, None).await
    }

    /// `POST path` with `body`.
    pub async fn post(&self, path: &str, body: Value) -> Result<Value, AdminError> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// `PATCH path` with `body`.
    pub async fn patch(&self, path: &str, body: Value) -> Result<Value, AdminError> {
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Result<Value, AdminError> {
        self.call(Method::DELETE, path, None).await
    }

    /// Every page of a list, following `links.next`; the `data` items of every page.
    pub async fn get_all(&self, path: &str) -> Result<Vec<Value>, AdminError> {
        let mut items = Vec::new();
        let mut next = Some(path.to_owned());
        while let Some(path) = next.take() {
            let page = self.get(&path).await?;
            if let Some(data) = page["data"].as_array() {
                items.extend(data.iter().cloned());
            }
            next = page["links"]["next"].as_str().map(|link| {
                // Links may be absolute or a path on this server.
                link.strip_prefix(&self.server).unwrap_or(link).to_owned()
            });
        }
        Ok(items)
    }

    /// One call, whatever its status: for checking the API's own answers (status codes,
    /// error documents). Only a request that got no answer is an error.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Answer, AdminError> {
        let (status, text) = self.exchange(method, path, body).await?;
        Ok(Answer {
            status: status.as_u16(),
            document: serde_json::from_str(&text).unwrap_or(Value::Null),
        })
    }

    /// One call; the document of a 2xx answer (`Null` when empty), else the refusal.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, AdminError> {
        let (status, text) = self.exchange(method.clone(), path, body).await?;
        if status.is_success() {
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text).map_err(|cause| AdminError::InvalidJson {
                method,
                path: path.to_owned(),
                status,
                cause,
            });
        }
        Err(AdminError::Refused {
            method,
            path: path.to_owned(),
            refusal: self.refusal(status, &text),
        })
    }

    async fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, String), AdminError> {
        let url = format!("{}{path}", self.server);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|cause| AdminError::Unreachable {
                server: self.server.clone(),
                cause,
            })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|cause| AdminError::Unreadable {
                method,
                path: path.to_owned(),
                cause,
            })?;
        Ok((status, text))
    }
}
