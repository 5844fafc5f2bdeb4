//! `GET /apps/{app}/packs/{pack}/versions/{n}/pieces?chunks=…`: the pieces of chosen chunks,
//! cut from their verified bytes, for a device client that rebuilds a version from what it
//! holds.

use bytes::Bytes;
use http::Response;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use packyard_core::pieces;

use super::super::body;
use super::super::error::HttpError;
use super::super::service::{Answer, EdgeService, set};
use crate::state::CompletedVersion;

impl EdgeService {
    /// The pieces of the chunks `chunks` names, cut from their verified bytes.
    pub(in crate::http) async fn pieces(
        &self,
        version: &CompletedVersion,
        chunks: Option<&str>,
        cache: &'static str,
    ) -> Answer {
        let list = version.chunk_list.chunks();
        let selection =
            pieces::Selection::parse(chunks.unwrap_or(""), list.len()).map_err(|e| {
                HttpError::BadParameter {
                    name: "chunks",
                    reason: e.to_string(),
                }
            })?;
        let mut cut = Vec::with_capacity(selection.indices().len());
        for &index in selection.indices() {
            let chunk = list[index as usize];
            let p = self
                .chunks
                .pieces(chunk)
                .await
                .map_err(|e| HttpError::Upstream(e.to_string()))?;
            cut.push((index, p));
        }
        let doc = pieces::encode(cut.iter().map(|(i, p)| (*i, &p[..])));
        let mut response = Response::new(body::full(Bytes::from(doc)));
        set(response.headers_mut(), CONTENT_TYPE, pieces::MEDIA_TYPE);
        set(response.headers_mut(), CACHE_CONTROL, cache);
        Ok(response)
    }
}
