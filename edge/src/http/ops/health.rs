//! `/healthz` and `/readyz`, on the device listeners and the operations listener.

use http::Response;

use super::super::body::ResponseBody;
use super::super::service::{EdgeService, json, set};

impl EdgeService {
    /// `/healthz` (`ready` false) and `/readyz`: JSON naming the service, as every Packyard
    /// service answers them; `/readyz` is 503 until the edge has the catalog.
    pub(in crate::http) fn healthz(&self, ready: bool) -> Response<ResponseBody> {
        let state = self.read();
        let unready = ready && !state.is_synced();
        let doc = serde_json::json!({
            "status": if unready { "unavailable" } else { "ok" },
            "service": "edge",
            "synced": state.is_synced(),
            "appliedIndex": state.applied_index(),
            "tokenKeys": self.secret.get().is_some(),
        });
        let mut response = json(doc.to_string().into_bytes());
        if unready {
            *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
            set(response.headers_mut(), http::header::RETRY_AFTER, "1");
        }
        response
    }
}
