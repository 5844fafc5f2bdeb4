//! Time-dependent behaviour on paused Tokio time: the leader's soak timer, webhook retries,
//! upload expiry, edge leases and watch-stream heartbeats.
//!
//! Each test runs the control plane's own task (or its admin API, edge registry or watch
//! service) over an in-memory store, with a [`packyard_control_plane::Clock`] that follows
//! Tokio's time, and moves time with `tokio::time::advance`, so a soak time of hours takes no
//! time at all and every check happens at a known instant. No socket is opened: paused time auto-advances
//! while the runtime waits on I/O, which would fire timeouts at random.

// Test code: a failed setup step should fail the test at once, loudly.
#![allow(clippy::unwrap_used)]

mod edges;
mod fixture;
mod rollouts;
mod uploads;
mod watch;
mod webhooks;
