//! `GET /apps/{app}/packs/{pack}/versions/{n}/chunks`: a version's chunk list, in the
//! compact form a device client asks for (`Accept`) or as JSON.

use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, ETAG, VARY};
use http::{HeaderMap, Response};
use packyard_core::chunk_list::COMPACT_MEDIA_TYPE;

use super::super::body;
use super::super::error::HttpError;
use super::super::service::{Answer, EdgeService, json, set, set_computed};
use crate::state::CompletedVersion;

impl EdgeService {
    /// The chunk list of `version`, cacheable as `cache` says.
    pub(in crate::http) fn chunk_list(
        &self,
        version: &CompletedVersion,
        headers: &HeaderMap,
        cache: &'static str,
    ) -> Answer {
        // A device asks for the compact form; anything else gets the JSON document.
        let compact = headers
            .get_all(ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains(COMPACT_MEDIA_TYPE));
        let mut response = if compact {
            let mut r = Response::new(body::full(Bytes::from(version.chunk_list.to_compact())));
            set(r.headers_mut(), CONTENT_TYPE, COMPACT_MEDIA_TYPE);
            r
        } else {
            json(serde_json::to_vec(&version.chunk_list).map_err(|e| {
                HttpError::Internal(format!("serializing the {}: {e}", "chunk list"))
            })?)
        };
        // Each representation its own tag: the compact form is other bytes.
        let etag = match compact {
            true => format!("\"{}-compact\"", version.chunk_list.archive_hash()),
            false => version.etag(),
        };
        set(response.headers_mut(), VARY, "Accept");
        set(response.headers_mut(), CACHE_CONTROL, cache);
        set_computed(response.headers_mut(), ETAG, &etag)?;
        Ok(response)
    }
}
