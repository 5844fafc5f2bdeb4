//! Response bodies: small documents in one piece, archive bytes as a stream assembled chunk by
//! chunk from the cache.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::Frame;
use packyard_core::http_range::Segment;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::cache::CacheError;
use crate::metrics::EdgeMetrics;
use crate::state::CompletedVersion;
use crate::sync::Chunks;

/// Every response body the edge sends. A stream that fails half-way (the origin lost a chunk)
/// ends with the error, and hyper cuts the connection: a device never takes a short body for
/// a whole one.
pub type ResponseBody = BoxBody<Bytes, CacheError>;

/// Frames a body stream may hold ready ahead of the connection: with chunks of up to a few
/// MiB, memory per response stays bounded however large the archive.
const FRAMES_AHEAD: usize = 2;

/// A body of `bytes`.
pub(super) fn full(bytes: Bytes) -> ResponseBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// No body.
pub(super) fn empty() -> ResponseBody {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// Bodies of at most this many bytes are answered from memory in one piece when every chunk
/// they need is in the memory tier ([`ready`]); larger ones always stream.
pub(super) const READY_BODY_MAX: u64 = 16 << 20;

/// The body `segments` describe, when every chunk it needs is in the memory tier: the parts
/// (slices of the cached chunks, no copies) as frames that are ready at once, so hyper writes
/// the head and the body together instead of sending the head alone and waiting for a task
/// to produce the body. `None` when a chunk is not in memory or the body is larger than
/// [`READY_BODY_MAX`]: then [`stream`] it.
pub(super) fn ready(
    chunks: &Chunks,
    version: &CompletedVersion,
    segments: &[Segment],
    metrics: &EdgeMetrics,
) -> Option<ResponseBody> {
    let mut frames = Vec::new();
    let mut total = 0u64;
    for segment in segments {
        match segment {
            Segment::Literal(text) => frames.push(Bytes::from(text.clone())),
            Segment::Bytes(range) => {
                total += range.len();
                if total > READY_BODY_MAX {
                    return None;
                }
                for (chunk, part) in version.chunk_list.covering(range.to_range()) {
                    let bytes = chunks.get_in_memory(&chunk)?;
                    frames.push(bytes.slice(part.start as usize..part.end as usize));
                }
            }
        }
    }
    metrics.bytes_served(total);
    Some(match frames.len() {
        1 => full(frames.pop().unwrap_or_default()),
        _ => StreamBody::new(tokio_stream::iter(
            frames.into_iter().map(|b| Ok(Frame::data(b))),
        ))
        .boxed(),
    })
}

/// The body `segments` describe (literals, and byte ranges of `version`'s archive), streamed:
/// a task fetches each chunk a range covers in order, through the cache, and sends the part
/// the range needs as soon as it has it, so the first bytes leave before later chunks are
/// fetched and no more than a couple of chunks are held per response.
pub(super) fn stream(
    chunks: Chunks,
    version: Arc<CompletedVersion>,
    segments: Vec<Segment>,
    metrics: EdgeMetrics,
) -> ResponseBody {
    let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, CacheError>>(FRAMES_AHEAD);
    tokio::spawn(async move {
        for segment in segments {
            match segment {
                Segment::Literal(text) => {
                    if tx.send(Ok(Frame::data(Bytes::from(text)))).await.is_err() {
                        return;
                    }
                }
                Segment::Bytes(range) => {
                    for (chunk, part) in version.chunk_list.covering(range.to_range()) {
                        let bytes = match chunks.get(chunk).await {
                            Ok(bytes) => bytes,
                            Err(e) => {
                                tracing::warn!(error = %e, "a chunk failed mid-response");
                                let _ = tx.send(Err(e)).await;
                                return;
                            }
                        };
                        let slice = bytes.slice(part.start as usize..part.end as usize);
                        let n = slice.len() as u64;
                        if tx.send(Ok(Frame::data(slice))).await.is_err() {
                            // The device went away; stop fetching for it.
                            return;
                        }
                        metrics.bytes_served(n);
                    }
                }
            }
        }
    });
    StreamBody::new(ReceiverStream::new(rx)).boxed()
}
