//! Keeping the edge in step with the cluster: registration and heartbeats with the control
//! plane, the watch stream into the [`ServingState`](crate::state::ServingState), chunks from
//! the origin, and prefetching the chunks of eager versions.
//!
//! # Layout
//!
//! - [`OriginFetcher`]: `ChunkStore.Fetch` of one chunk, frames reassembled and checked; a
//!   [`ChunkSource`] the cache fills from.
//! - [`Chunks`]: the cache and its source together: every chunk a request or the prefetcher
//!   needs goes through [`Chunks::get`], so single flight covers both.
//! - [`Registration`]: `Register` (kept retrying, `Unimplemented` included), the tester-token
//!   secret from its reply, and a `Heartbeat` every lease / 3.
//! - [`EdgeView`]: the serving state as a [`WatchView`](packyard_catalog_client::WatchView),
//!   followed by the follower the origin shares.
//! - [`SavedState`]: the watch stream's snapshot and events on the edge's disk, replayed at
//!   start so a restarted edge serves what it holds with the control plane down;
//!   [`keep_short`] replaces a long log with a newer snapshot.
//! - [`Prefetcher`]: fetches the chunks of eager versions as soon as a channel serves them,
//!   and of a rollout's new version as soon as the rollout will reach this edge's region, a
//!   bounded number at a time.

mod chunk_source;
mod chunks;
mod edge_view;
mod prefetch;
mod registration;
mod saved_state;

pub use chunk_source::{ChunkSource, FetchError, FetchFuture, OriginFetcher};
pub use chunks::Chunks;
pub use edge_view::EdgeView;
pub use prefetch::Prefetcher;
pub use registration::{ClaimsError, Registration, RegistrationInfo, TokenKeys};
pub use saved_state::{COMPACT_AFTER, SavedState, keep_short};
