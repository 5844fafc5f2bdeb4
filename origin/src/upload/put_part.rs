//! `PUT /v1/uploads/{uploadFileId}/parts/{partNumber}`: one part, streamed to disk.

use std::path::PathBuf;

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use packyard_core::catalog::UploadFileState;
use packyard_core::upload_credential::Scope;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio_stream::StreamExt;

use super::Uploads;
use super::credential;
use super::error::UploadError;
use crate::staging::is_valid_file_id;

/// Removes a temporary part file unless it was renamed into place, also when the request is
/// dropped half-way (the client went away).
struct TempPart(Option<PathBuf>);

impl Drop for TempPart {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn internal(e: impl std::fmt::Display) -> UploadError {
    UploadError::Internal(e.to_string())
}

/// What a part request names, besides its body.
pub(super) struct PartRequest<'a> {
    /// The upload file.
    pub file: &'a str,
    /// The part, from 1.
    pub number: u64,
    /// The URL's query, which carries the upload credential.
    pub query: Option<&'a str>,
    /// The request's headers.
    pub headers: &'a HeaderMap,
}

/// Stores part `number` of `file` if the request's credential allows writing it, the file
/// still takes parts and the body is exactly that part's length; all of it is checked before
/// a byte of the body is read. The body goes to a temporary file as it arrives (never whole
/// in memory), reading stops at the expected length plus one byte, and only a complete part
/// is renamed into place, replacing any earlier copy.
pub(super) async fn put_part(
    uploads: &Uploads,
    request: PartRequest<'_>,
    body: Body,
) -> Result<Response, UploadError> {
    let PartRequest {
        file,
        number,
        query,
        headers,
    } = request;
    if !is_valid_file_id(file) {
        return Err(UploadError::UnknownFile(file.to_owned()));
    }
    let credential = credential::presented(query, file, Scope::Part(number))?;
    let info = uploads.files.describe(file).await?;
    credential.genuine(&info)?;
    if !info.state.takes_parts() {
        return Err(committed(file, info.state));
    }
    credential.in_time()?;
    let count = info.layout.count();
    let expected = info.layout.expected_len(number).ok_or_else(|| {
        UploadError::BadRequest(format!(
            "upload file {file} has {count} part{} (1 to {count}); there is no part {number}",
            if count == 1 { "" } else { "s" }
        ))
    })?;
    let wrong_length = |got: u64| {
        let detail = format!(
            "part {number} of upload file {file} must be exactly {expected} bytes; got {got}"
        );
        if got > expected {
            UploadError::TooLarge(detail)
        } else {
            UploadError::BadRequest(detail)
        }
    };
    if let Some(declared) = content_length(headers)?
        && declared != expected
    {
        return Err(wrong_length(declared));
    }

    let staging = &uploads.staging;
    let tmp_path = staging.temp_path(file, number).map_err(internal)?;
    let mut tmp = TempPart(Some(tmp_path.clone()));
    let mut out = tokio::fs::File::create_new(&tmp_path)
        .await
        .map_err(internal)?;
    let mut received = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(frame) = stream.next().await {
        let frame = frame.map_err(|e| {
            let error: &(dyn std::error::Error + 'static) = &e;
            match packyard_net::http::body_timeout(error) {
                Some(timeout) => UploadError::SlowBody(format!(
                    "part {number} of upload file {file}: {timeout} after {received} of {expected} bytes"
                )),
                None => UploadError::BadRequest(format!(
                    "the request body ended early after {received} of {expected} bytes: {e}"
                )),
            }
        })?;
        received += frame.len() as u64;
        if received > expected {
            return Err(wrong_length(received));
        }
        out.write_all(&frame).await.map_err(internal)?;
    }
    if received != expected {
        return Err(wrong_length(received));
    }
    out.sync_all().await.map_err(internal)?;
    drop(out);
    // The file may have been committed while the body arrived: store nothing for it then.
    if uploads.files.known_committed(file) {
        return Err(committed(file, UploadFileState::UploadComplete));
    }
    let (file_owned, uploads_staging) = (file.to_owned(), uploads.staging.clone());
    tokio::task::spawn_blocking(move || {
        uploads_staging.commit_part(&tmp_path, &file_owned, number)
    })
    .await
    .map_err(internal)?
    .map_err(UploadError::staging)?;
    // Renamed into place: nothing left to remove.
    tmp.0 = None;
    tracing::debug!(file, number, bytes = received, "part stored");
    Ok((
        StatusCode::OK,
        Json(json!({ "uploadFileId": file, "partNumber": number, "length": received })),
    )
        .into_response())
}

fn committed(file: &str, state: UploadFileState) -> UploadError {
    UploadError::Committed {
        file: file.to_owned(),
        state: state.as_str(),
    }
}

fn content_length(headers: &HeaderMap) -> Result<Option<u64>, UploadError> {
    headers
        .get(header::CONTENT_LENGTH)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| UploadError::BadRequest("Content-Length is not a number".into()))
        })
        .transpose()
}
