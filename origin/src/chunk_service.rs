//! [`ChunkService`]: the `ChunkStore` gRPC service edges sync chunks from.

use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use packyard_chunk_store::{ChunkStore, ChunkStoreError};
use packyard_core::chunk_list::Blake3Hash;
use packyard_proto::chunks::v1 as pb;
use packyard_proto::chunks::v1::chunk_store_server::{self, ChunkStoreServer};
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// At most this many ids in one `Have` request (the contract in `chunks.proto`).
pub const MAX_HAVE_IDS: usize = 4096;

/// At most this many bytes of chunk data in one `ChunkFrame`; larger chunks are split.
pub const FRAME_LEN: usize = 1 << 20;

/// Limits of a [`ChunkService`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChunkServiceConfig {
    /// At most this many ids in one `Fetch` request. Default 1,024: with chunks of up to
    /// 1 MiB on average, about a gigabyte per stream, after which an edge asks again.
    pub max_fetch_ids: usize,
    /// How many frames a `Fetch` stream may hold ready for a slow receiver before the
    /// service stops reading chunks from the store. Default 4 (at most 4 MiB per stream,
    /// plus the one chunk being sent).
    pub frame_buffer: usize,
}

impl Default for ChunkServiceConfig {
    fn default() -> Self {
        Self {
            max_fetch_ids: 1024,
            frame_buffer: 4,
        }
    }
}

/// A [`ChunkServiceConfig`] field that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chunk service setting {field}: {reason}")]
pub struct InvalidConfig {
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl ChunkServiceConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        if self.max_fetch_ids == 0 {
            return Err(InvalidConfig {
                field: "max_fetch_ids",
                reason: "must be at least 1",
            });
        }
        if self.frame_buffer == 0 {
            return Err(InvalidConfig {
                field: "frame_buffer",
                reason: "must be at least 1",
            });
        }
        Ok(())
    }
}

/// Serves the chunks of one store to edges: which ones it holds (`Have`) and their bytes
/// (`Fetch`).
///
/// `Fetch` reads one chunk at a time, on a blocking thread, and hands its frames to a
/// channel of [`ChunkServiceConfig::frame_buffer`] frames that the response stream drains;
/// the next chunk is read only once the channel has room, so a slow receiver (through
/// HTTP/2 flow control) slows the reads and memory per stream stays bounded. Chunks the
/// store lacks, and chunks it finds corrupt, are sent as one frame with `missing` and `last`
/// set (it is that chunk's only frame) and no data. Other store failures end the stream with
/// `UNAVAILABLE`.
#[derive(Debug)]
pub struct ChunkService<S> {
    store: Arc<S>,
    config: ChunkServiceConfig,
}

impl<S: ChunkStore + 'static> ChunkService<S> {
    /// A service over `store` with the limits in `config`.
    pub fn new(store: Arc<S>, config: ChunkServiceConfig) -> Result<Self, InvalidConfig> {
        config.validate()?;
        Ok(Self { store, config })
    }

    /// The tonic server for this service, for edges only (mutual TLS).
    pub fn into_server(
        self,
    ) -> tonic::service::interceptor::InterceptedService<
        ChunkStoreServer<Self>,
        packyard_net::cluster::RequireRole,
    > {
        use packyard_net::cluster::{NodeRole, require};
        tonic::service::interceptor::InterceptedService::new(
            ChunkStoreServer::new(self),
            require("ChunkStore", &[NodeRole::Edge]),
        )
    }
}

/// Parses the ids of a request: at most `max`, each a 32-byte BLAKE3 hash.
fn parse_ids(ids: &[Vec<u8>], max: usize) -> Result<Vec<Blake3Hash>, Status> {
    if ids.len() > max {
        return Err(Status::invalid_argument(format!(
            "{} ids in one request; at most {max} are allowed, split the request",
            ids.len()
        )));
    }
    packyard_proto::convert::chunks::chunk_ids(ids)
        .map_err(|e| Status::invalid_argument(format!("{e}, as a chunk id is")))
}

