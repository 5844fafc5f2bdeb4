//! [`ChunkSource`] and [`OriginFetcher`]: where a missing chunk comes from.

use std::future::Future;
use std::pin::Pin;

use bytes::{Bytes, BytesMut};
use packyard_core::Blake3Hash;
use packyard_core::chunk_list::MAX_CHUNK_LEN;
use packyard_net::cluster::{Addresses, ChannelError, ClusterTls, Members, NodeRole};
use packyard_proto::chunks::v1 as pb;
use packyard_proto::chunks::v1::chunk_store_client::ChunkStoreClient;
use tonic::transport::Channel;

/// A boxed fetch, as the cache's fill function runs it.
pub type FetchFuture = Pin<Box<dyn Future<Output = Result<Bytes, FetchError>> + Send + 'static>>;

/// Somewhere chunks can be fetched from: the origin, or a test's memory.
pub trait ChunkSource: Send + Sync + 'static {
    /// The bytes of chunk `id`. The cache verifies them against `id`.
    fn fetch(&self, id: Blake3Hash) -> FetchFuture;
}

/// Why a chunk could not be fetched.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    /// The origin could not be asked (down, unreachable, refused).
    #[error("the origin failed: {0}")]
    Origin(String),
    /// The origin does not hold the chunk.
    #[error("the origin does not hold chunk {0}")]
    Missing(Blake3Hash),
    /// The origin's frames do not make one chunk.
    #[error("the origin sent chunk {id} malformed: {reason}")]
    Malformed {
        /// The chunk.
        id: Blake3Hash,
        /// What was wrong.
        reason: String,
    },
}

/// Fetches chunks from an origin's `ChunkStore` gRPC service, one chunk per `Fetch` call (the
/// cache asks per chunk, and single flight makes each call unique).
#[derive(Debug, Clone)]
pub struct OriginFetcher {
    origins: Members,
}

impl OriginFetcher {
    /// A lazily connected client of the origins at `addrs` (each `HOST:PORT`, its chunk
    /// service), over mutual TLS with `tls`.
    pub fn connect(tls: &ClusterTls, addrs: &Addresses) -> Result<Self, ChannelError> {
        Ok(Self {
            origins: tls.members(addrs, NodeRole::Origin)?,
        })
    }

    /// Chunk `id` from the origin in use; when that one fails or lacks the chunk, from the
    /// next, each origin at most once. A malformed answer is not retried: it is a fault to
    /// see, not a node to route around.
    async fn fetch_any(origins: Members, id: Blake3Hash) -> Result<Bytes, FetchError> {
        let mut last = FetchError::Missing(id);
        for _ in 0..origins.len() {
            let origin = origins.current();
            match Self::fetch_one(origin.channel.clone(), id).await {
                Err(e @ (FetchError::Origin(_) | FetchError::Missing(_))) => {
                    origins.failed(&origin, &e);
                    last = e;
                }
                done => return done,
            }
        }
        Err(last)
    }

    async fn fetch_one(channel: Channel, id: Blake3Hash) -> Result<Bytes, FetchError> {
        let mut client = ChunkStoreClient::new(channel);
        let request = pb::FetchRequest {
            ids: vec![id.as_bytes().to_vec()],
        };
        let mut stream = client
            .fetch(request)
            .await
            .map_err(|s| FetchError::Origin(s.to_string()))?
            .into_inner();
        let mut assembly = Assembly::new(id);
        while let Some(frame) = stream
            .message()
            .await
            .map_err(|s| FetchError::Origin(s.to_string()))?
        {
            if let Some(bytes) = assembly.push(frame)? {
                return Ok(bytes);
            }
        }
        Err(FetchError::Malformed {
            id,
            reason: "the stream ended before the chunk's last frame".into(),
        })
    }
}

impl ChunkSource for OriginFetcher {
    fn fetch(&self, id: Blake3Hash) -> FetchFuture {
        Box::pin(Self::fetch_any(self.origins.clone(), id))
    }
}

/// One chunk being put together from its frames, in order.
#[derive(Debug)]
pub(crate) struct Assembly {
    id: Blake3Hash,
    buf: BytesMut,
}

impl Assembly {
    pub(crate) fn new(id: Blake3Hash) -> Self {
        Self {
            id,
            buf: BytesMut::new(),
        }
    }

    /// Adds a frame; the whole chunk once its last frame arrived.
    pub(crate) fn push(&mut self, frame: pb::ChunkFrame) -> Result<Option<Bytes>, FetchError> {
        let malformed = |reason: String| FetchError::Malformed {
            id: self.id,
            reason,
        };
        if frame.id != self.id.as_bytes() {
            return Err(malformed("a frame names another chunk".into()));
        }
        if frame.missing {
            return Err(FetchError::Missing(self.id));
        }
        if u64::from(frame.offset) != self.buf.len() as u64 {
            return Err(malformed(format!(
                "a frame starts at {} but {} bytes were received",
                frame.offset,
                self.buf.len()
            )));
        }
        if self.buf.len() + frame.data.len() > MAX_CHUNK_LEN as usize {
            return Err(malformed(format!("longer than {MAX_CHUNK_LEN} bytes")));
        }
        self.buf.extend_from_slice(&frame.data);
        Ok(frame.last.then(|| std::mem::take(&mut self.buf).freeze()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn frame(id: Blake3Hash, offset: u32, data: &[u8], last: bool) -> pb::ChunkFrame {
        pb::ChunkFrame {
            id: id.as_bytes().to_vec(),
            offset,
            data: Bytes::copy_from_slice(data),
            last,
            missing: false,
        }
    }

    #[test]
    fn frames_reassemble_in_order_and_gaps_or_missing_are_errors() {
        let id = Blake3Hash::of(b"abcdef");
        let mut a = Assembly::new(id);
        assert_eq!(a.push(frame(id, 0, b"abc", false)).unwrap(), None);
        let whole = a.push(frame(id, 3, b"def", true)).unwrap().unwrap();
        assert_eq!(&whole[..], b"abcdef");

        let mut gap = Assembly::new(id);
        gap.push(frame(id, 0, b"abc", false)).unwrap();
        assert!(matches!(
            gap.push(frame(id, 4, b"ef", true)),
            Err(FetchError::Malformed { .. })
        ));
        let mut missing = Assembly::new(id);
        let mut m = frame(id, 0, b"", true);
        m.missing = true;
        assert!(matches!(missing.push(m), Err(FetchError::Missing(_))));
        let mut other = Assembly::new(id);
        assert!(
            other
                .push(frame(Blake3Hash::of(b"x"), 0, b"x", true))
                .is_err()
        );
    }
}
