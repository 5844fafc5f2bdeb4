//! Where a webhook may be sent: not into the cluster's own network. A webhook URL is chosen by
//! an app's Admin, and the control plane sends to it from inside the cluster, so a URL naming
//! a loopback, link-local (cloud metadata), private or otherwise internal address would let
//! an Admin make the control plane call services no outsider reaches. Those are refused
//! unless the operator allows them.
//!
//! - [`WebhookUrl`]: the URL read with the HTTP client's own (WHATWG) parser, refused when
//!   ambiguous, not http(s), carrying credentials, or naming an internal address in any
//!   spelling (`127.1`, `2130706433`, `0x7f.1`, `[::ffff:7f00:1]` …). Checked when a webhook
//!   is created and again at every delivery.
//! - [`internal_address`]: which addresses are internal. A name is judged by this on every
//!   address it resolves to when each delivery is sent, and the connection is made to those
//!   checked addresses only.
//! - `spellings` (feature `test-support`): property-test strategies that write internal
//!   addresses every way a URL parser reads them.

mod address;
#[cfg(any(test, feature = "test-support"))]
pub mod spellings;
mod webhook_url;

pub use address::internal_address;
pub use webhook_url::{MAX_WEBHOOK_URL_LEN, TargetHost, UrlError, WebhookUrl};
