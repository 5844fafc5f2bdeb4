//! [`ClusterTls::channel`]: a lazily connecting gRPC channel to another node over mutual TLS,
//! that checks the node it reaches is of the role it meant to reach.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tonic::transport::{Channel, Endpoint};

use super::cluster_tls::ClusterTls;
use super::identity::NodeRole;

/// How long a connection attempt may take, TLS included.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a channel cannot be made.
#[derive(Debug, thiserror::Error)]
#[error("{addr:?} is not HOST:PORT: {reason}")]
pub struct ChannelError {
    /// The address given.
    pub addr: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ClusterTls {
    /// A channel to the `expect` node at `addr` (`HOST:PORT`). It connects on first use and
    /// again after a failure; each connection uses the certificates in force at that moment.
    pub fn channel(&self, addr: &str, expect: NodeRole) -> Result<Channel, ChannelError> {
        connect_lazy(
            addr,
            Connector::Cluster {
                tls: self.clone(),
                expect,
            },
        )
    }

    /// A channel that always uses `config` (tests that present odd certificates).
    #[cfg(feature = "test-support")]
    pub(crate) fn channel_with(
        addr: &str,
        config: std::sync::Arc<rustls::ClientConfig>,
    ) -> Result<Channel, ChannelError> {
        connect_lazy(addr, Connector::Fixed(config))
    }
}

fn connect_lazy(addr: &str, connector: Connector) -> Result<Channel, ChannelError> {
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| ChannelError {
            addr: addr.to_owned(),
            reason: e.to_string(),
        })?
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(10));
    Ok(endpoint.connect_with_connector_lazy(connector))
}

#[derive(Clone)]
enum Connector {
    /// The node's own material, in force at each connection, checking the peer's role.
    Cluster { tls: ClusterTls, expect: NodeRole },
    /// One configuration for every connection.
    #[cfg_attr(not(feature = "test-support"), allow(dead_code))]
    Fixed(std::sync::Arc<rustls::ClientConfig>),
}

type Connecting =
    Pin<Box<dyn Future<Output = std::io::Result<TokioIo<TlsStream<TcpStream>>>> + Send>>;

impl tower::Service<Uri> for Connector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = std::io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let config = match self {
            Connector::Cluster { tls, expect } => tls.client_config(*expect),
            Connector::Fixed(config) => std::sync::Arc::clone(config),
        };
        Box::pin(async move {
            let host = uri
                .host()
                .ok_or_else(|| std::io::Error::other(format!("{uri} names no host")))?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let port = uri.port_u16().unwrap_or(80);
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            // The name is only what TLS sends as SNI; peers are checked by identity.
            let name = ServerName::try_from(host.clone())
                .map_err(|e| std::io::Error::other(format!("{host}: {e}")))?;
            let tls = TlsConnector::from(config).connect(name, tcp).await?;
            Ok(TokioIo::new(tls))
        })
    }
}
