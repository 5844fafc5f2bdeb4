//! [`OriginMetrics`]: what an origin measures, registered on a recorder the caller hands in
//! (the binary builds the Prometheus exporter; nothing here is global), served at `/metrics`
//! on the upload listener.
//!
//! Names follow `packyard_origin_<what>_<unit>`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use metrics::{Key, Label, Level, Metadata, Recorder, Unit};
use packyard_net::http::RequestSeries;

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

const REQUEST_SERIES: RequestSeries = RequestSeries {
    requests: "packyard_origin_upload_requests_total",
    duration: "packyard_origin_upload_request_duration_seconds",
};
const PROCESSED: &str = "packyard_origin_versions_processed_total";
const PROCESSING: &str = "packyard_origin_processing_duration_seconds";

/// Renders everything the recorder holds, in the Prometheus text format.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// The origin's metrics. Cheap to clone.
#[derive(Clone)]
pub struct OriginMetrics {
    recorder: Arc<dyn Recorder + Send + Sync>,
    render: Render,
}

impl fmt::Debug for OriginMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OriginMetrics")
    }
}

impl OriginMetrics {
    /// Registers the origin's metrics on `recorder`; `render` produces the `/metrics` page.
    pub fn new(recorder: Arc<dyn Recorder + Send + Sync>, render: Render) -> Self {
        recorder.describe_counter(
            REQUEST_SERIES.requests.into(),
            Some(Unit::Count),
            "Upload endpoint requests, by endpoint and status.".into(),
        );
        recorder.describe_histogram(
            REQUEST_SERIES.duration.into(),
            Some(Unit::Seconds),
            "Upload endpoint request latency (a part's is its whole body), by endpoint.".into(),
        );
        recorder.describe_counter(
            PROCESSED.into(),
            Some(Unit::Count),
            "Versions processed, by outcome (complete, failed).".into(),
        );
        recorder.describe_histogram(
            PROCESSING.into(),
            Some(Unit::Seconds),
            "Time to process a version: reading its parts, chunking, hashing, storing.".into(),
        );
        // Both outcomes exist from the start, so a rate of failures is 0, not absent.
        for outcome in ["complete", "failed"] {
            recorder
                .register_counter(
                    &Key::from_parts(PROCESSED, vec![Label::new("outcome", outcome)]),
                    &METADATA,
                )
                .absolute(0);
        }
        // As is the processing histogram, with zero samples.
        let _registered =
            recorder.register_histogram(&Key::from_static_name(PROCESSING), &METADATA);
        Self { recorder, render }
    }

    /// The gauge of when this node's cluster certificate expires.
    pub fn certificate_expiry(&self) -> metrics::Gauge {
        packyard_net::cluster::expiry_gauge(self.recorder.as_ref())
    }

    /// A recorder that keeps nothing, for tests that do not read metrics.
    pub fn discard() -> Self {
        Self::new(Arc::new(metrics::NoopRecorder), Arc::new(String::new))
    }

    /// Records one finished upload endpoint request.
    pub fn request(&self, endpoint: &'static str, status: u16, elapsed: Duration) {
        REQUEST_SERIES.record(self.recorder.as_ref(), endpoint, status, elapsed);
    }

    /// Records a version processed to `outcome` (`complete` or `failed`) in `elapsed`.
    pub fn processed(&self, outcome: &'static str, elapsed: Duration) {
        self.recorder
            .register_counter(
                &Key::from_parts(PROCESSED, vec![Label::new("outcome", outcome)]),
                &METADATA,
            )
            .increment(1);
        self.recorder
            .register_histogram(&Key::from_static_name(PROCESSING), &METADATA)
            .record(elapsed.as_secs_f64());
    }

    /// The `/metrics` page.
    pub fn render(&self) -> String {
        (self.render)()
    }
}
