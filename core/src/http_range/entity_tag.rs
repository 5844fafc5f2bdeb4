//! Entity tags (RFC 9110 §8.8.3) and how `If-None-Match` and `If-Range` compare them.
//!
//! ```text
//! entity-tag = [ weak ] opaque-tag        weak = %s"W/"
//! opaque-tag = DQUOTE *etagc DQUOTE       etagc = %x21 / %x23-7E / obs-text
//! If-None-Match = "*" / #entity-tag
//! ```

use super::parse::is_ows;

/// A parsed entity tag, borrowing its opaque part (quotes included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EntityTag<'a> {
    weak: bool,
    opaque: &'a str,
}

impl<'a> EntityTag<'a> {
    /// Parses exactly one entity tag, with nothing before or after it.
    pub(super) fn parse(s: &'a str) -> Option<Self> {
        match Self::parse_prefix(s) {
            Some((tag, "")) => Some(tag),
            _ => None,
        }
    }

    /// Parses an entity tag at the start of `s`; returns it and the rest of `s`.
    fn parse_prefix(s: &'a str) -> Option<(Self, &'a str)> {
        let (weak, quoted) = match s.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let inner = quoted.strip_prefix('"')?;
        let close = inner.find('"')?;
        if !inner[..close].bytes().all(is_etagc) {
            return None;
        }
        // The opaque tag with both quotes: one byte each side of `inner[..close]`.
        let (opaque, rest) = quoted.split_at(close + 2);
        Some((Self { weak, opaque }, rest))
    }

    /// Strong comparison (§8.8.3.2): both strong and the same opaque tag.
    pub(super) fn strong_eq(&self, other: &Self) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// Weak comparison (§8.8.3.2): the same opaque tag, either may be weak.
    pub(super) fn weak_eq(&self, other: &Self) -> bool {
        self.opaque == other.opaque
    }
}

/// Whether an `If-None-Match` value matches a representation whose tag is `current`: `*`
/// does, and so does a list holding a tag equal to `current` by weak comparison (§13.1.2).
///
/// A malformed value matches nothing, so the server serves the content rather than a `304`
/// the client may not be able to use.
pub(super) fn if_none_match_matches(value: &str, current: &EntityTag<'_>) -> bool {
    let value = value.trim_matches(is_ows);
    if value == "*" {
        return true;
    }
    let Some(tags) = parse_list(value) else {
        return false;
    };
    tags.iter().any(|tag| tag.weak_eq(current))
}

/// `1#entity-tag`: tags separated by commas with optional whitespace; empty elements skipped.
/// Tags may themselves hold commas, so the list is scanned, not split.
fn parse_list(value: &str) -> Option<Vec<EntityTag<'_>>> {
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c| c == ',' || is_ows(c));
        if rest.is_empty() {
            break;
        }
        let (tag, after) = EntityTag::parse_prefix(rest)?;
        tags.push(tag);
        rest = after.trim_start_matches(is_ows);
        if !(rest.is_empty() || rest.starts_with(',')) {
            return None;
        }
    }
    (!tags.is_empty()).then_some(tags)
}

fn is_etagc(b: u8) -> bool {
    b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80
}
