//! [`EdgeMetrics`]: what an edge measures, registered on a recorder the caller hands in (the
//! binary builds the Prometheus exporter; nothing here is global).
//!
//! Names follow `packyard_edge_<what>_<unit>`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use metrics::{Counter, Gauge, Key, Label, Level, Metadata, Recorder, Unit};
use packyard_net::http::RequestSeries;

use crate::cache::CacheCounters;

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

const REQUEST_SERIES: RequestSeries = RequestSeries {
    requests: "packyard_edge_requests_total",
    duration: "packyard_edge_request_duration_seconds",
};
const BYTES_SERVED: &str = "packyard_edge_bytes_served_total";
const CACHE_HITS: &str = "packyard_edge_cache_hits_total";
const CACHE_MISSES: &str = "packyard_edge_cache_misses_total";
const ORIGIN_FETCHES: &str = "packyard_edge_origin_fetches_total";
const ORIGIN_BYTES: &str = "packyard_edge_origin_fetched_bytes_total";
const ORIGIN_FAILURES: &str = "packyard_edge_origin_fetch_failures_total";
const CORRUPT: &str = "packyard_edge_corrupt_chunks_total";
const DISK_ERRORS: &str = "packyard_edge_cache_disk_errors_total";
const SYNC_LAG: &str = "packyard_edge_sync_lag_entries";
const APPLIED: &str = "packyard_edge_catalog_applied_index";

/// Renders everything the recorder holds, in the Prometheus text format.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// The edge's metrics. Cheap to clone.
#[derive(Clone)]
pub struct EdgeMetrics {
    recorder: Arc<dyn Recorder + Send + Sync>,
    render: Render,
    cache: Arc<CacheCounters>,
    bytes_served: Counter,
    origin_fetches: Counter,
    origin_bytes: Counter,
    memory_hits: Counter,
    disk_hits: Counter,
    misses: Counter,
    origin_failures: Counter,
    corrupt: Counter,
    disk_errors: Counter,
    cert_expiry: Gauge,
    sync_lag: Gauge,
    applied_index: Gauge,
}

impl fmt::Debug for EdgeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EdgeMetrics")
    }
}

impl EdgeMetrics {
    /// Registers the edge's metrics on `recorder`; `render` produces the `/metrics` page from
    /// the same recorder. The cache's `counters` are copied onto the page when it renders.
    pub fn new(
        recorder: Arc<dyn Recorder + Send + Sync>,
        render: Render,
        cache: Arc<CacheCounters>,
    ) -> Self {
        let counter = |name: &'static str, text: &'static str| {
            recorder.describe_counter(name.into(), Some(Unit::Count), text.into());
            recorder.register_counter(&Key::from_static_name(name), &METADATA)
        };
        let gauge = |name: &'static str, text: &'static str| {
            recorder.describe_gauge(name.into(), None, text.into());
            recorder.register_gauge(&Key::from_static_name(name), &METADATA)
        };
        recorder.describe_counter(
            REQUEST_SERIES.requests.into(),
            Some(Unit::Count),
            "Device requests, by endpoint and status.".into(),
        );
        recorder.describe_histogram(
            REQUEST_SERIES.duration.into(),
            Some(Unit::Seconds),
            "Time to the response head, by endpoint.".into(),
        );
        recorder.describe_counter(
            CACHE_HITS.into(),
            Some(Unit::Count),
            "Chunk requests answered by a cache tier, by tier.".into(),
        );
        let tier = |t: &'static str| {
            recorder.register_counter(
                &Key::from_parts(CACHE_HITS, vec![Label::new("tier", t)]),
                &METADATA,
            )
        };
        let memory_hits = tier("memory");
        let disk_hits = tier("disk");
        Self {
            bytes_served: counter(BYTES_SERVED, "Archive bytes sent to devices."),
            origin_fetches: counter(ORIGIN_FETCHES, "Chunks fetched from the origin."),
            origin_bytes: counter(
                ORIGIN_BYTES,
                "Chunk bytes received from the origin (fetches that succeeded).",
            ),
            misses: counter(CACHE_MISSES, "Chunk requests neither cache tier held."),
            origin_failures: counter(
                ORIGIN_FAILURES,
                "Chunk fetches from the origin that failed (unreachable, missing, refused).",
            ),
            corrupt: counter(
                CORRUPT,
                "Chunks found corrupt in the disk cache, dropped and fetched again.",
            ),
            disk_errors: counter(
                DISK_ERRORS,
                "Disk tier reads and writes that failed (a full or failing disk); the chunk was \
                 fetched or served from memory instead.",
            ),
            cert_expiry: packyard_net::cluster::expiry_gauge(recorder.as_ref()),
            sync_lag: gauge(
                SYNC_LAG,
                "Catalog entries between the last index heard of and the last applied.",
            ),
            applied_index: gauge(APPLIED, "The last catalog index applied."),
            memory_hits,
            disk_hits,
            recorder,
            render,
            cache,
        }
    }

    /// Records one finished request (head sent).
    pub fn request(&self, endpoint: &'static str, status: u16, elapsed: Duration) {
        REQUEST_SERIES.record(self.recorder.as_ref(), endpoint, status, elapsed);
    }

    /// Counts archive bytes sent.
    pub fn bytes_served(&self, n: u64) {
        self.bytes_served.increment(n);
    }

    /// Counts one chunk fetch from the origin.
    pub fn origin_fetch(&self) {
        self.origin_fetches.increment(1);
    }

    /// Counts one chunk fetch from the origin that failed.
    pub fn origin_fetch_failed(&self) {
        self.origin_failures.increment(1);
    }

    /// Counts `n` chunk bytes received from the origin.
    pub fn origin_fetched_bytes(&self, n: u64) {
        self.origin_bytes.increment(n);
    }

    /// Records the watch stream's progress.
    pub fn sync(&self, applied_index: u64, lag: u64) {
        #[allow(
            clippy::cast_precision_loss,
            reason = "gauges are f64; indexes stay far below 2^53"
        )]
        {
            self.applied_index.set(applied_index as f64);
            self.sync_lag.set(lag as f64);
        }
    }

    /// The gauge of when this node's cluster certificate expires.
    pub fn certificate_expiry(&self) -> Gauge {
        self.cert_expiry.clone()
    }

    /// The `/metrics` page, with the cache's counters as of now.
    pub fn render(&self) -> String {
        let c = self.cache.snapshot();
        self.memory_hits.absolute(c.memory_hits);
        self.disk_hits.absolute(c.disk_hits);
        self.misses.absolute(c.misses);
        self.corrupt.absolute(c.corrupt_dropped);
        self.disk_errors.absolute(c.disk_errors);
        (self.render)()
    }
}
