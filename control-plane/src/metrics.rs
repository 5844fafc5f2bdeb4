//! [`ControlMetrics`]: what a control-plane node measures, registered on a recorder the caller
//! hands in (the binary builds the Prometheus exporter; nothing here is global).
//!
//! Names follow `packyard_control_<what>_<unit>`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder, Unit};

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

const API_REQUESTS: &str = "packyard_control_api_requests_total";
const API_DURATION: &str = "packyard_control_api_request_duration_seconds";
const RAFT_TERM: &str = "packyard_control_raft_term";
const RAFT_LEADER: &str = "packyard_control_raft_is_leader";
const RAFT_COMMIT: &str = "packyard_control_raft_commit_index";
const RAFT_APPLIED: &str = "packyard_control_raft_applied_index";
const RAFT_LAG: &str = "packyard_control_raft_apply_lag_entries";
const RAFT_IN_TOUCH: &str = "packyard_control_raft_in_touch_with_majority";
const RAFT_LEADS: &str = "packyard_control_raft_leader_with_majority";
const WEBHOOK_PENDING: &str = "packyard_control_webhook_deliveries_pending";
const WEBHOOK_OLDEST: &str = "packyard_control_webhook_oldest_pending_age_seconds";

/// Renders everything the recorder holds, in the Prometheus text format.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// The control plane's metrics.
#[derive(Clone)]
pub struct ControlMetrics {
    recorder: Arc<dyn Recorder + Send + Sync>,
    render: Render,
    raft: RaftGauges,
    webhooks: WebhookGauges,
}

/// How far behind webhook deliveries are, as gauges (from this node's replica of the catalog).
#[derive(Clone)]
pub struct WebhookGauges {
    /// Deliveries not yet delivered or abandoned.
    pub pending: Gauge,
    /// How long ago the oldest pending delivery's event happened, in seconds; 0 when none is.
    pub oldest_age: Gauge,
}

/// Where this node's Raft stands, as gauges.
#[derive(Clone)]
pub struct RaftGauges {
    /// The current term.
    pub term: Gauge,
    /// 1 while this node leads, else 0.
    pub is_leader: Gauge,
    /// The highest log index known committed.
    pub commit_index: Gauge,
    /// The highest log index applied to this node's catalog.
    pub applied_index: Gauge,
    /// Committed entries not yet applied here.
    pub apply_lag: Gauge,
    /// 1 while this node is in touch with a majority (a leader a majority confirms, a
    /// follower that knows a leader), 0 once it has been out of touch for two election
    /// timeouts.
    pub in_touch: Gauge,
    /// 1 while this node leads and a majority confirms it: the one gauge to alert on for
    /// "no leader", since a leader cut off from the rest still says it leads
    /// (`packyard_control_raft_is_leader`) until it hears of a later term.
    pub leads_with_majority: Gauge,
}

impl fmt::Debug for ControlMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ControlMetrics")
    }
}

