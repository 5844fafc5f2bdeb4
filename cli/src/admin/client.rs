//! The admin API over HTTP: JSON:API documents in, JSON:API documents out, and an API error
//! document turned into an error that says what the server refused and why.

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A connection to one control plane's admin API, authenticated with one API key.
pub(crate) struct AdminClient {
    http: reqwest::Client,
    server: String,
    key: String,
}

impl AdminClient {
    /// A client for `server` (`http://host:port`, no trailing slash needed) using `key`,
    /// trusting `ca` (PEM certificates) for https servers besides the usual roots.
    pub(crate) fn new(server: &str, key: String, ca: Option<&[u8]>) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60));
        if let Some(pem) = ca {
            for cert in reqwest::Certificate::from_pem_bundle(pem)
                .context("the --ca-cert file holds no PEM certificate")?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().context("building the HTTP client")?;
        Ok(Self {
            http,
            server: server.trim_end_matches('/').to_owned(),
            key,
        })
    }

    /// The shared HTTP client, for requests that are not admin API calls (upload parts).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(Method::POST, path, Some(body)).await
    }

    pub(crate) async fn patch(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub(crate) async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.call(Method::DELETE, path, None).await
    }

    /// Every page of a list, following `links.next`.
    pub(crate) async fn get_all(&self, path: &str) -> anyhow::Result<Vec<Value>> {
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

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
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
            .map_err(|e| anyhow!("cannot reach the admin API at {}: {e}", self.server))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .with_context(|| format!("reading the answer to {method} {path}"))?;
        if status.is_success() {
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text)
                .with_context(|| format!("{method} {path} answered {status} with invalid JSON"));
        }
        Err(api_error(status, &text)).with_context(|| format!("{method} {path}"))
    }
}

/// The first error of a JSON:API error document, or the raw body when it is not one.
pub(crate) fn api_error(status: StatusCode, body: &str) -> anyhow::Error {
    let doc: Option<Value> = serde_json::from_str(body).ok();
    let first = doc.as_ref().and_then(|d| d["errors"].get(0));
    match first {
        Some(e) => {
            let code = e["code"].as_str().unwrap_or("");
            let detail = e["detail"]
                .as_str()
                .or_else(|| e["title"].as_str())
                .unwrap_or("");
            anyhow!("{} {code}: {detail}", status.as_u16())
        }
        None if status == StatusCode::UNAUTHORIZED => anyhow!(
            "401: the API key was not accepted (pass --key, set PACKYARD_ADMIN_KEY, or put key in the config file)"
        ),
        None => anyhow!("{status}: {}", body.trim()),
    }
}
