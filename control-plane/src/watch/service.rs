//! [`WatchService`]: the `CatalogWatch` gRPC service edges and origins follow.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::catalog_watch_server::{CatalogWatch, CatalogWatchServer};
use packyard_proto::catalog::v1::watch_event::Body;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::feed::{ChangeFeed, FeedEntry, Start};
use crate::convert;
use crate::store::{CatalogStore, StoreError};

/// How many events may wait for a slow watcher before it is cut off (and must resume).
const WATCHER_BUFFER: usize = 256;

/// Serves the watch stream from one node's [`ChangeFeed`].
#[derive(Debug, Clone)]
pub struct WatchService<S> {
    store: S,
    feed: Arc<ChangeFeed>,
    heartbeat: Duration,
}

impl<S: CatalogStore + Clone> WatchService<S> {
    /// A service over `store`, whose applied entries `feed` publishes; quiet streams get a
    /// heartbeat every `heartbeat`.
    pub fn new(store: S, feed: Arc<ChangeFeed>, heartbeat: Duration) -> Self {
        Self {
            store,
            feed,
            heartbeat,
        }
    }

    /// The tonic server for this service, for edges and origins only.
    pub fn into_server(
        self,
    ) -> tonic::service::interceptor::InterceptedService<
        CatalogWatchServer<Self>,
        packyard_net::cluster::RequireRole,
    > {
        use packyard_net::cluster::{NodeRole, require};
        tonic::service::interceptor::InterceptedService::new(
            CatalogWatchServer::new(self),
            require("CatalogWatch", &[NodeRole::Edge, NodeRole::Origin]),
        )
    }
}

fn event(index: u64, body: Body) -> pb::WatchEvent {
    pb::WatchEvent {
        index,
        body: Some(body),
    }
}

fn entry_event(entry: &FeedEntry) -> pb::WatchEvent {
    event(entry.index, Body::Changes(convert::changes(&entry.changes)))
}

fn unavailable(e: StoreError) -> Status {
    Status::unavailable(e.to_string())
}

/// Sends everything `live` brings after `sent` (the last index already sent), with a
/// heartbeat whenever the stream has been quiet for `heartbeat`, until the watcher leaves or
/// falls too far behind.
async fn follow(
    feed: Arc<ChangeFeed>,
    mut live: broadcast::Receiver<Arc<FeedEntry>>,
    mut sent: u64,
    heartbeat: Duration,
    tx: mpsc::Sender<Result<pb::WatchEvent, Status>>,
) {
    loop {
        let next = match tokio::time::timeout(heartbeat, live.recv()).await {
            Ok(Ok(entry)) => Some(entry),
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                let why = "this watcher fell behind; reconnect with from_index = the last index handled + 1";
                let _ = tx.send(Err(Status::resource_exhausted(why))).await;
                return;
            }
            Ok(Err(broadcast::error::RecvError::Closed)) => return,
            Err(_quiet) => None,
        };
        let Some(entry) = next else {
            // Every entry with changes up to `last` was handed to `live` before `last` was
            // published, so drain those first; then `last` is true for this watcher too.
            let last = feed.last_index();
            while let Ok(entry) = live.try_recv() {
                if entry.index > sent {
                    sent = entry.index;
                    if tx.send(Ok(entry_event(&entry))).await.is_err() {
                        return;
                    }
                }
            }
            sent = sent.max(last);
            if tx
                .send(Ok(event(sent, Body::Heartbeat(pb::Heartbeat {}))))
                .await
                .is_err()
            {
                return;
            }
            continue;
        };
        if entry.index <= sent {
            continue;
        }
        sent = entry.index;
        if tx.send(Ok(entry_event(&entry))).await.is_err() {
            return;
        }
    }
}

#[tonic::async_trait]
impl<S: CatalogStore + Clone> CatalogWatch for WatchService<S> {
    type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchEvent, Status>> + Send>>;

    async fn watch(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let from = request.into_inner().from_index;
        let (tx, rx) = mpsc::channel(WATCHER_BUFFER);
        let (first, sent, live) = match self.feed.start(from) {
            Start::Snapshot { live } => {
                let feed = self.feed.clone();
                let (changes, index) = self
                    .store
                    .read(move |catalog| (catalog.serving_snapshot(), feed.last_index()))
                    .await
                    .map_err(unavailable)?;
                let snapshot = event(index, Body::Snapshot(convert::snapshot(&changes)));
                (vec![snapshot], index, live)
            }
            Start::Resume { backlog, live } => {
                let sent = backlog.last().map_or(from.saturating_sub(1), |e| e.index);
                (backlog.iter().map(|e| entry_event(e)).collect(), sent, live)
            }
        };
        for e in first {
            // The buffer is empty and as large as any backlog worth sending at once.
            if tx.try_send(Ok(e)).is_err() {
                return Err(Status::resource_exhausted(
                    "too much history to replay at once; reconnect with from_index = 0 for a snapshot",
                ));
            }
        }
        tokio::spawn(follow(self.feed.clone(), live, sent, self.heartbeat, tx));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
