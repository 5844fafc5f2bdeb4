//! [`KeptStream`]: one long-lived gRPC stream to a peer carrying request/answer pairs, each
//! answered in order before the next is sent, in place of a call per request.
//!
//! A unary call costs a new HTTP/2 stream, request headers, response headers and trailers,
//! and a task on the peer; on a stream, a request is one message. Raft appends and forwarded
//! proposals use it (BENCHMARKS.md, control plane vs etcd).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

/// An open stream: where requests go, and the answers in order.
#[derive(Debug)]
pub struct KeptStream<Req, Resp> {
    requests: mpsc::Sender<Req>,
    answers: Streaming<Resp>,
}

/// The kept stream to one peer, shared by everything that talks to it: `None` until first
/// used, and again after it failed. Whoever holds the lock has the stream to itself for one
/// request and its answer; whoever finds it locked makes a call of its own instead.
pub type StreamSlot<Req, Resp> = Arc<Mutex<Option<KeptStream<Req, Resp>>>>;

/// Sends `request` on the stream in `slot` (opened with `open` if there is none) and waits
/// up to `ttl` for its answer. A stream that fails, or whose caller gives up mid-way (this
/// future dropped), is closed and not put back: a late answer can never be taken for the
/// next request's.
pub async fn exchange<Req, Resp, Open, Opening>(
    slot: &mut Option<KeptStream<Req, Resp>>,
    open: Open,
    request: Req,
    ttl: Duration,
) -> Result<Resp, Status>
where
    Open: FnOnce(ReceiverStream<Req>) -> Opening,
    Opening: Future<Output = Result<tonic::Response<Streaming<Resp>>, Status>>,
{
    let mut stream = match slot.take() {
        Some(stream) => stream,
        None => {
            let (requests, queued) = mpsc::channel(1);
            let answers = tokio::time::timeout(ttl, open(ReceiverStream::new(queued)))
                .await
                .map_err(|_| Status::unavailable("opening the stream timed out"))??
                .into_inner();
            KeptStream { requests, answers }
        }
    };
    stream
        .requests
        .send(request)
        .await
        .map_err(|_| Status::unavailable("the stream closed"))?;
    match tokio::time::timeout(ttl, stream.answers.message()).await {
        Ok(Ok(Some(answer))) => {
            *slot = Some(stream);
            Ok(answer)
        }
        Ok(Ok(None)) => Err(Status::unavailable("the peer closed the stream")),
        Ok(Err(status)) => Err(status),
        Err(_) => Err(Status::deadline_exceeded("no answer on the stream in time")),
    }
}
