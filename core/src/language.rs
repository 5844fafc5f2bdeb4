//! [`LanguageTag`] and the selection of a localized pack for a device (rule R10).
//!
//! Parsing is oxilangtag's (RFC 5646 well-formedness and case normalization); this module
//! narrows it to what a pack version may carry: a language, an optional script and an optional
//! region, nothing else.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A BCP-47 tag restricted to `language[-Script][-REGION]`, in canonical case
/// (`zh-Hans-CN`, `fr-CA`, `en`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LanguageTag {
    tag: String,
    language_end: usize,
    script: Option<(usize, usize)>,
    region: Option<(usize, usize)>,
}

/// Why a string is not a [`LanguageTag`] a pack may carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LanguageError {
    /// Not a well-formed BCP-47 tag at all.
    #[error("{tag:?} is not a well-formed BCP-47 language tag ({reason})")]
    Malformed {
        /// The input.
        tag: String,
        /// What the BCP-47 parser objected to.
        reason: String,
    },
    /// Well-formed, but uses a part packs may not carry.
    #[error(
        "{tag:?} has {part}; a pack's language is a language with an optional script and region \
         only (for example \"fr-CA\" or \"zh-Hans-CN\")"
    )]
    Unsupported {
        /// The input.
        tag: String,
        /// The part that is not allowed, in words.
        part: &'static str,
    },
}

impl LanguageTag {
    /// Parses and normalizes `s`, refusing extended languages, variants, extensions, private
    /// use and grandfathered tags.
    pub fn parse(s: &str) -> Result<Self, LanguageError> {
        let parsed = oxilangtag::LanguageTag::parse_and_normalize(s).map_err(|e| {
            LanguageError::Malformed {
                tag: s.to_owned(),
                reason: e.to_string(),
            }
        })?;
        let unsupported = |part| {
            Err(LanguageError::Unsupported {
                tag: s.to_owned(),
                part,
            })
        };
        let lang = parsed.primary_language();
        if !(2..=3).contains(&lang.len()) || !lang.bytes().all(|b| b.is_ascii_alphabetic()) {
            return unsupported("a language subtag that is not 2 or 3 letters");
        }
        if parsed.extended_language().is_some() {
            return unsupported("an extended language subtag");
        }
        if parsed.variant().is_some() {
            return unsupported("a variant subtag");
        }
        if parsed.extension().is_some() {
            return unsupported("an extension");
        }
        if parsed.private_use().is_some() {
            return unsupported("a private-use part");
        }
        // With the refusals above the tag is exactly `language[-Script][-REGION]`, so the
        // subtags sit one after the other, each behind a dash.
        let script = parsed
            .script()
            .map(|s| (lang.len() + 1, lang.len() + 1 + s.len()));
        let region_start = script.map_or(lang.len(), |(_, end)| end) + 1;
        let region = parsed
            .region()
            .map(|r| (region_start, region_start + r.len()));
        Ok(Self {
            language_end: lang.len(),
            script,
            region,
            tag: parsed.into_inner(),
        })
    }

    /// The whole tag, canonical case.
    pub fn as_str(&self) -> &str {
        &self.tag
    }

    /// The language subtag, lower case (`fr`).
    pub fn language(&self) -> &str {
        &self.tag[..self.language_end]
    }

    /// The script subtag, title case (`Hans`), if any.
    pub fn script(&self) -> Option<&str> {
        self.script.map(|(a, b)| &self.tag[a..b])
    }

    /// The region subtag, upper case or digits (`CA`, `419`), if any.
    pub fn region(&self) -> Option<&str> {
        self.region.map(|(a, b)| &self.tag[a..b])
    }
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tag)
    }
}

impl TryFrom<String> for LanguageTag {
    type Error = LanguageError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<LanguageTag> for String {
    fn from(t: LanguageTag) -> Self {
        t.tag
    }
}

/// How well `candidate` stands in for `wanted`, when both have the same language: each of
/// script and region scores 2 when equal, 1 when the candidate leaves it out (a generic tag
/// is a better stand-in than a different one), 0 when they differ. Script weighs more than
/// region: `zh-Hant-CN` is a better stand-in for `zh-Hant-TW` than `zh-Hans-TW` is.
fn closeness(wanted: &LanguageTag, candidate: &LanguageTag) -> u8 {
    let part = |w: Option<&str>, c: Option<&str>| match (w, c) {
        (w, c) if w == c => 2,
        (_, None) => 1,
        _ => 0,
    };
    part(wanted.script(), candidate.script()) * 3 + part(wanted.region(), candidate.region())
}

/// The available tag that stands in best for `wanted`: the exact tag, else the closest tag
/// of the same language (ties go to the smallest tag, so the answer never depends on the order
/// of `available`), else none.
fn best_for<'a>(wanted: &LanguageTag, available: &'a [LanguageTag]) -> Option<&'a LanguageTag> {
    if let Some(exact) = available.iter().find(|a| *a == wanted) {
        return Some(exact);
    }
    available
        .iter()
        .filter(|a| a.language() == wanted.language())
        .max_by(|a, b| {
            closeness(wanted, a)
                .cmp(&closeness(wanted, b))
                .then_with(|| b.cmp(a))
        })
}

