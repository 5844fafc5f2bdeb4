//! A device's `lang` query parameter (languages, comma-separated, most preferred first) and a
//! manifest's `language`. A tag that parses differs from its input only in case, is
//! `language[-Script][-REGION]` in canonical case, and parses to itself (normalizing is
//! idempotent); rule R10's selection picks an available tag, prefers an exact match, and
//! does not depend on the order of the available tags.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard_core::LanguageTag;
use packyard_core::language::select;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut tags = Vec::new();
    // At most 64 tags, as many as a device sends and more, so one input stays fast.
    for s in text.split(',').take(64) {
        if let Ok(tag) = LanguageTag::parse(s) {
            check_tag(s, &tag);
            tags.push(tag);
        }
    }
    let Some(primary) = tags.first().cloned() else {
        return;
    };
    let mut reversed = tags.clone();
    reversed.reverse();
    for wanted in &tags {
        let preferred = std::slice::from_ref(wanted);
        assert_eq!(
            select(&tags, preferred, &primary),
            Some(wanted),
            "exact match lost"
        );
    }
    // The device prefers the tags in reverse order; only the last ones are available.
    let available = &tags[tags.len() / 2..];
    let got = select(available, &reversed, &primary);
    if let Some(got) = got {
        assert!(
            available.contains(got),
            "selected {got} that is not available"
        );
    }
    let mut shuffled = available.to_vec();
    shuffled.reverse();
    assert_eq!(
        select(&shuffled, &reversed, &primary),
        got,
        "the selection depends on the order of the available tags"
    );
});

fn check_tag(input: &str, tag: &LanguageTag) {
    let s = tag.as_str();
    assert!(s.eq_ignore_ascii_case(input), "{input:?} became {s:?}");
    assert_eq!(LanguageTag::parse(s).as_ref(), Ok(tag), "not idempotent");

    let language = tag.language();
    assert!(
        (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_lowercase()),
        "language subtag {language:?}"
    );
    let mut rebuilt = language.to_owned();
    if let Some(script) = tag.script() {
        let (first, rest) = script.split_at(1);
        assert!(
            script.len() == 4
                && first.bytes().all(|b| b.is_ascii_uppercase())
                && rest.bytes().all(|b| b.is_ascii_lowercase()),
            "script subtag {script:?}"
        );
        rebuilt = format!("{rebuilt}-{script}");
    }
    if let Some(region) = tag.region() {
        let letters = region.len() == 2 && region.bytes().all(|b| b.is_ascii_uppercase());
        let digits = region.len() == 3 && region.bytes().all(|b| b.is_ascii_digit());
        assert!(letters || digits, "region subtag {region:?}");
        rebuilt = format!("{rebuilt}-{region}");
    }
    assert_eq!(rebuilt, s, "the subtags do not make up the tag");

    let json = serde_json::to_string(tag).expect("a tag serializes");
    assert_eq!(
        serde_json::from_str::<LanguageTag>(&json).as_ref().ok(),
        Some(tag)
    );
}
