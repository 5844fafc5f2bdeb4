//! Processing: from committed upload files to a version the control plane serves.
//!
//! - [`follow`] keeps a [`CatalogView`] from the watch stream: the versions awaiting
//!   processing, and the chunks of every kept version (for garbage collection).
//! - [`Pipeline`] queues each announced version once and runs at most
//!   `processing_concurrency` [`Processor`]s at a time.
//! - [`Processor`] checks the parts, chunks the archive into the store (every chunk synced
//!   before the next step), checks the SHA-256 and the manifest ([`metadata`]), reports
//!   COMPLETE or FAILED, and deletes the staged parts once the control plane has the report.
//!
//! Crash safety: a version becomes COMPLETE only through a report sent after all its chunks
//! are stored. An origin that stops half-way reports nothing; after a restart the snapshot
//! still lists the version as processing and it is processed again (storing a chunk twice is
//! harmless).

mod follower;
pub mod metadata;
mod processor;
mod store_io;
mod view;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use packyard_chunk_store::ChunkStore;
use packyard_core::catalog::VersionId;
use tokio::sync::{Semaphore, mpsc};

pub use follower::follow;
pub use processor::{ProcessError, ProcessHooks, Processor};
pub use view::CatalogView;

use crate::control::ProcessingVersion;
use packyard_catalog_client::Stop;

/// How long a version whose processing failed locally (disk, control plane) waits before
/// it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// Runs each announced version through a [`Processor`], at most `concurrency` at once.
#[derive(Debug)]
pub struct Pipeline<S> {
    processor: Arc<Processor<S>>,
    view: Arc<Mutex<CatalogView>>,
    /// Versions queued or being processed, so a snapshot that lists them again after a
    /// reconnect does not start them twice.
    queued: Mutex<HashSet<VersionId>>,
    tx: mpsc::UnboundedSender<ProcessingVersion>,
    slots: Arc<Semaphore>,
}

impl<S: ChunkStore + 'static> Pipeline<S> {
    /// A pipeline and the queue its [`run`](Self::run) drains.
    pub fn new(
        processor: Processor<S>,
        view: Arc<Mutex<CatalogView>>,
        concurrency: usize,
    ) -> (Arc<Self>, mpsc::UnboundedReceiver<ProcessingVersion>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let pipeline = Self {
            processor: Arc::new(processor),
            view,
            queued: Mutex::new(HashSet::new()),
            tx,
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
        };
        (Arc::new(pipeline), rx)
    }

    /// Queues `v` unless it is already queued or being processed.
    pub fn enqueue(&self, v: ProcessingVersion) {
        let fresh = self
            .queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(v.version.clone());
        if fresh {
            let _ = self.tx.send(v);
        }
    }

    /// Processes queued versions until `stop`.
    pub async fn run(
        self: Arc<Self>,
        mut rx: mpsc::UnboundedReceiver<ProcessingVersion>,
        stop: Stop,
    ) {
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            let v = tokio::select! {
                () = stop.stopped() => break,
                v = rx.recv() => match v { Some(v) => v, None => break },
            };
            let permit = tokio::select! {
                () = stop.stopped() => break,
                permit = self.slots.clone().acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let me = self.clone();
            let stop = stop.clone();
            tasks.spawn(async move {
                let result = me.processor.run(&v).await;
                drop(permit);
                me.finish(v, result, &stop).await;
            });
            while tasks.try_join_next().is_some() {}
        }
        while tasks.join_next().await.is_some() {}
    }

    async fn finish(&self, v: ProcessingVersion, result: Result<(), ProcessError>, stop: &Stop) {
        match result {
            Ok(()) => {
                self.view
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .settled(&v.version);
                self.queued
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&v.version);
            }
            Err(ProcessError::Stopped) => {
                tracing::info!(version = %v.version, "processing stopped; it resumes after a restart");
            }
            Err(ProcessError::Elsewhere(held)) => {
                tracing::info!(version = %v.version, held = %held, "another origin is processing it");
                // Looked at again later: if that origin dies, its lease runs out and this
                // one takes over; once a report settles the version, it is dropped.
                if stop.sleep(RETRY_AFTER).await {
                    let waiting = self
                        .view
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .processing()
                        .any(|p| p.version == v.version);
                    if waiting {
                        let _ = self.tx.send(v);
                    } else {
                        self.queued
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .remove(&v.version);
                    }
                }
            }
            Err(ProcessError::Local(e)) => {
                tracing::error!(version = %v.version, error = %e, "processing failed here; retrying later");
                if stop.sleep(RETRY_AFTER).await {
                    let _ = self.tx.send(v);
                }
            }
        }
    }
}