impl ControlMetrics {
    /// Registers the control plane's metrics on `recorder`; `render` produces the `/metrics`
    /// page from the same recorder.
    pub fn new(recorder: Arc<dyn Recorder + Send + Sync>, render: Render) -> Self {
        let describe = |name: &'static str, unit, text: &'static str| {
            recorder.describe_gauge(name.into(), unit, text.into());
        };
        recorder.describe_counter(
            API_REQUESTS.into(),
            Some(Unit::Count),
            "Admin API requests, by endpoint and status.".into(),
        );
        recorder.describe_histogram(
            API_DURATION.into(),
            Some(Unit::Seconds),
            "Admin API request latency, by endpoint and status.".into(),
        );
        describe(RAFT_TERM, None, "The node's current Raft term.");
        describe(RAFT_LEADER, None, "1 while this node is the Raft leader.");
        describe(
            RAFT_COMMIT,
            None,
            "The highest log index known to be committed.",
        );
        describe(
            RAFT_APPLIED,
            None,
            "The highest log index applied to this node's catalog.",
        );
        describe(
            RAFT_LAG,
            Some(Unit::Count),
            "Committed log entries not yet applied here.",
        );
        describe(
            RAFT_IN_TOUCH,
            None,
            "1 while this node is in touch with a majority of the cluster.",
        );
        describe(
            RAFT_LEADS,
            None,
            "1 while this node leads and a majority confirms it.",
        );
        describe(
            WEBHOOK_PENDING,
            Some(Unit::Count),
            "Webhook deliveries not yet delivered or abandoned.",
        );
        describe(
            WEBHOOK_OLDEST,
            Some(Unit::Seconds),
            "How long ago the oldest pending webhook delivery's event happened (0: none).",
        );
        let gauge =
            |name: &'static str| recorder.register_gauge(&Key::from_static_name(name), &METADATA);
        let webhooks = WebhookGauges {
            pending: gauge(WEBHOOK_PENDING),
            oldest_age: gauge(WEBHOOK_OLDEST),
        };
        let raft = RaftGauges {
            term: gauge(RAFT_TERM),
            is_leader: gauge(RAFT_LEADER),
            commit_index: gauge(RAFT_COMMIT),
            applied_index: gauge(RAFT_APPLIED),
            apply_lag: gauge(RAFT_LAG),
            in_touch: gauge(RAFT_IN_TOUCH),
            leads_with_majority: gauge(RAFT_LEADS),
        };
        Self {
            recorder,
            render,
            raft,
            webhooks,
        }
    }

    /// Records one finished admin API request.
    pub fn api_request(&self, endpoint: &'static str, status: u16, elapsed: Duration) {
        let labels = [
            Label::new("endpoint", endpoint),
            Label::new("status", status.to_string()),
        ];
        let counter: Counter = self
            .recorder
            .register_counter(&Key::from_parts(API_REQUESTS, labels.to_vec()), &METADATA);
        counter.increment(1);
        let histogram: Histogram = self
            .recorder
            .register_histogram(&Key::from_parts(API_DURATION, labels.to_vec()), &METADATA);
        histogram.record(elapsed.as_secs_f64());
    }

    /// The webhook backlog gauges, for the task that reads them from the catalog.
    pub fn webhooks(&self) -> &WebhookGauges {
        &self.webhooks
    }

    /// The gauge of when this node's cluster certificate expires.
    pub fn certificate_expiry(&self) -> Gauge {
        packyard_net::cluster::expiry_gauge(self.recorder.as_ref())
    }

    /// The Raft gauges, for the task that follows this node's Raft state.
    pub fn raft(&self) -> &RaftGauges {
        &self.raft
    }

    /// The `/metrics` page.
    pub fn render(&self) -> String {
        (self.render)()
    }
}

#[cfg(test)]
mod tests {
    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;

    /// Metrics over a real Prometheus recorder, as the binary builds them.
    pub(crate) fn prometheus() -> ControlMetrics {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        ControlMetrics::new(Arc::new(recorder), Arc::new(move || handle.render()))
    }

    #[test]
    fn requests_and_raft_state_show_on_the_page_with_their_labels() {
        let m = prometheus();
        m.api_request("CreateApp", 201, Duration::from_millis(3));
        m.api_request("CreateApp", 201, Duration::from_millis(5));
        m.api_request("GetApp", 404, Duration::from_millis(1));
        m.raft().term.set(7.0);
        m.raft().apply_lag.set(2.0);
        m.raft().leads_with_majority.set(1.0);
        let page = m.render();
        assert!(
            page.contains("packyard_control_raft_leader_with_majority 1"),
            "{page}"
        );
        assert!(
            page.contains("packyard_control_raft_in_touch_with_majority 0"),
            "{page}"
        );
        assert!(
            page.contains(
                r#"packyard_control_api_requests_total{endpoint="CreateApp",status="201"} 2"#
            ),
            "{page}"
        );
        assert!(
            page.contains(r#"endpoint="GetApp",status="404"} 1"#),
            "{page}"
        );
        assert!(
            page.contains("packyard_control_api_request_duration_seconds"),
            "{page}"
        );
        assert!(page.contains("packyard_control_raft_term 7"), "{page}");
        assert!(
            page.contains("packyard_control_raft_apply_lag_entries 2"),
            "{page}"
        );
    }
}