/// How store failures reach a gRPC client. Corrupt chunks never get here: `Fetch` reports
/// them as missing.
fn status(e: &ChunkStoreError) -> Status {
    Status::unavailable(format!("the origin's chunk store failed: {e}"))
}

fn missing_frame(id: &Blake3Hash) -> pb::ChunkFrame {
    pb::ChunkFrame {
        id: id.as_bytes().to_vec(),
        offset: 0,
        data: Bytes::new(),
        last: true,
        missing: true,
    }
}

/// The frames of one chunk: consecutive slices of at most [`FRAME_LEN`] bytes (no copies),
/// `last` on the final one.
fn chunk_frames(id: Blake3Hash, bytes: Bytes) -> impl Iterator<Item = pb::ChunkFrame> {
    let len = bytes.len();
    // An empty chunk (which no store holds) would still get its one, last, frame.
    (0..len.max(1)).step_by(FRAME_LEN).map(move |start| {
        let end = len.min(start + FRAME_LEN);
        pb::ChunkFrame {
            id: id.as_bytes().to_vec(),
            // Stores hold chunks of at most `MAX_CHUNK_LEN` (16 MiB) bytes.
            offset: u32::try_from(start).unwrap_or(u32::MAX),
            data: bytes.slice(start..end),
            last: end == len,
            missing: false,
        }
    })
}

type Frames = mpsc::Sender<Result<pb::ChunkFrame, Status>>;

/// How many chunks of a fetch a store that groups chunks reads at once: neighbours come in
/// one request ([`ChunkStore::get_many`]), and the next group is read while this one is
/// sent. Other stores read one chunk at a time, only once the last is queued, so a slow
/// receiver holds back the reads after at most `frame_buffer` frames.
const READ_TOGETHER: usize = 16;

type Read = Vec<(Blake3Hash, Result<Option<Bytes>, ChunkStoreError>)>;

/// Reads `group` on a blocking thread: each chunk's bytes, absence or error.
fn read_group<S: ChunkStore + 'static>(
    store: Arc<S>,
    group: Vec<Blake3Hash>,
) -> tokio::task::JoinHandle<Read> {
    tokio::task::spawn_blocking(move || {
        if let [id] = group[..] {
            return vec![(id, store.get(&id))];
        }
        // A corrupt chunk fails the whole read: read that group one by one, so that it
        // alone is sent as missing.
        match store.get_many(&group) {
            Err(ChunkStoreError::Corrupt { .. }) => {
                group.iter().map(|id| (*id, store.get(id))).collect()
            }
            Err(e) => vec![(group[0], Err(e))],
            Ok(found) => group.into_iter().zip(found.into_iter().map(Ok)).collect(),
        }
    })
}

/// Reads the chunks (in groups, from a store that groups them) and queues their frames in
/// order, until done or the receiver leaves.
async fn send_chunks<S: ChunkStore + 'static>(store: Arc<S>, ids: Vec<Blake3Hash>, tx: Frames) {
    let together = if store.batch_bytes() > 0 {
        READ_TOGETHER
    } else {
        1
    };
    let mut groups = ids.chunks(together).map(<[Blake3Hash]>::to_vec);
    let mut reading = groups.next().map(|g| read_group(store.clone(), g));
    while let Some(handle) = reading.take() {
        if tx.is_closed() {
            return;
        }
        let read = match handle.await {
            Ok(read) => read,
            Err(join) => {
                tracing::error!(error = %join, "the chunk read task failed");
                let _ = tx
                    .send(Err(Status::internal("reading a chunk failed")))
                    .await;
                return;
            }
        };
        if together > 1 {
            reading = groups.next().map(|g| read_group(store.clone(), g));
        }
        for (id, read) in read {
            let frames: Box<dyn Iterator<Item = pb::ChunkFrame> + Send> = match read {
                Ok(Some(bytes)) => Box::new(chunk_frames(id, bytes)),
                Ok(None) => Box::new(std::iter::once(missing_frame(&id))),
                Err(ChunkStoreError::Corrupt { .. }) => {
                    tracing::warn!(chunk = %id, "corrupt chunk removed from the store; sent as missing");
                    Box::new(std::iter::once(missing_frame(&id)))
                }
                Err(e) => {
                    tracing::error!(chunk = %id, error = %e, "reading a chunk failed; ending the fetch");
                    let _ = tx.send(Err(status(&e))).await;
                    return;
                }
            };
            for frame in frames {
                if tx.send(Ok(frame)).await.is_err() {
                    return;
                }
            }
        }
        if together == 1 {
            reading = groups.next().map(|g| read_group(store.clone(), g));
        }
    }
}

