//! Sending a file to the origin, part by part, as an upload file's `uploadOperations` say;
//! resumable: after a break, the origin's `missingParts` says which parts to send again.
//! The SHA-256 the commit carries is computed while reading, so the file is read once.
//! How far it got is told to a [`Progress`] (the CLI draws a bar; tests and benchmarks
//! pass [`NoProgress`]).

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::client::AdminClient;
use crate::error::AdminError;
use crate::resources::upload_files::UploadFile;

/// How often a failed part is sent before the upload gives up.
pub const PART_ATTEMPTS: u32 = 4;

/// One `PUT` the control plane asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The HTTP method (`PUT`).
    pub method: String,
    /// Where the part goes.
    pub url: String,
    /// The part's first byte in the file.
    pub offset: u64,
    /// The part's length.
    pub length: u64,
    /// The part's number, from 1.
    pub part: u64,
}

impl Operation {
    /// This part of `bytes` (empty when it lies outside).
    pub fn slice<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        let start = usize::try_from(self.offset).unwrap_or(usize::MAX);
        let end = usize::try_from(self.offset.saturating_add(self.length)).unwrap_or(usize::MAX);
        bytes.get(start..end).unwrap_or_default()
    }
}

/// The operations of an upload-file document; an empty list when it takes no more parts.
pub fn operations(doc: &Value) -> Result<Vec<Operation>, AdminError> {
    let Some(ops) = doc["data"]["attributes"]["uploadOperations"].as_array() else {
        return Ok(Vec::new());
    };
    ops.iter()
        .map(|op| {
            let field = |name: &str| {
                op[name].as_u64().ok_or_else(|| {
                    AdminError::Operations(format!(
                        "upload operation without a numeric {name}: {op}"
                    ))
                })
            };
            Ok(Operation {
                method: op["method"].as_str().unwrap_or("PUT").to_owned(),
                url: op["url"]
                    .as_str()
                    .ok_or_else(|| {
                        AdminError::Operations(format!("upload operation without a url: {op}"))
                    })?
                    .to_owned(),
                offset: field("offset")?,
                length: field("length")?,
                part: field("partNumber")?,
            })
        })
        .collect()
}

/// What an upload is about to send, told to [`Progress::sending`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendPlan {
    /// Parts the origin lacks, to be sent.
    pub missing_parts: usize,
    /// Parts in all.
    pub parts: usize,
    /// Bytes of the parts to be sent.
    pub missing_bytes: u64,
    /// The file's size.
    pub size: u64,
}

/// Hears how an upload goes; every method does nothing unless overridden.
pub trait Progress {
    /// The parts the origin lacks are known; sending starts.
    fn sending(&mut self, _plan: &SendPlan) {}
    /// `bytes` more of the file are read (and sent, when the origin lacked them).
    fn advanced(&mut self, _bytes: u64) {}
    /// Every part is read and the origin holds them all.
    fn finished(&mut self) {}
}

/// A [`Progress`] that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// The URL where the origin tells which parts of an upload file it holds, as the upload-file
/// document gives it (`uploadStatusUrl`, signed for that file); `None` when it gives none.
pub fn status_url(doc: &Value) -> Option<String> {
    doc["data"]["attributes"]["uploadStatusUrl"]
        .as_str()
        .map(str::to_owned)
}

/// About how many bytes of chunks [`AdminClient::send_missing_chunks`] sends per request:
/// the origin stores each bundle as one object of a bucket.
pub const BUNDLE_BYTES: usize = 8 << 20;

/// What [`AdminClient::send_missing_chunks`] sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SentChunks {
    /// Bytes sent.
    pub bytes: u64,
    /// Chunks sent.
    pub chunks: usize,
}

/// The outcome of one chunk's request.
fn joined(
    done: Option<Result<Result<(), AdminError>, tokio::task::JoinError>>,
) -> Result<(), AdminError> {
    match done {
        None | Some(Ok(Ok(()))) => Ok(()),
        Some(Ok(Err(e))) => Err(e),
        Some(Err(e)) => Err(AdminError::Malformed(format!(
            "a chunk's request stopped: {e}"
        ))),
    }
}

