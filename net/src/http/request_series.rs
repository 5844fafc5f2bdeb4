//! [`RequestSeries`]: the request counter and duration histogram of an HTTP surface.

use std::time::Duration;

use metrics::{Key, Label, Level, Metadata, Recorder};

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// The two series an HTTP surface (the edge's device port, the origin's upload endpoint)
/// keeps of its requests: a counter by endpoint and status, and a histogram of durations by
/// endpoint (a status label there would multiply the buckets for little).
#[derive(Debug, Clone, Copy)]
pub struct RequestSeries {
    /// The counter's name (`…_requests_total`).
    pub requests: &'static str,
    /// The histogram's name (`…_request_duration_seconds`).
    pub duration: &'static str,
}

impl RequestSeries {
    /// Records one finished request (head sent) on `recorder`.
    pub fn record(
        &self,
        recorder: &dyn Recorder,
        endpoint: &'static str,
        status: u16,
        elapsed: Duration,
    ) {
        let labels = vec![
            Label::new("endpoint", endpoint),
            Label::new("status", status.to_string()),
        ];
        recorder
            .register_counter(&Key::from_parts(self.requests, labels), &METADATA)
            .increment(1);
        let by_endpoint = vec![Label::new("endpoint", endpoint)];
        recorder
            .register_histogram(&Key::from_parts(self.duration, by_endpoint), &METADATA)
            .record(elapsed.as_secs_f64());
    }
}
