//! [`incoming`]: the accepted connections of a node's internal gRPC listener, each one a
//! finished mutual-TLS handshake, for tonic's `serve_with_incoming_shutdown`.
//!
//! Handshakes run concurrently, each with a deadline, so a peer that opens a connection and
//! says nothing holds one slot for a few seconds and never the listener. The number of open
//! connections is capped; each holds its slot until it closes.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

use super::cluster_tls::ClusterTls;
use super::identity::Identity;

/// Limits of an internal gRPC listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// Connections open at once; more wait in the kernel's accept queue. Default 1,024.
    pub max_connections: usize,
    /// Time a peer has to finish the TLS handshake. Default 10 s.
    pub handshake_timeout: Duration,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// What every call on an accepted connection knows about its peer (tonic puts it in each
/// request's extensions).
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// Where the connection comes from.
    pub remote: Option<std::net::SocketAddr>,
    /// The identity its client certificate proves under the cluster CA, or why it proves
    /// none (no certificate, another CA's, expired, no identity in it).
    pub verdict: Result<Identity, String>,
}

/// One accepted cluster connection, with the verdict on its client certificate; whether it
/// may call a given service is decided per call ([`super::require`]).
pub struct ClusterConn {
    inner: TlsStream<TcpStream>,
    peer: PeerInfo,
    _slot: OwnedSemaphorePermit,
}

impl std::fmt::Debug for ClusterConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterConn")
    }
}

impl Connected for ClusterConn {
    type ConnectInfo = PeerInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.peer.clone()
    }
}

impl AsyncRead for ClusterConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ClusterConn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The connections `listener` accepts, handshaken with `tls` (the configuration in force when
/// each connection arrives). Ends when the stream is dropped, which closes the listener.
pub fn incoming(
    listener: TcpListener,
    tls: ClusterTls,
    limits: ListenerLimits,
) -> impl Stream<Item = std::io::Result<ClusterConn>> + Send + 'static {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(accept_loop(listener, tls, limits, tx));
    tokio_stream::StreamExt::map(ReceiverStream::new(rx), Ok)
}

async fn accept_loop(
    listener: TcpListener,
    tls: ClusterTls,
    limits: ListenerLimits,
    tx: mpsc::Sender<ClusterConn>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        let slot = tokio::select! {
            () = tx.closed() => return,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => return,
            },
        };
        let (stream, peer) = tokio::select! {
            () = tx.closed() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Raft and forwarded writes are small request/response pairs: never hold one back.
        let _ = stream.set_nodelay(true);
        let acceptance = tls.acceptance();
        let acceptor = TlsAcceptor::from(Arc::clone(&acceptance.server));
        let tx = tx.clone();
        let deadline = limits.handshake_timeout;
        tokio::spawn(async move {
            match tokio::time::timeout(deadline, acceptor.accept(stream)).await {
                Ok(Ok(inner)) => {
                    let verdict = acceptance.judge(inner.get_ref().1.peer_certificates());
                    if let Err(why) = &verdict {
                        tracing::info!(%peer, why, "an unauthenticated cluster connection");
                    }
                    let peer = PeerInfo {
                        remote: Some(peer),
                        verdict,
                    };
                    let _ = tx
                        .send(ClusterConn {
                            inner,
                            peer,
                            _slot: slot,
                        })
                        .await;
                }
                Ok(Err(e)) => {
                    tracing::info!(%peer, error = %e, "refused a cluster connection");
                }
                Err(_) => tracing::info!(%peer, "a cluster connection's TLS handshake timed out"),
            }
        });
    }
}