/// The path and the (signed) query of `upload`'s `uploadChunksUrl`, under which its chunks
/// go.
fn chunks_url(upload: &UploadFile) -> Result<(&str, &str), AdminError> {
    let url = upload.chunks_url.as_deref().ok_or_else(|| {
        AdminError::Malformed(format!("upload file {} has no uploadChunksUrl", upload.id))
    })?;
    Ok(url.split_once('?').unwrap_or((url, "")))
}

/// A chunk of a file sent as chunks: its BLAKE3 id and length.
pub type ChunkEntry = (packyard_core::Blake3Hash, u32);

impl AdminClient {
    /// Sends the chunk list of a file to be sent as chunks (`upload`'s `uploadChunksUrl`);
    /// returns the ids of the chunks the origin's store lacks, which the caller then sends
    /// with [`send_chunk`](Self::send_chunk). Sending the list again (to resume) is safe.
    pub async fn send_chunk_list(
        &self,
        upload: &UploadFile,
        chunks: &[ChunkEntry],
    ) -> Result<Vec<packyard_core::Blake3Hash>, AdminError> {
        let url = upload.chunks_url.as_deref().ok_or_else(|| {
            AdminError::Malformed(format!(
                "upload file {} cannot be sent as chunks (no uploadChunksUrl)",
                upload.id
            ))
        })?;
        let list: Vec<Value> = chunks
            .iter()
            .map(|(id, len)| serde_json::json!({ "id": id.to_hex(), "length": len }))
            .collect();
        let response = self
            .http()
            .put(url)
            .json(&serde_json::json!({ "chunks": list }))
            .send()
            .await
            .map_err(|cause| AdminError::OriginUnreachable {
                url: url.to_owned(),
                cause,
            })?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(AdminError::OriginRefused {
                what: format!("sending the chunk list of upload file {}", upload.id),
                refusal: self.refusal(status, &body),
            });
        }
        let doc: Value = serde_json::from_str(&body).map_err(AdminError::OriginStatus)?;
        let missing = doc["missing"].as_array().ok_or_else(|| {
            AdminError::Malformed(format!("the origin's answer has no missing list: {doc}"))
        })?;
        missing
            .iter()
            .map(|id| {
                id.as_str()
                    .and_then(|hex| packyard_core::Blake3Hash::parse_hex(hex).ok())
                    .ok_or_else(|| AdminError::Malformed(format!("{id} is not a chunk id")))
            })
            .collect()
    }

    /// Sends one chunk of a file sent as chunks.
    pub async fn send_chunk(
        &self,
        upload: &UploadFile,
        id: &packyard_core::Blake3Hash,
        bytes: Vec<u8>,
    ) -> Result<(), AdminError> {
        let (path, query) = chunks_url(upload)?;
        let what = format!("chunk {id} of upload file {}", upload.id);
        self.put_bytes(&format!("{path}/{id}?{query}"), bytes, what)
            .await
    }

    /// PUTs `body` to an origin's `url`; `what` names it in a refusal.
    async fn put_bytes(&self, url: &str, body: Vec<u8>, what: String) -> Result<(), AdminError> {
        let response = self
            .http()
            .put(url)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .map_err(|cause| AdminError::OriginUnreachable {
                url: url.to_owned(),
                cause,
            })?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(AdminError::OriginRefused {
                what,
                refusal: self.refusal(status, &body),
            });
        }
        Ok(())
    }

    /// Sends several chunks of a file sent as chunks in one request (`…/chunks/bundle`),
    /// which the origin stores together.
    pub async fn send_chunk_bundle(
        &self,
        upload: &UploadFile,
        chunks: Vec<(packyard_core::Blake3Hash, Vec<u8>)>,
    ) -> Result<(), AdminError> {
        let (path, query) = chunks_url(upload)?;
        let url = format!("{path}/bundle?{query}");
        let size: usize = chunks.iter().map(|(_, b)| 36 + b.len()).sum();
        let mut body = Vec::with_capacity(size);
        for (id, bytes) in &chunks {
            body.extend_from_slice(id.as_bytes());
            let len = u32::try_from(bytes.len()).expect("a chunk is at most 16 MiB");
            body.extend_from_slice(&len.to_be_bytes());
            body.extend_from_slice(bytes);
        }
        let what = format!("{} chunks of upload file {}", chunks.len(), upload.id);
        self.put_bytes(&url, body, what).await
    }

    /// Sends `list` (the chunks of `file`, in order) and then the chunks the store lacks,
    /// each once, in bundles of about [`BUNDLE_BYTES`], `in_flight` requests at once; the
    /// first failure ends it. Safe to call again after a break: the origin answers again
    /// what it still lacks.
    pub async fn send_missing_chunks(
        &self,
        upload: &UploadFile,
        list: &[ChunkEntry],
        file: &Path,
        in_flight: usize,
    ) -> Result<SentChunks, AdminError> {
        let mut missing: std::collections::HashSet<_> = self
            .send_chunk_list(upload, list)
            .await?
            .into_iter()
            .collect();
        let io = |what: String| move |cause: std::io::Error| AdminError::Io { what, cause };
        let mut reader = std::io::BufReader::new(
            std::fs::File::open(file).map_err(io(format!("opening {}", file.display())))?,
        );
        let mut sent = SentChunks::default();
        let mut sending = tokio::task::JoinSet::new();
        let mut bundle = Vec::new();
        let mut bundle_bytes = 0;
        let last = list.len().saturating_sub(1);
        for (i, (id, len)) in list.iter().enumerate() {
            let mut bytes = vec![0; *len as usize];
            reader
                .read_exact(&mut bytes)
                .map_err(io(format!("reading {}", file.display())))?;
            if missing.remove(id) {
                bundle_bytes += bytes.len();
                bundle.push((*id, bytes));
                sent.bytes += u64::from(*len);
                sent.chunks += 1;
            }
            if bundle.is_empty() || (bundle_bytes < BUNDLE_BYTES && i < last) {
                continue;
            }
            while sending.len() >= in_flight.max(1) {
                joined(sending.join_next().await)?;
            }
            let (client, upload) = (self.clone(), upload.clone());
            let chunks = std::mem::take(&mut bundle);
            bundle_bytes = 0;
            sending.spawn(async move { client.send_chunk_bundle(&upload, chunks).await });
        }
        while let Some(done) = sending.join_next().await {
            joined(Some(done))?;
        }
        Ok(sent)
    }

    /// The parts of `upload` the origin does not hold yet: all of them when it has never
    /// heard of the file, or when the document gave no status URL to ask.
    pub async fn missing_parts(&self, upload: &UploadFile) -> Result<Vec<u64>, AdminError> {
        let all = || upload.operations.iter().map(|op| op.part).collect();
        let Some(url) = upload.status_url.as_deref() else {
            return Ok(all());
        };
        let response =
            self.http()
                .get(url)
                .send()
                .await
                .map_err(|cause| AdminError::OriginUnreachable {
                    url: url.to_owned(),
                    cause,
                })?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(all());
        }
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(AdminError::OriginRefused {
                what: "asking the origin which parts it has".to_owned(),
                refusal: self.refusal(status, &body),
            });
        }
        let doc: Value = serde_json::from_str(&body).map_err(AdminError::OriginStatus)?;
        let missing = doc["missingParts"].as_array().ok_or_else(|| {
            AdminError::Malformed(format!(
                "the origin's upload status has no missingParts: {doc}"
            ))
        })?;
        Ok(missing.iter().filter_map(Value::as_u64).collect())
    }

    /// Sends the parts of `file` the origin lacks to the URLs `upload` gives; returns the
    /// file's SHA-256, hex.
    pub async fn send_file(
        &self,
        file: &Path,
        size: u64,
        upload: &UploadFile,
        progress: &mut dyn Progress,
    ) -> Result<String, AdminError> {
        let ops = &upload.operations;
        let missing = self.missing_parts(upload).await?;
        progress.sending(&plan(ops, &missing, size));
        let mut reader = std::fs::File::open(file).map_err(|cause| AdminError::Io {
            what: format!("opening {}", file.display()),
            cause,
        })?;
        let name = file.display().to_string();
        self.send_missing(&mut reader, &name, size, ops, &missing, progress)
            .await
    }

    /// Sends the parts of `bytes` (named `name` in errors) the origin lacks to the URLs
    /// `upload` gives; returns their SHA-256, hex.
    pub async fn send_bytes(
        &self,
        bytes: &[u8],
        name: &str,
        upload: &UploadFile,
        progress: &mut dyn Progress,
    ) -> Result<String, AdminError> {
        let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        let ops = &upload.operations;
        let missing = self.missing_parts(upload).await?;
        progress.sending(&plan(ops, &missing, size));
        let mut reader = std::io::Cursor::new(bytes);
        self.send_missing(&mut reader, name, size, ops, &missing, progress)
            .await
    }

    async fn send_missing(
        &self,
        reader: &mut (impl Read + Seek),
        name: &str,
        size: u64,
        ops: &[Operation],
        missing: &[u64],
        progress: &mut dyn Progress,
    ) -> Result<String, AdminError> {
        let mut hasher = Sha256::new();
        let mut hashed = 0u64;
        for op in ops {
            if op.offset != hashed {
                return Err(AdminError::Operations(format!(
                    "upload operations are not contiguous: part {} starts at {} instead of \
                     {hashed}",
                    op.part, op.offset
                )));
            }
            let length = usize::try_from(op.length).map_err(AdminError::PartTooLarge)?;
            let mut buf = vec![0u8; length];
            reader
                .seek(SeekFrom::Start(op.offset))
                .and_then(|_| reader.read_exact(&mut buf))
                .map_err(|cause| AdminError::Io {
                    what: format!("reading part {} of {name}", op.part),
                    cause,
                })?;
            hasher.update(&buf);
            hashed += op.length;
            if missing.contains(&op.part) {
                self.put_part(op, buf).await?;
            }
            progress.advanced(op.length);
        }
        if hashed != size {
            return Err(AdminError::Operations(format!(
                "upload operations cover {hashed} bytes, the file has {size}"
            )));
        }
        progress.finished();
        Ok(hex::encode(hasher.finalize()))
    }

    /// One part, sent again after a network error or a 5xx, with a growing pause between
    /// tries.
    async fn put_part(&self, op: &Operation, body: Vec<u8>) -> Result<(), AdminError> {
        let body = bytes::Bytes::from(body);
        let mut attempt = 1;
        let mut delays = packyard_net::backoff(Duration::from_millis(500), Duration::from_secs(8));
        loop {
            let result = self
                .http()
                .put(&op.url)
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(body.clone())
                .send()
                .await;
            let retry_reason = match result {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) if response.status().is_server_error() => {
                    format!("the origin answered {}", response.status())
                }
                Ok(response) => {
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    return Err(AdminError::OriginRefused {
                        what: format!("part {}", op.part),
                        refusal: self.refusal(status, &text),
                    });
                }
                Err(e) => format!("{e}"),
            };
            if attempt == PART_ATTEMPTS {
                return Err(AdminError::PartFailed {
                    part: op.part,
                    attempts: PART_ATTEMPTS,
                    last: retry_reason,
                });
            }
            tracing::debug!(part = op.part, attempt, %retry_reason, "sending the part again");
            tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(8))).await;
            attempt += 1;
        }
    }
}

