//! The catalog watch stream (`packyard.catalog.v1.CatalogWatch`): every serving change in log
//! order, resumable from any index a node still remembers, with a snapshot for the rest.
//!
//! - [`ChangeFeed`] records what each applied entry changed; [`apply_and_publish`] is how a
//!   store applies an entry so that the feed and the catalog never disagree.
//! - [`WatchService`] serves the stream.

mod feed;
mod service;

pub use feed::{ChangeFeed, FeedEntry, Start, apply_and_publish, apply_collecting};
pub use service::{CutOff, WatchService, never_cut_off};
