//! Reading and writing JSON:API documents: relationship objects, ids, typed attributes.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::AdminError;

/// A JSON:API to-one relationship object: `{"data": {"type": kind, "id": id}}`.
pub fn to_one(kind: &str, id: &str) -> Value {
    json!({ "data": { "type": kind, "id": id } })
}

/// The `data.id` of a document.
pub fn id_of(doc: &Value) -> Result<String, AdminError> {
    doc["data"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| AdminError::Malformed(format!("the answer has no data.id: {doc}")))
}

/// `data.attributes[name]` of a document, parsed as `T` (a state enum, a number).
pub(crate) fn attribute<T: DeserializeOwned>(doc: &Value, name: &str) -> Result<T, AdminError> {
    let value = &doc["data"]["attributes"][name];
    serde_json::from_value(value.clone()).map_err(|e| {
        AdminError::Malformed(format!(
            "the answer's {name} {value} is not understood ({e}): {doc}"
        ))
    })
}

/// The id a to-one relationship of a document names, if any.
pub fn related_id<'a>(doc: &'a Value, relationship: &str) -> Option<&'a str> {
    doc["data"]["relationships"][relationship]["data"]["id"].as_str()
}

/// A JSON value as a word in a message: strings bare, null as `-`, the rest as JSON.
pub(crate) fn word(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