fn plan(ops: &[Operation], missing: &[u64], size: u64) -> SendPlan {
    SendPlan {
        missing_parts: missing.len(),
        parts: ops.len(),
        missing_bytes: ops
            .iter()
            .filter(|op| missing.contains(&op.part))
            .map(|op| op.length)
            .sum(),
        size,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn the_status_url_is_the_one_the_document_gives() {
        let doc = json!({"data": {"attributes": {
            "uploadStatusUrl": "http://o:7200/v1/uploads/f1?expires=9&signature=s"}}});
        assert_eq!(
            status_url(&doc).as_deref(),
            Some("http://o:7200/v1/uploads/f1?expires=9&signature=s")
        );
        let committed = json!({"data": {"attributes": {"uploadStatusUrl": null}}});
        assert_eq!(status_url(&committed), None);
    }

    #[test]
    fn operations_are_read_from_the_document_and_bad_ones_named() {
        let doc = json!({"data": {"attributes": {"uploadOperations": [
            {"url": "http://o/v1/uploads/f/parts/1", "offset": 0, "length": 4, "partNumber": 1}
        ]}}});
        let ops = operations(&doc).unwrap();
        assert_eq!((ops[0].offset, ops[0].length, ops[0].part), (0, 4, 1));
        assert_eq!(ops[0].slice(b"abcdef"), b"abcd");
        let committed = json!({"data": {"attributes": {"uploadOperations": null}}});
        assert!(operations(&committed).unwrap().is_empty());
        let bad =
            json!({"data": {"attributes": {"uploadOperations": [{"url": "u", "offset": 0}]}}});
        let e = operations(&bad).unwrap_err().to_string();
        assert!(e.contains("length"), "{e}");
    }
}
