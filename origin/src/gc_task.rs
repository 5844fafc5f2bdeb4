//! [`run_gc`]: periodic garbage collection of chunks no kept version names.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use packyard_chunk_store::ChunkStore;
use packyard_chunk_store::gc::{GcReport, collect_garbage};

use crate::config::GcConfig;
use crate::process::CatalogView;
use crate::stop::Stop;

/// One collection, if the view is whole: every chunk that no kept version names and that
/// was written more than the grace period ago is removed. `None` before the first snapshot,
/// when the view cannot tell a live chunk from a dead one.
pub async fn collect_once<S: ChunkStore + 'static>(
    store: &Arc<S>,
    view: &Mutex<CatalogView>,
    config: &GcConfig,
) -> Option<Result<GcReport, packyard_chunk_store::ChunkStoreError>> {
    let live = {
        let view = view.lock().unwrap_or_else(PoisonError::into_inner);
        if !view.is_synced() {
            return None;
        }
        view.live_chunks()
    };
    let store = store.clone();
    let grace = config.grace();
    tokio::task::spawn_blocking(move || collect_garbage(&*store, &live, grace, SystemTime::now()))
        .await
        .ok()
}

/// Collects every `config.interval()` until `stop`, the first time one interval after start.
pub async fn run_gc<S: ChunkStore + 'static>(
    store: Arc<S>,
    view: Arc<Mutex<CatalogView>>,
    config: GcConfig,
    stop: Stop,
) {
    while stop.sleep(config.interval()).await {
        match collect_once(&store, &view, &config).await {
            None => tracing::info!("garbage collection skipped: no snapshot of the catalog yet"),
            Some(Ok(report)) => tracing::info!(
                removed = report.removed.len(),
                bytes = report.bytes_removed,
                kept_recent = report.kept_recent,
                "garbage collection done"
            ),
            Some(Err(e)) => tracing::error!(error = %e, "garbage collection failed"),
        }
    }
}
