//! [`AssetPackIdentifier`]: the per-app name of an asset pack.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest identifier accepted, in characters (all of them ASCII).
pub const MAX_LEN: usize = 64;

/// An asset pack's identifier: unique per app, 1 to 64 characters from `A-Z a-z 0-9 . -`,
/// not starting with a dot. Once a pack is archived its identifier is never used again in
/// that app (rule R7); that is the catalog's business, not this type's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AssetPackIdentifier(String);

/// Why a string is not an [`AssetPackIdentifier`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackIdError {
    /// The string is empty.
    #[error("is empty; an asset pack identifier has 1 to {MAX_LEN} characters")]
    Empty,
    /// The string is longer than [`MAX_LEN`].
    #[error("has {0} characters; at most {MAX_LEN} are allowed")]
    TooLong(usize),
    /// The string starts with `.`.
    #[error("starts with a dot, which is not allowed")]
    LeadingDot,
    /// The string holds a character outside `A-Z a-z 0-9 . -`.
    #[error("contains {0:?} at position {1}; only A-Z, a-z, 0-9, '.' and '-' are allowed")]
    BadChar(char, usize),
}

impl AssetPackIdentifier {
    /// Checks `s` against the identifier rules.
    pub fn parse(s: &str) -> Result<Self, PackIdError> {
        if s.is_empty() {
            return Err(PackIdError::Empty);
        }
        if let Some((pos, c)) = s
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '-'))
        {
            return Err(PackIdError::BadChar(c, pos));
        }
        if s.len() > MAX_LEN {
            return Err(PackIdError::TooLong(s.len()));
        }
        if s.starts_with('.') {
            return Err(PackIdError::LeadingDot);
        }
        Ok(Self(s.to_owned()))
    }

    /// The identifier as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AssetPackIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for AssetPackIdentifier {
    type Error = PackIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<AssetPackIdentifier> for String {
    fn from(id: AssetPackIdentifier) -> Self {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_letters_digits_dots_and_dashes() {
        for ok in [
            "a",
            "level-2",
            "Textures.HD",
            "0",
            "a.b-c.9",
            &"x".repeat(64),
        ] {
            assert!(AssetPackIdentifier::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_each_bad_shape_with_its_reason() {
        assert_eq!(AssetPackIdentifier::parse(""), Err(PackIdError::Empty));
        assert_eq!(
            AssetPackIdentifier::parse(&"x".repeat(65)),
            Err(PackIdError::TooLong(65))
        );
        assert_eq!(
            AssetPackIdentifier::parse(".hidden"),
            Err(PackIdError::LeadingDot)
        );
        assert_eq!(
            AssetPackIdentifier::parse("a_b"),
            Err(PackIdError::BadChar('_', 1))
        );
        assert_eq!(
            AssetPackIdentifier::parse("a/b"),
            Err(PackIdError::BadChar('/', 1))
        );
        assert_eq!(
            AssetPackIdentifier::parse("é"),
            Err(PackIdError::BadChar('é', 0))
        );
        assert_eq!(
            AssetPackIdentifier::parse("a b"),
            Err(PackIdError::BadChar(' ', 1))
        );
    }

    #[test]
    fn deserializing_checks_the_rules() {
        let bad: Result<AssetPackIdentifier, _> = serde_json::from_str("\"a_b\"");
        assert!(bad.is_err());
        let good: AssetPackIdentifier = serde_json::from_str("\"a-b\"").unwrap();
        assert_eq!(good.as_str(), "a-b");
    }
}
