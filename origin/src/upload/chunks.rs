//! A file sent as chunks instead of parts: `PUT …/chunks` with its chunk list (the origin
//! keeps it and answers which chunks the store lacks), then `PUT …/chunks/{id}` for each of
//! those, or `PUT …/chunks/bundle` for several at once (stored together: one object of a
//! bucket rather than one per chunk). Processing reassembles the file from the store in the list's order and checks it as
//! it checks parts: the SHA-256 the file is committed with, every chunk against its id.
//!
//! What a list may say is bounded by what was reserved: its lengths add up to the file's
//! size, so chunks sent for it never take more room than the quota allowed. A chunk is
//! taken only if the list names it, with the length the list gives, and only if its bytes
//! hash to its id. Which chunks the store "has" is answered only for chunks the kept versions
//! of the same pack name, so a list cannot probe the store for another app's bytes.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use packyard_chunk_store::{ChunkStore, ChunkStoreError};
use packyard_core::Blake3Hash;
use packyard_core::catalog::AssetType;
use packyard_core::chunk_list::MAX_CHUNK_LEN;
use packyard_core::upload_credential::Scope;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_stream::StreamExt;

use super::Uploads;
use super::credential;
use super::error::UploadError;
use crate::control::UploadInfo;
use crate::staging::is_valid_file_id;

/// The most chunks one list may name (at the smallest chunks the origin cuts, 16 KiB, a
/// file of 3 GiB; at the default 64 KiB average, 12 GiB).
pub const MAX_LISTED_CHUNKS: usize = 200_000;
/// The largest chunk list body: about 100 bytes of JSON per chunk.
const MAX_LIST_BYTES: usize = MAX_LISTED_CHUNKS * 100;

/// One entry of a chunk list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listed {
    /// The chunk's BLAKE3 id.
    pub id: Blake3Hash,
    /// Its length in bytes.
    pub length: u32,
}

/// A file's chunk list, as sent and as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkListBody {
    /// The chunks, in file order.
    pub chunks: Vec<Listed>,
}

impl ChunkListBody {
    /// Reads a kept list back.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }

    /// Checks the list against the file it is sent for.
    fn check(&self, file: &str, size: u64) -> Result<(), UploadError> {
        let bad = |detail: String| Err(UploadError::BadRequest(detail));
        if self.chunks.len() > MAX_LISTED_CHUNKS {
            return bad(format!(
                "the chunk list names {} chunks; at most {MAX_LISTED_CHUNKS} are taken",
                self.chunks.len()
            ));
        }
        if let Some((i, c)) = self
            .chunks
            .iter()
            .enumerate()
            .find(|(_, c)| c.length == 0 || c.length > MAX_CHUNK_LEN)
        {
            return bad(format!(
                "chunk {i} ({}) is {} bytes; a chunk is 1 to {MAX_CHUNK_LEN}",
                c.id, c.length
            ));
        }
        let total: u64 = self.chunks.iter().map(|c| u64::from(c.length)).sum();
        if total != size {
            return bad(format!(
                "the chunk list adds up to {total} bytes; upload file {file} was reserved for \
                 {size}"
            ));
        }
        let mut lengths = std::collections::HashMap::new();
        for c in &self.chunks {
            if *lengths.entry(c.id).or_insert(c.length) != c.length {
                return bad(format!("chunk {} is listed with two lengths", c.id));
            }
        }
        Ok(())
    }
}

/// How many files' chunk lists an origin keeps in memory.
const LISTS_KEPT: usize = 256;

/// What an origin remembers of a file sent as chunks through it: the length its list gives
/// each chunk, and the chunks it has taken. Without it every chunk would read the whole list
/// back from the store (a bucket, for stateless origins). Lost with the process, or when
/// another origin takes the file's requests: then the list is read from the store once, and
/// chunks sent before are sent again.
#[derive(Debug, Default)]
pub struct ChunkLists {
    files: Mutex<HashMap<String, Remembered>>,
}

#[derive(Debug, Clone)]
struct Remembered {
    lengths: Arc<HashMap<Blake3Hash, u32>>,
    taken: Arc<Mutex<HashSet<Blake3Hash>>>,
}

