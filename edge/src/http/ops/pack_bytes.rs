//! A version's bytes, by its channel URL (`/apps/{app}/{channel}/{pack}`) or its immutable
//! URL (`/apps/{app}/packs/{pack}/versions/{n}`): the range plan (200, 206 with one range or
//! several, 304, 412, 416), then the body, straight from memory or streamed chunk by chunk.

use std::sync::Arc;

use http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, HeaderName,
    IF_NONE_MATCH, IF_RANGE, RANGE,
};
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode};
use packyard_core::http_range::{self, Boundary, Conditions, Plan, Segment};

use super::super::body;
use super::super::error::HttpError;
use super::super::service::{Answer, EdgeService, set, set_computed};
use crate::state::CompletedVersion;

const OCTET_STREAM: &str = "application/octet-stream";

impl EdgeService {
    pub(in crate::http) async fn bytes(
        &self,
        version: Arc<CompletedVersion>,
        parts: &Parts,
        cache_control: &'static str,
    ) -> Answer {
        let header = |name: HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let conditions = Conditions {
            method_is_head_or_get: parts.method == Method::GET || parts.method == Method::HEAD,
            if_none_match: header(IF_NONE_MATCH),
            if_range: header(IF_RANGE),
            range: header(RANGE),
        };
        let len = version.size;
        let etag = version.etag();
        let plan = http_range::plan(&conditions, len, &etag, &self.settings.range_limits);
        let mut response = Response::new(body::empty());
        let headers = response.headers_mut();
        set_computed(headers, ETAG, &etag)?;
        set(headers, CACHE_CONTROL, cache_control);
        set(headers, ACCEPT_RANGES, "bytes");
        let (status, segments, content_length) = match plan {
            Plan::NotModified => {
                *response.status_mut() = StatusCode::NOT_MODIFIED;
                return Ok(response);
            }
            Plan::PreconditionFailed => return Err(HttpError::PreconditionFailed),
            Plan::Unsatisfiable => return Err(HttpError::RangeNotSatisfiable { len }),
            Plan::Full => {
                set(headers, CONTENT_TYPE, OCTET_STREAM);
                let whole = http_range::ByteRange::new(0, len.saturating_sub(1));
                let segments = whole
                    .filter(|_| len > 0)
                    .map(Segment::Bytes)
                    .into_iter()
                    .collect();
                (StatusCode::OK, segments, len)
            }
            Plan::Partial(range) => {
                set(headers, CONTENT_TYPE, OCTET_STREAM);
                set_computed(headers, CONTENT_RANGE, &range.content_range(len))?;
                (
                    StatusCode::PARTIAL_CONTENT,
                    vec![Segment::Bytes(range)],
                    range.len(),
                )
            }
            Plan::Multipart(ranges) => {
                let layout = http_range::multipart_layout(
                    &ranges,
                    len,
                    OCTET_STREAM,
                    &Boundary::from_etag(&etag),
                );
                set_computed(headers, CONTENT_TYPE, &layout.content_type)?;
                (
                    StatusCode::PARTIAL_CONTENT,
                    layout.segments,
                    layout.content_length,
                )
            }
        };
        headers.insert(CONTENT_LENGTH, HeaderValue::from(content_length));
        *response.status_mut() = status;
        if parts.method == Method::GET {
            // Hot path: every chunk in memory, the body goes out with the head.
            let ready = body::ready(&self.chunks, &version, &segments, &self.metrics);
            *response.body_mut() = match ready {
                Some(ready) => ready,
                None => {
                    self.first_chunk(&version, &segments).await?;
                    body::stream(self.chunks.clone(), version, segments, self.metrics.clone())
                }
            };
        }
        Ok(response)
    }
    /// Fetches the first chunk the body needs before the head is sent, so an origin that
    /// cannot provide it gets a clean 502 instead of a cut-off 200.
    async fn first_chunk(
        &self,
        version: &CompletedVersion,
        segments: &[Segment],
    ) -> Result<(), HttpError> {
        let first = segments.iter().find_map(|s| match s {
            Segment::Bytes(r) => version.chunk_list.covering(r.to_range()).next(),
            Segment::Literal(_) => None,
        });
        if let Some((chunk, _)) = first {
            self.chunks
                .get(chunk)
                .await
                .map_err(|e| HttpError::Upstream(e.to_string()))?;
        }
        Ok(())
    }
}
