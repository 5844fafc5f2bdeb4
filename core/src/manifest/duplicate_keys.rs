//! Finding keys that appear twice in one JSON object. `serde_json::Value` keeps the last
//! one silently, while other readers keep the first, so a manifest with a repeated field
//! could mean one thing here and another in the platform's packaging tool.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::parse::field_path;

/// The JSON paths of every repeated key in `json`, in document order. `json` must already be
/// known to be valid JSON; if it is not, the paths found before the error are returned.
pub(super) fn duplicate_keys(json: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(json);
    let walk = Walk {
        path: String::new(),
        found: &mut found,
    };
    // The document was parsed once already; an error here cannot happen and would only
    // shorten the list.
    let _ = walk.deserialize(&mut de);
    found
}

/// Visits one JSON value at `path`, recording repeated keys below it.
struct Walk<'a> {
    path: String,
    found: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let found = self.found;
        let mut i = 0;
        loop {
            let item = Walk {
                path: format!("{}[{i}]", self.path),
                found: &mut *found,
            };
            if seq.next_element_seed(item)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let found = self.found;
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = field_path(&self.path, &key);
            if !seen.insert(key) {
                found.push(path.clone());
            }
            map.next_value_seed(Walk {
                path,
                found: &mut *found,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_repeated_keys_at_any_depth() {
        let json = br#"{"a":1,"b":[{"c":1,"c":2}],"a":{"d":{"e":0,"e":1}}}"#;
        assert_eq!(duplicate_keys(json), ["b[0].c", "a", "a.d.e"]);
        assert!(duplicate_keys(br#"{"a":{"a":1},"b":[1,{"a":2}]}"#).is_empty());
    }
}