impl ChunkLists {
    fn files(&self) -> std::sync::MutexGuard<'_, HashMap<String, Remembered>> {
        self.files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers `list` as `file`'s, keeping what was taken for it before.
    fn keep(&self, file: &str, list: &ChunkListBody) -> Remembered {
        let lengths = Arc::new(list.chunks.iter().map(|c| (c.id, c.length)).collect());
        let mut files = self.files();
        let taken = files.get(file).map(|r| r.taken.clone()).unwrap_or_default();
        if files.len() >= LISTS_KEPT && !files.contains_key(file) {
            files.clear();
        }
        let remembered = Remembered { lengths, taken };
        files.insert(file.to_owned(), remembered.clone());
        remembered
    }

    fn get(&self, file: &str) -> Option<Remembered> {
        self.files().get(file).cloned()
    }

    /// Chunks of `file` taken by this origin.
    fn taken(&self, file: &str) -> HashSet<Blake3Hash> {
        self.get(file)
            .map(|r| {
                r.taken
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone()
            })
            .unwrap_or_default()
    }
}

/// The checks every chunk request passes before its body is read: a credential for this
/// file's chunks, a file that still takes bytes, an archive (a MANIFEST file is sent whole).
async fn admitted(
    uploads: &Uploads,
    file: &str,
    query: Option<&str>,
) -> Result<UploadInfo, UploadError> {
    if !is_valid_file_id(file) {
        return Err(UploadError::UnknownFile(file.to_owned()));
    }
    let credential = credential::presented(query, file, Scope::Chunks)?;
    let info = uploads.files.describe(file).await?;
    credential.genuine(&info)?;
    if !info.state.takes_parts() {
        return Err(UploadError::Committed {
            file: file.to_owned(),
            state: info.state.as_str(),
        });
    }
    credential.in_time()?;
    if info.asset_type != AssetType::Asset {
        return Err(UploadError::BadRequest(format!(
            "upload file {file} is a {}; only an ASSET file is sent as chunks",
            info.asset_type.as_str()
        )));
    }
    Ok(info)
}

/// Reads a body of at most `limit` bytes.
async fn read_body(body: Body, limit: usize, what: &str) -> Result<Vec<u8>, UploadError> {
    let mut out = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(frame) = stream.next().await {
        let frame = frame
            .map_err(|e| UploadError::BadRequest(format!("the body of {what} ended early: {e}")))?;
        if out.len() + frame.len() > limit {
            return Err(UploadError::TooLarge(format!(
                "{what} is more than {limit} bytes"
            )));
        }
        out.extend_from_slice(&frame);
    }
    Ok(out)
}

fn store_failure(e: ChunkStoreError) -> UploadError {
    match e {
        ChunkStoreError::Unavailable { .. } => UploadError::StoreUnavailable(e.to_string()),
        ChunkStoreError::HashMismatch { .. }
        | ChunkStoreError::Empty { .. }
        | ChunkStoreError::TooLarge { .. } => UploadError::BadRequest(e.to_string()),
        other => UploadError::Internal(other.to_string()),
    }
}

/// `PUT /v1/uploads/{file}/chunks`: keeps the list (replacing an earlier one) and answers
/// `{"missing": [ids], "missingBytes": n, "chunks": n, "bytes": n}`: the distinct chunks the
/// caller must send.
pub(super) async fn put_chunk_list(
    uploads: &Uploads,
    file: &str,
    query: Option<&str>,
    body: Body,
) -> Result<Response, UploadError> {
    let info = admitted(uploads, file, query).await?;
    let bytes = read_body(body, MAX_LIST_BYTES, "the chunk list").await?;
    let list: ChunkListBody = serde_json::from_slice(&bytes)
        .map_err(|e| UploadError::BadRequest(format!("the chunk list: {e}")))?;
    list.check(file, info.layout.file_size)?;

    let mut known = (uploads.pack_chunks)(&info.pack);
    // Chunks this file's sender already sent (through this origin) need not come again.
    known.extend(uploads.lists.taken(file));
    uploads.lists.keep(file, &list);
    let mut seen = HashSet::new();
    let candidates: Vec<Listed> = list
        .chunks
        .iter()
        .filter(|c| seen.insert(c.id))
        .copied()
        .collect();
    let (store, kept, owned) = (
        uploads.store.clone(),
        serde_json::to_vec(&list).map_err(|e| UploadError::Internal(e.to_string()))?,
        file.to_owned(),
    );
    let staging = uploads.staging.clone();
    let missing = tokio::task::spawn_blocking(move || {
        staging.put_recipe(&owned, kept)?;
        lacking(&*store, &candidates, &known).map_err(std::io::Error::other)
    })
    .await
    .map_err(|e| UploadError::Internal(e.to_string()))?
    .map_err(|e| {
        match e
            .get_ref()
            .and_then(|e| e.downcast_ref::<ChunkStoreError>())
        {
            Some(ChunkStoreError::Unavailable { .. }) => {
                UploadError::StoreUnavailable(e.to_string())
            }
            _ => UploadError::staging(e),
        }
    })?;
    let missing_bytes: u64 = missing.iter().map(|c| u64::from(c.length)).sum();
    Ok(Json(json!({
        "uploadFileId": file,
        "chunks": list.chunks.len(),
        "bytes": info.layout.file_size,
        "missing": missing.iter().map(|c| c.id.to_hex()).collect::<Vec<_>>(),
        "missingBytes": missing_bytes,
    }))
    .into_response())
}

