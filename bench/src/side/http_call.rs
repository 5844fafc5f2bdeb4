//! [`call`]: one plain HTTP/1.1 request with a fresh connection, for setting servers up and
//! reading them, not for load.
//!
//! The admin API is driven through `packyard-admin-client` (`side::packyard`), as users drive
//! it. This is for what that client does not do, or must not do here: etcd's API, `/metrics`
//! pages, and the control soak's writes and reads, which must each see their own fate
//! (refused at connect, 503 without a leader, cut off in flight) to know which writes were
//! acknowledged, where the admin client would retry and follow the leader.

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// Sends `method url` with `body` (JSON when `json`) and an optional bearer token; returns the
/// status and the whole body.
pub async fn call(
    method: Method,
    url: &str,
    bearer: Option<&str>,
    body: Bytes,
    json: bool,
) -> Result<(u16, Bytes), String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let authority = uri
        .authority()
        .ok_or_else(|| format!("{url} names no host"))?
        .to_string();
    let tcp = TcpStream::connect(&authority)
        .await
        .map_err(|e| format!("connecting to {authority}: {e}"))?;
    let (mut sender, conn) = http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    tokio::spawn(conn);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, authority.as_str());
    if let Some(token) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    req = req.header(
        header::CONTENT_TYPE,
        if json {
            "application/json"
        } else {
            "application/octet-stream"
        },
    );
    let req = req
        .body(Full::new(body))
        .map_err(|e| format!("{url}: {e}"))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{url}: reading the body: {e}"))?
        .to_bytes();
    Ok((status, body))
}

/// A JSON call: the body is `value`'s JSON; the answer is parsed (`Null` when not JSON).
pub async fn call_json(
    method: Method,
    url: &str,
    bearer: Option<&str>,
    value: Option<&Value>,
) -> Result<(u16, Value), String> {
    let body = value.map_or_else(Bytes::new, |v| Bytes::from(v.to_string()));
    let (status, bytes) = call(method, url, bearer, body, true).await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

/// The value of counter `name` (summed over its label sets) in a Prometheus text page.
pub fn prometheus_value(page: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in page.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with(' ') || rest.starts_with('{')) {
            continue;
        }
        let value = rest.rsplit(' ').next()?.parse::<f64>().ok()?;
        found = Some(found.unwrap_or(0.0) + value);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_counters_are_summed_over_labels() {
        let page =
            "# HELP x_total things\nx_total{a=\"1\"} 3\nx_total{a=\"2\"} 4\nx_total_other 9\ny 1\n";
        assert_eq!(prometheus_value(page, "x_total"), Some(7.0));
        assert_eq!(prometheus_value(page, "y"), Some(1.0));
        assert_eq!(prometheus_value(page, "z"), None);
    }
}
