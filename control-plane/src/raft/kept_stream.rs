//! [`KeptStream`]: one long-lived gRPC stream to a peer carrying request/answer pairs, each
//! answered in order before the next is sent, in place of a call per request.
//!
//! A unary call costs a new HTTP/2 stream, request headers, response headers and trailers,
//! and a task on the peer; on a stream, a request is one message. Raft appends and forwarded
//! proposals use it (BENCHMARKS.md, control plane vs etcd).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

/// Answers of a stream's requests computed but not yet sent; the sender waits for each
/// answer before its next request, so one is all there ever is.
const BACKLOG: usize = 4;

/// The server's side: answers each request of `requests` with `handle`, one at a time and in
/// order. An error is sent and ends the stream; so does the client going away.
pub fn answer_in_order<Req, Resp, Handle, Handling>(
    mut requests: Streaming<Req>,
    handle: Handle,
) -> Pin<Box<dyn Stream<Item = Result<Resp, Status>> + Send + 'static>>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    Handle: Fn(Req) -> Handling + Send + 'static,
    Handling: Future<Output = Result<Resp, Status>> + Send,
{
    let (answers, rx) = mpsc::channel(BACKLOG);
    tokio::spawn(async move {
        while let Ok(Some(request)) = requests.message().await {
            let answer = handle(request).await;
            let failed = answer.is_err();
            if answers.send(answer).await.is_err() || failed {
                return;
            }
        }
    });
    Box::pin(ReceiverStream::new(rx))
}

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

/// The client's side: sends `request` on the stream in `slot` (opened with `open` if there is none) and waits
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
