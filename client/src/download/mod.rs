//! One pack's download, as named steps: **plan** (the new version's chunk list, and the file
//! it is built in), **reuse** (chunks already in place from an interrupted download, and
//! chunks the held version has), **pieces** (of each chunk still lacking, the pieces the held
//! version has), **fetch** (the rest, as merged byte ranges), **verify** (each chunk built
//! from pieces against its id, then the whole archive against the manifest's hash) and
//! **switch** (the new archive replaces the held one by a rename).
//!
//! The network steps run on the async threads; every step that reads, writes or hashes a file
//! runs on Tokio's blocking pool (`local`), so a thousand devices in one process
//! (`packyard-bench fleet`) never hold an async thread with disk work.

mod local;
mod remote;

use std::path::PathBuf;
use std::sync::Arc;

use packyard_core::ChunkList;
use serde::{Deserialize, Serialize};

use crate::delta::{Lacking, Wanted};
use crate::device::{Device, Progress, Transfer};
use crate::error::ClientError;
use crate::manifest::ManifestPack;

pub(crate) use local::{Files, verify_held};

/// What `held.json` and `next.json` say: a version and its chunk list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) version: u32,
    pub(crate) chunks: ChunkList,
}

impl Record {
    /// The record at `path`, if it is there and reads.
    pub(crate) fn read(path: &std::path::Path) -> Option<Record> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }
}

/// Where a download's bytes stand, for progress reports.
pub(crate) struct Fill<'a> {
    pub(crate) pack: &'a ManifestPack,
    pub(crate) progress: &'a dyn Progress,
    pub(crate) done: u64,
}

impl Fill<'_> {
    fn advanced(&mut self, bytes: u64) {
        self.done += bytes;
        let size = self.pack.download_size;
        self.progress
            .advanced(&self.pack.id, self.done.min(size), size);
    }
}

/// Downloads `pack`'s listed version into `folder`, reusing every chunk the held version has
/// and every chunk an interrupted download left in place.
pub(crate) async fn download(
    device: &Device,
    pack: &ManifestPack,
    folder: PathBuf,
    progress: &dyn Progress,
) -> Result<Transfer, ClientError> {
    let mut transfer = Transfer::default();
    // Plan: the version to build, and its file.
    let next = remote::chunk_list(device, pack, &mut transfer).await?;
    let files = Arc::new(blocking(move || local::open(folder, next)).await?);
    // Reuse: whole chunks in place or held.
    let reused = blocking({
        let files = Arc::clone(&files);
        move || local::reuse(&files)
    })
    .await?;
    transfer.add(reused.transfer);
    let mut fill = Fill {
        pack,
        progress,
        done: 0,
    };
    fill.advanced(reused.done);
    // Pieces: of each chunk still lacking, those the held version has.
    let (wanted, pieced) = pieces(device, pack, &files, reused, &mut transfer, &mut fill).await?;
    // Fetch: the rest.
    remote::fetch_into(device, &files, wanted.0, &mut fill, &mut transfer).await?;
    // Verify: a chunk built from pieces is checked against its id; one that fails (a piece
    // name that matched other bytes, a held copy that changed meanwhile) is fetched whole.
    let again = blocking({
        let files = Arc::clone(&files);
        move || local::unverified(&files, &pieced)
    })
    .await?;
    fill.done = fill
        .done
        .saturating_sub(again.0.iter().map(|r| r.end - r.start).sum());
    remote::fetch_into(device, &files, again.0, &mut fill, &mut transfer).await?;
    // Verify the whole archive, and switch to it.
    let (archive_hash, what) = (
        pack.archive_hash,
        format!("version {} of pack {}", pack.version, pack.id),
    );
    blocking(move || local::switch(&files, archive_hash, what)).await?;
    Ok(transfer)
}

/// The pieces step: asks the edge for the pieces of the lacking chunks (when the device
/// holds a version to copy them from, and the edge offers them), copies those the held
/// version has, and returns the byte ranges left to fetch with the chunks built from pieces.
/// Without pieces, every lacking chunk is fetched whole.
async fn pieces(
    device: &Device,
    pack: &ManifestPack,
    files: &Arc<Files>,
    reused: local::Reused,
    transfer: &mut Transfer,
    fill: &mut Fill<'_>,
) -> Result<(Wanted, Vec<Lacking>), ClientError> {
    let local::Reused { lacking, whole, .. } = reused;
    let lists = match &pack.pieces_url {
        Some(url) if files.has_seed() && !lacking.is_empty() => {
            remote::piece_lists(device, url, &lacking, transfer).await?
        }
        _ => None,
    };
    let Some(lists) = lists else {
        let mut wanted = Wanted::default();
        for chunk in &lacking {
            wanted.add(chunk.range());
        }
        return Ok((wanted, Vec::new()));
    };
    let built = blocking({
        let files = Arc::clone(files);
        move || local::from_pieces(&files, &whole, lacking, lists)
    })
    .await?;
    transfer.add(built.transfer);
    fill.advanced(built.done);
    Ok((built.wanted, built.pieced))
}

/// Runs disk work on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ClientError> + Send + 'static,
) -> Result<T, ClientError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ClientError::Protocol(format!("a disk task of the download failed: {e}")))?
}