/// The chunks of `candidates` the caller must send: those neither a kept version of the
/// pack nor the caller's earlier requests name, and those named that the store has lost.
fn lacking(
    store: &dyn ChunkStore,
    candidates: &[Listed],
    known: &HashSet<Blake3Hash>,
) -> Result<Vec<Listed>, ChunkStoreError> {
    let (named, mut missing): (Vec<Listed>, Vec<Listed>) =
        candidates.iter().partition(|c| known.contains(&c.id));
    let ids: Vec<Blake3Hash> = named.iter().map(|c| c.id).collect();
    let found = store.contains_many(&ids)?;
    for (c, found) in named.into_iter().zip(found) {
        if !found {
            missing.push(c);
        }
    }
    Ok(missing)
}

/// The remembered list of `file`, read again from the store when this origin does not know
/// it or it does not name every one of `ids` (replaced through another origin).
async fn list_naming(
    uploads: &Uploads,
    file: &str,
    ids: &[Blake3Hash],
) -> Result<Remembered, UploadError> {
    if let Some(remembered) = uploads.lists.get(file)
        && ids.iter().all(|id| remembered.lengths.contains_key(id))
    {
        return Ok(remembered);
    }
    let (staging, owned) = (uploads.staging.clone(), file.to_owned());
    let recipe = tokio::task::spawn_blocking(move || staging.recipe(&owned))
        .await
        .map_err(|e| UploadError::Internal(e.to_string()))?
        .map_err(UploadError::staging)?
        .ok_or_else(|| {
            UploadError::BadRequest(format!(
                "upload file {file} has no chunk list; PUT it to …/chunks before its chunks"
            ))
        })?;
    let list = ChunkListBody::parse(&recipe).map_err(UploadError::Internal)?;
    Ok(uploads.lists.keep(file, &list))
}

/// Stores chunks `ids` of `file` with `put` (on a blocking thread) unless the file was
/// committed meanwhile, and remembers them as sent through this origin.
async fn store_chunks(
    uploads: &Uploads,
    file: &str,
    remembered: &Remembered,
    ids: Vec<Blake3Hash>,
    put: impl FnOnce(&crate::node::Store) -> Result<(), ChunkStoreError> + Send + 'static,
) -> Result<(), UploadError> {
    if uploads.files.known_committed(file) {
        return Err(UploadError::Committed {
            file: file.to_owned(),
            state: "UPLOAD_COMPLETE",
        });
    }
    let store = uploads.store.clone();
    tokio::task::spawn_blocking(move || put(&store))
        .await
        .map_err(|e| UploadError::Internal(e.to_string()))?
        .map_err(store_failure)?;
    remembered
        .taken
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .extend(ids);
    Ok(())
}

/// The largest body of `PUT …/chunks/bundle`, which the origin holds in memory while it
/// checks it: a client's 8 MiB bundle plus the chunk (at most 16 MiB) that took it over,
/// with room for the frames.
pub const MAX_BUNDLE_BYTES: usize = 32 << 20;
/// The frame before each chunk of a bundle: its id and its length (u32, big-endian).
const FRAME_HEAD: usize = 32 + 4;

/// Splits a bundle body into its chunks: each one an id, a length and that many bytes.
fn split_bundle(body: &[u8]) -> Result<Vec<(Blake3Hash, &[u8])>, String> {
    let mut chunks = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let at = body.len() - rest.len();
        if rest.len() < FRAME_HEAD {
            return Err(format!(
                "the bundle ends {} bytes into a chunk's frame at byte {at}; each chunk is a \
                 32-byte id, a 4-byte big-endian length and its bytes",
                rest.len()
            ));
        }
        let id = Blake3Hash::from_bytes(rest[..32].try_into().expect("32 bytes"));
        let len = u32::from_be_bytes(rest[32..FRAME_HEAD].try_into().expect("4 bytes")) as usize;
        let Some(bytes) = rest.get(FRAME_HEAD..FRAME_HEAD + len) else {
            return Err(format!(
                "chunk {id} at byte {at} says {len} bytes; the bundle has {} left",
                rest.len() - FRAME_HEAD
            ));
        };
        chunks.push((id, bytes));
        rest = &rest[FRAME_HEAD + len..];
    }
    Ok(chunks)
}

