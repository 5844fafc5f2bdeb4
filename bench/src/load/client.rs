//! [`Sender`]: one HTTP/1.1 or HTTP/2 (prior knowledge) connection, made with hyper 1's
//! connection-level API so that the tool decides exactly how many connections there are, and
//! [`exchange`]: one request on it, checked and timed.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::verify::{Failure, check_body, check_head};
use super::workload::Planned;

/// The HTTP version spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Protocol {
    /// HTTP/1.1 with keep-alive: one request at a time per connection.
    #[serde(rename = "HTTP/1.1")]
    Http1,
    /// HTTP/2 over cleartext with prior knowledge (`h2c`): several streams per connection.
    #[serde(rename = "HTTP/2")]
    Http2,
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Http1 => "HTTP/1.1",
            Protocol::Http2 => "HTTP/2",
        })
    }
}

/// A server to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Where to connect.
    pub addr: SocketAddr,
    /// `host:port` as the URL named it (the `Host` header and `:authority`).
    pub authority: String,
}

/// The sending half of one connection.
#[derive(Debug)]
pub enum Sender {
    /// An HTTP/1.1 connection.
    H1(http1::SendRequest<Full<Bytes>>),
    /// An HTTP/2 connection; clones share it, each sending its own streams.
    H2(http2::SendRequest<Full<Bytes>>),
}

impl Sender {
    /// Opens a connection (TCP without Nagle's delay, then the HTTP handshake); the connection
    /// runs on a task of its own until every clone of the sender is dropped.
    pub async fn connect(server: &Server, protocol: Protocol) -> Result<Self, String> {
        let tcp = TcpStream::connect(server.addr)
            .await
            .map_err(|e| format!("connecting to {}: {e}", server.addr))?;
        tcp.set_nodelay(true)
            .map_err(|e| format!("setting TCP_NODELAY: {e}"))?;
        let io = TokioIo::new(tcp);
        match protocol {
            Protocol::Http1 => {
                let (sender, conn) = http1::handshake(io)
                    .await
                    .map_err(|e| format!("HTTP/1.1 handshake with {}: {e}", server.addr))?;
                tokio::spawn(conn);
                Ok(Sender::H1(sender))
            }
            Protocol::Http2 => {
                let (sender, conn) = http2::Builder::new(TokioExecutor::new())
                    .initial_stream_window_size(4 << 20)
                    .initial_connection_window_size(16 << 20)
                    .handshake(io)
                    .await
                    .map_err(|e| format!("HTTP/2 handshake with {}: {e}", server.addr))?;
                tokio::spawn(conn);
                Ok(Sender::H2(sender))
            }
        }
    }

    /// Another sender on the same connection, for HTTP/2 (HTTP/1.1 has one request at a time).
    pub fn share(&self) -> Option<Self> {
        match self {
            Sender::H1(_) => None,
            Sender::H2(s) => Some(Sender::H2(s.clone())),
        }
    }

    async fn send(
        &mut self,
        server: &Server,
        planned: &Planned,
    ) -> Result<http::Response<hyper::body::Incoming>, Failure> {
        let mut builder = Request::builder().method(planned.method.clone());
        builder = match self {
            Sender::H1(_) => builder
                .uri(planned.path.as_str())
                .header(header::HOST, server.authority.as_str()),
            Sender::H2(_) => {
                let uri: Uri = format!("http://{}{}", server.authority, planned.path)
                    .parse()
                    .map_err(|_| Failure::Transport)?;
                builder.uri(uri)
            }
        };
        for (name, value) in &planned.headers {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(Full::new(planned.body.clone()))
            .map_err(|_| Failure::Transport)?;
        match self {
            Sender::H1(s) => {
                s.ready().await.map_err(|_| Failure::Transport)?;
                s.send_request(request)
                    .await
                    .map_err(|_| Failure::Transport)
            }
            Sender::H2(s) => {
                s.ready().await.map_err(|_| Failure::Transport)?;
                s.send_request(request)
                    .await
                    .map_err(|_| Failure::Transport)
            }
        }
    }
}

/// What the response head said, for callers that need more than success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// `Content-Length`, when sent and a number.
    pub content_length: Option<u64>,
}

/// How one request went.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// When the response head arrived, if it did.
    pub first_byte: Option<Instant>,
    /// The response head, if one came.
    pub head: Option<Head>,
    /// Body bytes received.
    pub bytes: u64,
    /// Success, or why not.
    pub result: Result<(), Failure>,
}

/// Sends `planned`, reads the whole body (counting it, never keeping it) and checks the answer.
/// A wrong status or header still drains the body, so an HTTP/1.1 connection stays usable.
pub async fn exchange(sender: &mut Sender, server: &Server, planned: &Planned) -> Exchange {
    let response = match sender.send(server, planned).await {
        Ok(r) => r,
        Err(failure) => {
            return Exchange {
                first_byte: None,
                head: None,
                bytes: 0,
                result: Err(failure),
            };
        }
    };
    let first_byte = Some(Instant::now());
    let head_seen = Some(Head {
        status: response.status().as_u16(),
        content_length: response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok()),
    });
    let head = check_head(&planned.expect, response.status(), response.headers());
    let mut body = response.into_body();
    let mut bytes = 0u64;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    bytes += data.len() as u64;
                }
            }
            Err(_) => {
                return Exchange {
                    first_byte,
                    head: head_seen,
                    bytes,
                    result: Err(Failure::Transport),
                };
            }
        }
    }
    let result = head.and_then(|()| check_body(&planned.expect, bytes));
    Exchange {
        first_byte,
        head: head_seen,
        bytes,
        result,
    }
}
