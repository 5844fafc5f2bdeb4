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
//! - [`public_resolver`]: name resolution that keeps webhooks out of the cluster's network.

mod attempt;
mod config;
mod deliverer;
mod public_resolver;
mod transport;

pub use attempt::{DELIVERY_HEADER, EVENT_HEADER, Job, SIGNATURE_HEADER};
pub use config::{DelivererConfig, DelivererConfigError};
pub use deliverer::Deliverer;
pub use public_resolver::PublicResolver;
pub use transport::{HttpTransport, Transport};