#[tonic::async_trait]
impl<S: ChunkStore + 'static> chunk_store_server::ChunkStore for ChunkService<S> {
    async fn have(
        &self,
        request: Request<pb::HaveRequest>,
    ) -> Result<Response<pb::HaveReply>, Status> {
        let ids = parse_ids(&request.into_inner().ids, MAX_HAVE_IDS)?;
        let store = self.store.clone();
        let present = tokio::task::spawn_blocking(move || store.contains_many(&ids))
            .await
            .map_err(|_| Status::internal("the chunk lookup task failed"))?
            .map_err(|e| status(&e))?;
        Ok(Response::new(pb::HaveReply { present }))
    }

    type FetchStream = Pin<Box<dyn Stream<Item = Result<pb::ChunkFrame, Status>> + Send>>;

    async fn fetch(
        &self,
        request: Request<pb::FetchRequest>,
    ) -> Result<Response<Self::FetchStream>, Status> {
        let ids = parse_ids(&request.into_inner().ids, self.config.max_fetch_ids)?;
        let (tx, rx) = mpsc::channel(self.config.frame_buffer);
        tokio::spawn(send_chunks(self.store.clone(), ids, tx));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_is_split_into_frames_of_at_most_one_mebibyte() {
        let bytes = Bytes::from(vec![9u8; 2 * FRAME_LEN + 10]);
        let id = Blake3Hash::of(&bytes);
        let frames: Vec<_> = chunk_frames(id, bytes).collect();
        let shape: Vec<_> = frames
            .iter()
            .map(|f| (f.offset, f.data.len(), f.last))
            .collect();
        assert_eq!(
            shape,
            vec![
                (0, FRAME_LEN, false),
                (1 << 20, FRAME_LEN, false),
                (2 << 20, 10, true)
            ]
        );
        assert!(frames.iter().all(|f| f.id == id.as_bytes() && !f.missing));
    }

    #[test]
    fn a_chunk_of_exactly_one_frame_is_one_last_frame() {
        let bytes = Bytes::from(vec![1u8; FRAME_LEN]);
        let frames: Vec<_> = chunk_frames(Blake3Hash::of(&bytes), bytes).collect();
        assert_eq!(frames.len(), 1);
        assert!(frames[0].last);
    }

    #[test]
    fn ids_must_be_32_bytes_and_few_enough() {
        let e = parse_ids(&[vec![0; 32], vec![0; 31]], 10).unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(
            e.message().contains("ids[1]: is 31 bytes"),
            "{}",
            e.message()
        );
        let e = parse_ids(&vec![vec![0; 32]; 11], 10).unwrap_err();
        assert!(e.message().contains("11 ids"), "{}", e.message());
        assert_eq!(
            parse_ids(&[vec![5; 32]], 10).unwrap(),
            vec![Blake3Hash::from_bytes([5; 32])]
        );
    }

    #[test]
    fn a_config_without_room_is_refused() {
        let zero = ChunkServiceConfig {
            frame_buffer: 0,
            ..ChunkServiceConfig::default()
        };
        assert_eq!(zero.validate().unwrap_err().field, "frame_buffer");
        assert!(ChunkServiceConfig::default().validate().is_ok());
    }
}