/// `PUT /v1/uploads/{file}/chunks/bundle`: several chunks the file's list names in one
/// request, each framed as its id, its length (4 bytes, big-endian) and its bytes. They are
/// stored together (one object of a bucket) or, if any is refused, none is.
pub(super) async fn put_bundle(
    uploads: &Uploads,
    file: &str,
    query: Option<&str>,
    body: Body,
) -> Result<Response, UploadError> {
    admitted(uploads, file, query).await?;
    let body = read_body(body, MAX_BUNDLE_BYTES, "the chunk bundle").await?;
    let chunks = split_bundle(&body).map_err(UploadError::BadRequest)?;
    if chunks.is_empty() {
        return Err(UploadError::BadRequest("the chunk bundle is empty".into()));
    }
    let ids: Vec<Blake3Hash> = chunks.iter().map(|(id, _)| *id).collect();
    let remembered = list_naming(uploads, file, &ids).await?;
    for (id, bytes) in &chunks {
        let Some(&length) = remembered.lengths.get(id) else {
            return Err(UploadError::BadRequest(format!(
                "chunk {id} is not in the chunk list of upload file {file}"
            )));
        };
        if bytes.len() != length as usize {
            return Err(UploadError::BadRequest(format!(
                "chunk {id} is {length} bytes in the chunk list; the bundle sends {}",
                bytes.len()
            )));
        }
    }
    let (count, total) = (chunks.len(), body.len() - chunks.len() * FRAME_HEAD);
    store_chunks(uploads, file, &remembered, ids, move |store| {
        let chunks = split_bundle(&body).expect("split once already");
        store.put_many(&chunks).map(drop)
    })
    .await?;
    Ok((
        StatusCode::OK,
        Json(json!({ "uploadFileId": file, "chunks": count, "bytes": total })),
    )
        .into_response())
}

/// What a chunk request names, besides its body.
pub(super) struct ChunkRequest<'a> {
    /// The upload file.
    pub file: &'a str,
    /// The chunk's id as the path spells it.
    pub id: &'a str,
    /// The URL's query, which carries the upload credential.
    pub query: Option<&'a str>,
    /// The request's headers.
    pub headers: &'a HeaderMap,
}

/// `PUT /v1/uploads/{file}/chunks/{id}`: stores one chunk the file's list names, if its bytes
/// hash to its id.
pub(super) async fn put_chunk(
    uploads: &Uploads,
    request: ChunkRequest<'_>,
    body: Body,
) -> Result<Response, UploadError> {
    let ChunkRequest {
        file,
        id,
        query,
        headers,
    } = request;
    admitted(uploads, file, query).await?;
    let id = Blake3Hash::parse_hex(id).map_err(|e| UploadError::BadRequest(e.to_string()))?;
    let remembered = list_naming(uploads, file, &[id]).await?;
    let length = remembered.lengths.get(&id).copied().ok_or_else(|| {
        UploadError::BadRequest(format!(
            "chunk {id} is not in the chunk list of upload file {file}"
        ))
    })?;
    if let Some(declared) = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && declared != u64::from(length)
    {
        return Err(UploadError::BadRequest(format!(
            "chunk {id} is {length} bytes in the chunk list; the request sends {declared}"
        )));
    }
    let limit = usize::try_from(length).unwrap_or(usize::MAX);
    let bytes = read_body(body, limit, &format!("chunk {id}")).await?;
    if bytes.len() != limit {
        return Err(UploadError::BadRequest(format!(
            "chunk {id} is {length} bytes in the chunk list; the request sent {}",
            bytes.len()
        )));
    }
    store_chunks(uploads, file, &remembered, vec![id], move |store| {
        store.put(&id, &bytes).map(drop)
    })
    .await?;
    Ok((
        StatusCode::OK,
        Json(json!({ "uploadFileId": file, "chunk": id.to_hex(), "length": length })),
    )
        .into_response())
}
