//! [`TimedBody`]: a request body that fails once it goes quiet for too long or takes too long
//! in all, so a client that sends its body a byte at a time cannot hold a connection (and
//! whatever the handler holds) forever.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// Why a body stopped: it was too slow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyTimeout {
    /// No byte arrived for this long.
    #[error("the request body sent nothing for {0:?}")]
    Idle(Duration),
    /// The whole body did not arrive in this long.
    #[error("the request body did not arrive within {0:?}")]
    Total(Duration),
}

/// Whether `error` (or anything it wraps) is a [`BodyTimeout`], and which.
pub fn body_timeout<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a BodyTimeout> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(timeout) = e.downcast_ref::<BodyTimeout>() {
            return Some(timeout);
        }
        current = e.source();
    }
    None
}

/// `inner`, failing with [`BodyTimeout`] when a frame takes longer than `idle` or the body
/// longer than `total` (counted from when the request arrived).
pub struct TimedBody<B> {
    inner: B,
    idle: Duration,
    total: Duration,
    idle_timer: Pin<Box<Sleep>>,
    total_timer: Pin<Box<Sleep>>,
    done: bool,
}

impl<B> std::fmt::Debug for TimedBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimedBody")
            .field("idle", &self.idle)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl<B> TimedBody<B> {
    /// Wraps `inner`; the clocks start now.
    pub fn new(inner: B, idle: Duration, total: Duration) -> Self {
        let now = Instant::now();
        Self {
            inner,
            idle,
            total,
            idle_timer: Box::pin(tokio::time::sleep_until(now + idle)),
            total_timer: Box::pin(tokio::time::sleep_until(now + total)),
            done: false,
        }
    }
}

impl<B> Body for TimedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = Instant::now() + this.idle;
                this.idle_timer.as_mut().reset(next);
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => {
                this.done = true;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        if this.total_timer.as_mut().poll(cx).is_ready() {
            this.done = true;
            return Poll::Ready(Some(Err(Box::new(BodyTimeout::Total(this.total)))));
        }
        if this.idle_timer.as_mut().poll(cx).is_ready() {
            this.done = true;
            return Poll::Ready(Some(Err(Box::new(BodyTimeout::Idle(this.idle)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    type Chunks = StreamBody<
        tokio_stream::wrappers::ReceiverStream<Result<Frame<Bytes>, std::convert::Infallible>>,
    >;

    fn channel_body() -> (
        tokio::sync::mpsc::Sender<Result<Frame<Bytes>, std::convert::Infallible>>,
        Chunks,
    ) {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        (
            tx,
            StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(rx)),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_goes_quiet_fails_after_the_idle_timeout() {
        let (tx, body) = channel_body();
        let mut body = TimedBody::new(body, Duration::from_secs(5), Duration::from_secs(60));
        tx.send(Ok(Frame::data(Bytes::from_static(b"a"))))
            .await
            .unwrap();
        assert!(body.frame().await.unwrap().is_ok());
        let err = body.frame().await.unwrap().unwrap_err();
        assert_eq!(
            body_timeout(&*err),
            Some(&BodyTimeout::Idle(Duration::from_secs(5)))
        );
        drop(tx);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_trickles_fails_after_the_total_timeout() {
        let (tx, body) = channel_body();
        let mut body = TimedBody::new(body, Duration::from_secs(5), Duration::from_secs(12));
        let sender = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(4)).await;
                if tx
                    .send(Ok(Frame::data(Bytes::from_static(b"a"))))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        let mut frames = 0;
        let err = loop {
            match body.frame().await.unwrap() {
                Ok(_) => frames += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(
            frames, 2,
            "frames at 4 s and 8 s arrive, the one at 12 s is too late"
        );
        assert_eq!(
            body_timeout(&*err),
            Some(&BodyTimeout::Total(Duration::from_secs(12)))
        );
        sender.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_in_time_is_read_whole() {
        let body = http_body_util::Full::new(Bytes::from_static(b"hello"));
        let body = TimedBody::new(body, Duration::from_secs(1), Duration::from_secs(1));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "hello");
    }
}
