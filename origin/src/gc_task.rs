//! [`run_gc`]: periodic garbage collection of chunks no kept version names.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use packyard_chunk_store::ChunkStore;
use packyard_chunk_store::gc::{GcReport, collect_garbage};

use crate::config::GcConfig;
use crate::control::ControlPlane;
use crate::process::CatalogView;
use packyard_catalog_client::Stop;

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

/// The lease a collection over a shared store runs under, and how long it is taken for.
const GC_LEASE: &str = "gc";
const GC_LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// Collects every `config.interval()` until `stop`, the first time one interval after start.
///
/// With `shared` (the control plane, when other origins share the store), each collection
/// runs under the lease `gc`, so one origin at a time walks the bucket; an origin that
/// finds it held skips its turn.
pub async fn run_gc<S: ChunkStore + 'static>(
    store: Arc<S>,
    view: Arc<Mutex<CatalogView>>,
    config: GcConfig,
    shared: Option<ControlPlane>,
    stop: Stop,
) {
    while stop.sleep(config.interval()).await {
        if let Some(control) = &shared {
            match control.acquire_lease(GC_LEASE, GC_LEASE_TTL).await {
                Ok(Ok(())) => {}
                Ok(Err(held)) => {
                    tracing::info!(held, "garbage collection skipped: another origin runs it");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "garbage collection skipped: no lease");
                    continue;
                }
            }
        }
        let collected = collect_once(&store, &view, &config).await;
        if let Some(control) = &shared
            && let Err(e) = control.release_lease(GC_LEASE).await
        {
            tracing::debug!(error = %e, "cannot let the gc lease go; it runs out by itself");
        }
        match collected {
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

#[cfg(test)]
mod tests {
    use packyard_chunk_store::MemoryChunkStore;
    use packyard_core::Blake3Hash;
    use packyard_proto::catalog::v1 as pb;

    use super::*;

    #[tokio::test]
    async fn nothing_is_collected_before_the_snapshot_then_only_unnamed_chunks_go() {
        let store = Arc::new(MemoryChunkStore::new());
        let (live, dead) = (
            b"named by a version".as_slice(),
            b"named by none".as_slice(),
        );
        for bytes in [live, dead] {
            store.put(&Blake3Hash::of(bytes), bytes).unwrap();
        }
        let view = Mutex::new(CatalogView::new());
        let config = GcConfig {
            interval_secs: 1,
            grace_secs: 0,
            ..GcConfig::default()
        };
        assert!(collect_once(&store, &view, &config).await.is_none());

        let snapshot = pb::WatchEvent {
            index: 3,
            body: Some(pb::watch_event::Body::Snapshot(pb::Snapshot {
                versions: vec![pb::VersionCompleted {
                    pack_id: "p".into(),
                    version: 1,
                    chunks: vec![pb::Chunk {
                        id: Blake3Hash::of(live).as_bytes().to_vec(),
                        length: 18,
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            })),
        };
        view.lock().unwrap().apply(&snapshot);
        std::thread::sleep(std::time::Duration::from_millis(5));
        let report = collect_once(&store, &view, &config).await.unwrap().unwrap();
        assert_eq!(report.removed, vec![Blake3Hash::of(dead)]);
        assert!(store.contains(&Blake3Hash::of(live)).unwrap());
    }
}
