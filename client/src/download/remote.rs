//! A download's network steps: the new version's chunk list, the pieces of the chunks it
//! lacks, and the byte ranges left, several per request and several requests at once. What
//! arrives is written on the blocking pool.

use std::ops::Range;
use std::sync::Arc;

use packyard_core::ChunkList;
use packyard_core::pieces::{self, Piece, Selection};

use super::{Files, Fill, Record, blocking};
use crate::delta::{Lacking, batches};
use crate::device::{Device, Transfer};
use crate::error::ClientError;
use crate::fetch;
use crate::manifest::ManifestPack;

/// The plan's network step: the chunk list of the version `pack` lists, checked against the
/// manifest (its archive hash and size).
pub(super) async fn chunk_list(
    device: &Device,
    pack: &ManifestPack,
    transfer: &mut Transfer,
) -> Result<Record, ClientError> {
    let (bytes, compact) = device.chunk_list(&pack.chunks_url).await?;
    transfer.fetched += bytes.len() as u64;
    transfer.listed += bytes.len() as u64;
    transfer.requests += 1;
    let chunks = if compact {
        ChunkList::from_compact(&bytes).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    }
    .map_err(|e| ClientError::Protocol(format!("the chunk list: {e}")))?;
    if chunks.archive_hash() != pack.archive_hash || chunks.size() != pack.download_size {
        return Err(ClientError::Protocol(
            "the chunk list is not the manifest's version".into(),
        ));
    }
    Ok(Record {
        version: pack.version,
        chunks,
    })
}

/// The pieces of `lacking`, a request per [`pieces::MAX_CHUNKS_PER_REQUEST`] chunks. `None`
/// when the edge does not offer them (an older edge): the chunks are then fetched whole.
pub(super) async fn piece_lists(
    device: &Device,
    url: &str,
    lacking: &[Lacking],
    transfer: &mut Transfer,
) -> Result<Option<Vec<Vec<Piece>>>, ClientError> {
    let mut lists = Vec::with_capacity(lacking.len());
    for group in lacking.chunks(pieces::MAX_CHUNKS_PER_REQUEST) {
        let selection = Selection::of(group.iter().map(|c| c.index).collect());
        let sep = if url.contains('?') { '&' } else { '?' };
        let asked = format!("{url}{sep}chunks={}", selection.to_query());
        let bytes = match device.body(&asked).await {
            Ok(b) => b,
            Err(ClientError::NotServed { .. } | ClientError::Refused { .. })
                if lists.is_empty() =>
            {
                tracing::info!(%url, "the edge offers no pieces; lacking chunks are fetched whole");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        transfer.fetched += bytes.len() as u64;
        transfer.listed += bytes.len() as u64;
        transfer.requests += 1;
        let shape: Vec<(u32, u32)> = group.iter().map(|c| (c.index, c.len)).collect();
        lists.extend(
            pieces::decode(&bytes, &shape)
                .map_err(|e| ClientError::Protocol(format!("the pieces of {asked}: {e}")))?,
        );
    }
    Ok(Some(lists))
}

/// The fetch step: `ranges` of the pack into its partial file, at most `max_ranges` ranges a
/// request and `parallel` requests at once, each answer written as it arrives.
pub(super) async fn fetch_into(
    device: &Device,
    files: &Arc<Files>,
    ranges: Vec<Range<u64>>,
    fill: &mut Fill<'_>,
    transfer: &mut Transfer,
) -> Result<(), ClientError> {
    let (parallel, max_ranges) = device.parallelism();
    let etag = files.etag();
    let mut running = tokio::task::JoinSet::new();
    let mut queue = batches(ranges, max_ranges).into_iter();
    loop {
        while running.len() < parallel {
            let Some(batch) = queue.next() else { break };
            // A beta manifest's pack URL carries the tester token in its query.
            let (http, url, etag) = (device.http().clone(), fill.pack.url.clone(), etag.clone());
            running.spawn(async move { fetch::ranges(&http, &url, &etag, &batch).await });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (parts, body_len) =
            joined.map_err(|e| ClientError::Task(format!("a range request: {e}")))??;
        transfer.requests += 1;
        transfer.fetched += body_len;
        let written: u64 = parts.iter().map(|(_, b)| b.len() as u64).sum();
        let files = Arc::clone(files);
        blocking(move || files.write_parts(&parts)).await?;
        fill.advanced(written);
    }
    Ok(())
}
