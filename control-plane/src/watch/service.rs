//! [`WatchService`]: the `CatalogWatch` gRPC service edges and origins follow.

use std::future::Future;
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
use crate::store::{CatalogStore, StoreError};
use packyard_proto::convert::catalog as convert;

/// How many events may wait for a slow watcher before it is cut off (and must resume).
const WATCHER_BUFFER: usize = 256;

/// Whether the node serving a watch stream is cut off from the cluster's majority: `None`
/// while it is in touch, otherwise why (see `raft::Standing`).
pub type CutOff =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Option<String>> + Send>> + Send + Sync>;

/// A [`CutOff`] for a node that is never cut off (a single process, a test).
pub fn never_cut_off() -> CutOff {
    Arc::new(|| Box::pin(async { None }))
}

/// Serves the watch stream from one node's [`ChangeFeed`].
#[derive(Clone)]
pub struct WatchService<S> {
    store: S,
    feed: Arc<ChangeFeed>,
    heartbeat: Duration,
    cut_off: CutOff,
}

impl<S: std::fmt::Debug> std::fmt::Debug for WatchService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchService")
            .field("store", &self.store)
            .field("heartbeat", &self.heartbeat)
            .finish_non_exhaustive()
    }
}

impl<S: CatalogStore + Clone> WatchService<S> {
    /// A service over `store`, whose applied entries `feed` publishes; quiet streams get a
    /// heartbeat every `heartbeat`.
    pub fn new(store: S, feed: Arc<ChangeFeed>, heartbeat: Duration) -> Self {
        Self {
            store,
            feed,
            heartbeat,
            cut_off: never_cut_off(),
        }
    }

    /// Refuses new watchers, and ends the streams of those it has at their next heartbeat,
    /// with `UNAVAILABLE` while `cut_off` says this node is cut off from the majority: it
    /// has nothing new to send, and its watchers move to another member.
    #[must_use]
    pub fn with_cut_off(mut self, cut_off: CutOff) -> Self {
        self.cut_off = cut_off;
        self
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

fn move_on(why: &str) -> Status {
    Status::unavailable(format!("{why}; watch another control-plane member"))
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
    (heartbeat, cut_off): (Duration, CutOff),
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
            if let Some(why) = cut_off().await {
                let _ = tx.send(Err(move_on(&why))).await;
                return;
            }
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
        if let Some(why) = (self.cut_off)().await {
            return Err(move_on(&why));
        }
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
        let timing = (self.heartbeat, Arc::clone(&self.cut_off));
        tokio::spawn(follow(self.feed.clone(), live, sent, timing, tx));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
