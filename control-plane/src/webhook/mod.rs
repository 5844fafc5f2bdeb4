//! Webhook delivery: the runtime half of the catalog's outbox.
//!
//! The catalog queues a delivery for every event a webhook wants, in the same Raft entry as
//! the command that emitted it (see `packyard_core::catalog::webhook`). The [`Deliverer`]
//! runs on every node but works only while its node leads: it POSTs what is due, signed, and
//! proposes each outcome back as `RecordDeliveryAttempt`, so the retry schedule and the
//! delivery log are replicated like everything else. A leader that dies mid-request leaves
//! the delivery pending and the next leader sends it again: delivery is at least once, and
//! receivers de-duplicate on the event id.
//!
//! - [`config`]: how often to poll, how long to wait for an endpoint, how many at once.
//! - [`attempt`]: one signed POST and what it came to.
//! - [`transport`]: the seam the deliverer sends through: HTTP on a node, a recording fake in
//!   tests on paused time.
//! - [`deliverer`]: the polling task.
//! - [`fair_share`]: which endpoints get the free delivery slots: apps in turn, each with a
//!   cap, so one app's slow endpoints never hold another app's deliveries.
//! - [`public_resolver`]: the one name resolution a delivery makes, keeping webhooks out of
//!   the cluster's network.

mod attempt;
mod config;
mod deliverer;
mod fair_share;
mod public_resolver;
mod transport;

pub use attempt::{DELIVERY_HEADER, EVENT_HEADER, Job, REFUSED_TARGET, SIGNATURE_HEADER};
pub use config::{DelivererConfig, DelivererConfigError};
pub use deliverer::Deliverer;
pub use fair_share::FairShare;
pub use public_resolver::{NoPublicAddress, PublicResolver};
pub use transport::{HttpTransport, Transport};
