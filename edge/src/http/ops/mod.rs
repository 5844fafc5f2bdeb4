//! The device operations, one file each; [`super::EdgeService`]'s dispatch calls them after
//! parsing and authorizing the request.
//!
//! - `manifest`: a channel's manifest for one device.
//! - `pack_bytes`: a version's bytes by its channel or immutable URL, ranges planned.
//! - `chunk_list`: a version's chunk list, compact or JSON.
//! - `pieces`: chosen chunks' pieces.
//! - `health`: `/healthz` and `/readyz`.

mod chunk_list;
mod health;
mod manifest;
mod pack_bytes;
mod pieces;
