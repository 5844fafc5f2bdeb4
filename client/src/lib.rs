//! The Packyard device client: what an app does to fetch its packs.
//!
//! Planned (issues 04-05): fetch the download manifest, download packs with resumable `Range`
//! requests, and use chunk lists to transfer only what changed. Nothing is implemented here
//! yet, so this crate exports nothing.
