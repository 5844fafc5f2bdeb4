//! `GET /v1/uploads/{uploadFileId}`: which parts are stored and which an interrupted client
//! must still send.

use axum::Json;
use axum::response::{IntoResponse, Response};
use packyard_core::upload_credential::Scope;
use serde_json::json;

use super::Uploads;
use super::credential;
use super::error::UploadError;
use crate::staging::is_valid_file_id;

/// `{uploadFileId, state, fileSize, partBytes, parts: [{partNumber, length}], missingParts}`,
/// for a request whose credential allows reading it (the file's `uploadStatusUrl`). Only
/// parts of exactly their expected length are listed; any other number is missing.
pub(super) async fn status(
    uploads: &Uploads,
    file: &str,
    query: Option<&str>,
) -> Result<Response, UploadError> {
    if !is_valid_file_id(file) {
        return Err(UploadError::UnknownFile(file.to_owned()));
    }
    let credential = credential::presented(query, file, Scope::Status)?;
    let info = uploads.files.describe(file).await?;
    credential.genuine(&info)?.in_time()?;
    let staging = uploads.staging.clone();
    let owned = file.to_owned();
    let stored = tokio::task::spawn_blocking(move || staging.parts(&owned))
        .await
        .map_err(|e| UploadError::Internal(e.to_string()))?
        .map_err(UploadError::staging)?;
    let layout = info.layout;
    let parts: Vec<_> = stored
        .iter()
        .filter(|(n, len)| layout.expected_len(**n) == Some(**len))
        .map(|(n, len)| json!({ "partNumber": n, "length": len }))
        .collect();
    Ok(Json(json!({
        "uploadFileId": file,
        "state": info.state.as_str(),
        "fileSize": layout.file_size,
        "partBytes": layout.part_bytes,
        "parts": parts,
        "missingParts": layout.missing(&stored),
    }))
    .into_response())
}
