//! JSON:API documents in and out: parsing a request body into typed attributes and
//! relationships (a 400 naming the member for anything unusable), and wrapping resources.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use serde_path_to_error::Segment;

use super::error::ApiError;

/// A request body: `{"data": {"type", "id"?, "attributes"?, "relationships"?}}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    data: Data,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    attributes: Option<Value>,
    #[serde(default)]
    relationships: Option<Value>,
}

/// A parsed request body.
pub(crate) struct Input<A, R> {
    /// `data.id`, for PATCH.
    pub(crate) id: Option<String>,
    /// `data.attributes`.
    pub(crate) attributes: A,
    /// `data.relationships`.
    pub(crate) relationships: R,
}

/// One relationship: `{"data": {"type", "id"}}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rel {
    data: Linkage,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Linkage {
    #[serde(rename = "type")]
    kind: String,
    id: String,
}

impl Rel {
    /// The related id, checking the related type; `name` is the relationship's name.
    pub(crate) fn id(&self, name: &str, kind: &str) -> Result<String, ApiError> {
        if self.data.kind != kind {
            return Err(ApiError::body(
                format!("/data/relationships/{name}/data/type"),
                format!(
                    "relationship {name} must point at a {kind} resource, not {:?}",
                    self.data.kind
                ),
            ));
        }
        Ok(self.data.id.clone())
    }
}

/// No relationships (or attributes) expected: only `{}` is accepted.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Nothing {}

/// Parses `body` as a document of resource type `kind`.
pub(crate) fn parse<A, R>(body: &[u8], kind: &str) -> Result<Input<A, R>, ApiError>
where
    A: DeserializeOwned,
    R: DeserializeOwned,
{
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::body(
            "",
            format!(
                "the body is empty; send a JSON:API document {{\"data\": {{\"type\": \"{kind}\", …}}}}"
            ),
        ));
    }
    let doc: Document = typed(serde_json::from_slice::<Value>(body).map_err(syntax)?, "")?;
    if doc.data.kind != kind {
        return Err(ApiError::TypeMismatch(format!(
            "data.type is {:?} but this endpoint takes {kind:?}",
            doc.data.kind
        )));
    }
    let attributes = typed(
        doc.data.attributes.unwrap_or_else(|| json!({})),
        "/data/attributes",
    )?;
    let relationships = typed(
        doc.data.relationships.unwrap_or_else(|| json!({})),
        "/data/relationships",
    )?;
    Ok(Input {
        id: doc.data.id,
        attributes,
        relationships,
    })
}

fn syntax(e: serde_json::Error) -> ApiError {
    ApiError::body("", format!("the body is not valid JSON: {e}"))
}

/// Deserializes `value` found at `base`, naming the member at fault in the error.
fn typed<T: DeserializeOwned>(value: Value, base: &str) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut pointer = base.to_owned();
        for segment in e.path().iter() {
            match segment {
                Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                Segment::Map { key } | Segment::Enum { variant: key } => {
                    pointer.push('/');
                    pointer.push_str(key);
                }
                Segment::Unknown => {}
            }
        }
        let inner = e.into_inner().to_string();
        let at = if pointer.is_empty() { "/" } else { &pointer };
        ApiError::body(pointer.clone(), format!("{at}: {inner}"))
    })
}

/// A `200 OK` (or other status) document holding `data`.
pub(crate) fn respond(status: StatusCode, data: Value) -> Response {
    (status, Json(json!({ "data": data }))).into_response()
}

/// `201 Created` with the resource a write just made, read back after the write applied. A
/// resource missing then is a fault of this node (a 500 saying so), never a `null` document.
pub(crate) fn respond_created(doc: Option<Value>, what: &str) -> Result<Response, ApiError> {
    let doc = doc.ok_or_else(|| {
        ApiError::Internal(format!(
            "the new {what} was written but is not in this node's catalog; read it back by id"
        ))
    })?;
    Ok(respond(StatusCode::CREATED, doc))
}

/// A `200 OK` list document, with `links.next` when there is another page.
pub(crate) fn respond_list(data: Vec<Value>, self_path: &str, next: Option<String>) -> Response {
    let mut links = json!({ "self": self_path });
    if let (Some(next), Some(obj)) = (next, links.as_object_mut()) {
        obj.insert("next".into(), Value::String(next));
    }
    Json(json!({ "data": data, "links": links })).into_response()
}

/// A relationship pointing at one resource.
pub(crate) fn to_one(kind: &str, id: &str) -> Value {
    json!({ "data": { "type": kind, "id": id } })
}

/// A relationship that may be empty.
pub(crate) fn to_one_opt(kind: &str, id: Option<&str>) -> Value {
    match id {
        Some(id) => to_one(kind, id),
        None => json!({ "data": null }),
    }
}
