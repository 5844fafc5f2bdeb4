//! The Packyard device client: what an app does to fetch its packs.
//!
//! Not written yet: issue 12 (the device client) fills this crate with the manifest fetch,
//! the download decisions, resumable and delta downloads. Until then it exports nothing, and
//! devices are played by `curl` and the other HTTP clients the edge tests use.