/// Rule R10: which of the `available` languages a device gets.
///
/// The device's `preferred` languages are tried in order; for each, the exact tag, then the
/// same language with another region or script (best by subtag match). A device that prefers
/// French in Canada and has packs only in `fr-FR` and `en-US` gets `fr-FR` even when English is
/// its second choice: its first language wins over an exact match further down its list. When
/// no preferred language matches, the app's `primary` language (exact, then the closest of the
/// same language); else none.
pub fn select<'a>(
    available: &'a [LanguageTag],
    preferred: &[LanguageTag],
    primary: &LanguageTag,
) -> Option<&'a LanguageTag> {
    preferred
        .iter()
        .find_map(|p| best_for(p, available))
        .or_else(|| best_for(primary, available))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(s: &str) -> LanguageTag {
        LanguageTag::parse(s).unwrap()
    }

    fn tags(s: &[&str]) -> Vec<LanguageTag> {
        s.iter().map(|s| tag(s)).collect()
    }

    #[test]
    fn parses_and_normalizes_case() {
        let t = tag("zh-hans-cn");
        assert_eq!(t.as_str(), "zh-Hans-CN");
        assert_eq!(
            (t.language(), t.script(), t.region()),
            ("zh", Some("Hans"), Some("CN"))
        );
        let t = tag("FR-ca");
        assert_eq!(
            (t.as_str(), t.script(), t.region()),
            ("fr-CA", None, Some("CA"))
        );
        assert_eq!(tag("es-419").region(), Some("419"));
        assert_eq!(tag("en").region(), None);
    }

    #[test]
    fn refuses_what_a_pack_may_not_carry() {
        for (input, part) in [
            ("de-DE-1901", "a variant subtag"),
            ("en-US-u-ca-gregory", "an extension"),
            ("en-x-pirate", "a private-use part"),
            ("zh-cmn-Hans", "an extended language subtag"),
            ("i-klingon", "a language subtag that is not 2 or 3 letters"),
            ("abcde", "a language subtag that is not 2 or 3 letters"),
        ] {
            match LanguageTag::parse(input) {
                Err(LanguageError::Unsupported { part: p, .. }) => assert_eq!(p, part, "{input}"),
                other => panic!("{input}: {other:?}"),
            }
        }
        for bad in ["", "en_US", "fr--CA", "toolonglanguage", "en-"] {
            assert!(
                matches!(
                    LanguageTag::parse(bad),
                    Err(LanguageError::Malformed { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn r10_exact_tag_wins() {
        let available = tags(&["fr-FR", "fr-CA", "en"]);
        let got = select(&available, &tags(&["fr-CA"]), &tag("en"));
        assert_eq!(got.map(LanguageTag::as_str), Some("fr-CA"));
    }

    #[test]
    fn r10_fr_ca_gets_fr_fr_when_only_that_exists() {
        let available = tags(&["fr-FR", "de"]);
        let got = select(&available, &tags(&["fr-CA"]), &tag("en"));
        assert_eq!(got.map(LanguageTag::as_str), Some("fr-FR"));
    }

    #[test]
    fn r10_generic_language_beats_another_region() {
        let available = tags(&["fr-FR", "fr", "fr-BE"]);
        let got = select(&available, &tags(&["fr-CA"]), &tag("en"));
        assert_eq!(got.map(LanguageTag::as_str), Some("fr"));
    }

    #[test]
    fn r10_script_matters_more_than_region() {
        let available = tags(&["zh-Hans-TW", "zh-Hant-CN"]);
        let got = select(&available, &tags(&["zh-Hant-TW"]), &tag("en"));
        assert_eq!(got.map(LanguageTag::as_str), Some("zh-Hant-CN"));
    }

    #[test]
    fn r10_first_preference_beats_exact_match_further_down() {
        let available = tags(&["fr-FR", "en-US"]);
        let got = select(&available, &tags(&["fr-CA", "en-US"]), &tag("en"));
        assert_eq!(got.map(LanguageTag::as_str), Some("fr-FR"));
    }

    #[test]
    fn r10_falls_back_to_the_primary_language() {
        let available = tags(&["de-DE", "en-GB"]);
        let got = select(&available, &tags(&["ja-JP"]), &tag("en-US"));
        assert_eq!(got.map(LanguageTag::as_str), Some("en-GB"));
    }

    #[test]
    fn r10_none_when_nothing_matches() {
        let available = tags(&["de-DE"]);
        assert_eq!(select(&available, &tags(&["ja"]), &tag("en")), None);
        assert_eq!(select(&[], &tags(&["ja"]), &tag("en")), None);
    }

    proptest::proptest! {
        #[test]
        fn r10_selection_ignores_the_order_of_available(
            picks in proptest::sample::subsequence(
                vec!["fr", "fr-FR", "fr-CA", "fr-BE", "en", "en-US", "zh-Hans", "zh-Hant-TW"], 0..8),
            want in proptest::sample::select(vec!["fr-CH", "en-AU", "zh-Hant-HK", "de"]),
        ) {
            let available = tags(&picks);
            let mut reversed = available.clone();
            reversed.reverse();
            let preferred = tags(&[want]);
            proptest::prop_assert_eq!(
                select(&available, &preferred, &tag("en")),
                select(&reversed, &preferred, &tag("en"))
            );
        }
    }
}
