//! One test per rejection, field by field, plus properties over arbitrary input.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::InstallationEventType::{FirstInstallation, SubsequentUpdate};

fn valid() -> Value {
    json!({
        "assetPackID": "level-2",
        "downloadPolicy": { "prefetch": { "installationEventTypes": ["firstInstallation", "subsequentUpdate"] } },
        "fileSelectors": [ { "file": "intro.m4v" }, { "directory": "Textures" } ],
        "platforms": ["iOS", "macOS"],
        "language": "fr-CA"
    })
}

/// `valid()` with the field at `pointer` (JSON pointer) replaced by `value`, or removed.
fn with(pointer: &str, value: Option<Value>) -> Vec<u8> {
    let mut doc = valid();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = doc.pointer_mut(parent).unwrap();
    match (parent, value) {
        (Value::Object(o), Some(v)) => {
            o.insert(key.to_owned(), v);
        }
        (Value::Object(o), None) => {
            o.remove(key);
        }
        (Value::Array(a), Some(v)) => a[key.parse::<usize>().unwrap()] = v,
        _ => panic!("bad pointer {pointer}"),
    }
    serde_json::to_vec(&doc).unwrap()
}

fn errors(json: &[u8]) -> Vec<(String, String)> {
    match PackagingManifest::parse(json) {
        Ok(m) => panic!("accepted: {m:?}"),
        Err(e) => e
            .errors()
            .iter()
            .map(|e| (e.path.clone(), e.reason.clone()))
            .collect(),
    }
}

/// The single error, which must be at `path`; returns its reason.
fn only_error_at(json: &[u8], path: &str) -> String {
    let errors = errors(json);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, path, "{errors:?}");
    errors[0].1.clone()
}

#[test]
fn accepts_the_spec_example() {
    let parsed = PackagingManifest::parse(&serde_json::to_vec(&valid()).unwrap()).unwrap();
    let m = parsed.manifest;
    assert!(parsed.warnings.is_empty());
    assert_eq!(m.asset_pack_id().as_str(), "level-2");
    assert_eq!(
        m.download_policy(),
        &DownloadPolicy::Prefetch {
            installation_event_types: [FirstInstallation, SubsequentUpdate].into()
        }
    );
    assert_eq!(
        m.file_selectors(),
        [
            FileSelector::File(SelectorPath::parse("intro.m4v").unwrap()),
            FileSelector::Directory(SelectorPath::parse("Textures").unwrap()),
        ]
    );
    assert!(m.targets(Platform::Ios) && m.targets(Platform::MacOs));
    assert!(!m.targets(Platform::TvOs));
    assert_eq!(m.language().map(LanguageTag::as_str), Some("fr-CA"));
}

#[test]
fn minimal_manifest_targets_every_platform_without_language() {
    let m = PackagingManifest::parse(
        br#"{"assetPackID":"a","downloadPolicy":{"onDemand":{}},"fileSelectors":[]}"#,
    )
    .unwrap()
    .manifest;
    assert_eq!(m.platforms(), None);
    assert!(Platform::ALL.into_iter().all(|p| m.targets(p)));
    assert_eq!(m.language(), None);
    assert!(m.file_selectors().is_empty());
}

// --- the document as a whole ---

#[test]
fn refuses_input_that_is_not_json() {
    let reason = only_error_at(b"{\"assetPackID\": ", "");
    assert!(reason.starts_with("is not valid JSON"), "{reason}");
}

#[test]
fn refuses_a_root_that_is_not_an_object() {
    let reason = only_error_at(b"[1, 2]", "");
    assert_eq!(
        reason,
        "expected a JSON object at the top level, found an array"
    );
}

#[test]
fn refuses_input_over_the_size_cap() {
    let mut big = serde_json::to_vec(&valid()).unwrap();
    big.pop();
    big.extend(format!(",\"pad\":\"{}\"}}", "x".repeat(MAX_MANIFEST_BYTES)).bytes());
    let reason = only_error_at(&big, "");
    assert!(reason.contains("at most 1048576 bytes"), "{reason}");
}

#[test]
fn reports_every_problem_not_just_the_first() {
    let json = br#"{"assetPackID":"a_b","downloadPolicy":{"prefetch":{"installationEventTypes":["firstInstallation","never"]}},
        "fileSelectors":[{"file":"ok"},{"file":"../up"}],"platforms":["iOS","Android"],"language":"en_US"}"#;
    let paths: Vec<String> = errors(json).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        paths,
        [
            "assetPackID",
            "downloadPolicy.prefetch.installationEventTypes[1]",
            "fileSelectors[1].file",
            "platforms[1]",
            "language"
        ]
    );
}

#[test]
fn unknown_fields_are_accepted_with_a_warning() {
    let mut doc = valid();
    doc["_comment"] = json!("made by hand");
    doc["downloadPolicy"]["prefetch"]["priority"] = json!(3);
    doc["fileSelectors"][0]["comment"] = json!("x");
    doc["weird key"] = json!(null);
    let parsed = PackagingManifest::parse(&serde_json::to_vec(&doc).unwrap()).unwrap();
    let paths: Vec<&str> = parsed.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "downloadPolicy.prefetch.priority",
            "fileSelectors[0].comment",
            "_comment",
            "[\"weird key\"]"
        ]
    );
}

// --- assetPackID ---

#[test]
fn asset_pack_id_missing() {
    let r = only_error_at(&with("/assetPackID", None), "assetPackID");
    assert_eq!(r, "is required but missing");
}

#[test]
fn asset_pack_id_wrong_type() {
    let r = only_error_at(&with("/assetPackID", Some(json!(7))), "assetPackID");
    assert_eq!(r, "expected a string, found a number");
}

#[test]
fn asset_pack_id_bad_character() {
    let r = only_error_at(&with("/assetPackID", Some(json!("lev_el"))), "assetPackID");
    assert_eq!(
        r,
        "contains '_' at position 3; only A-Z, a-z, 0-9, '.' and '-' are allowed"
    );
}

#[test]
fn asset_pack_id_empty_too_long_or_leading_dot() {
    for bad in ["", ".hidden", &"x".repeat(65)] {
        only_error_at(&with("/assetPackID", Some(json!(bad))), "assetPackID");
    }
}

// --- downloadPolicy ---

#[test]
fn download_policy_missing() {
    only_error_at(&with("/downloadPolicy", None), "downloadPolicy");
}

#[test]
fn download_policy_wrong_type() {
    let r = only_error_at(
        &with("/downloadPolicy", Some(json!("prefetch"))),
        "downloadPolicy",
    );
    assert_eq!(r, "expected an object, found a string");
}

#[test]
fn download_policy_empty_or_unknown() {
    let r = only_error_at(&with("/downloadPolicy", Some(json!({}))), "downloadPolicy");
    assert!(r.contains("exactly one of"), "{r}");
    let r = only_error_at(
        &with("/downloadPolicy", Some(json!({"lazy": {}}))),
        "downloadPolicy",
    );
    assert!(r.ends_with("found \"lazy\""), "{r}");
}

#[test]
fn download_policy_two_policies() {
    let r = only_error_at(
        &with(
            "/downloadPolicy",
            Some(
                json!({"onDemand": {}, "essential": {"installationEventTypes": ["firstInstallation"]}}),
            ),
        ),
        "downloadPolicy",
    );
    assert_eq!(
        r,
        "has \"essential\" and \"onDemand\"; exactly one download policy is allowed"
    );
}

#[test]
fn download_policy_body_wrong_type() {
    let r = only_error_at(
        &with("/downloadPolicy", Some(json!({"onDemand": true}))),
        "downloadPolicy.onDemand",
    );
    assert_eq!(r, "expected an object, found a boolean");
}

#[test]
fn on_demand_and_essential_are_accepted() {
    let m = PackagingManifest::parse(&with("/downloadPolicy", Some(json!({"onDemand": {}}))))
        .unwrap()
        .manifest;
    assert_eq!(m.download_policy(), &DownloadPolicy::OnDemand {});
    let m = PackagingManifest::parse(&with(
        "/downloadPolicy",
        Some(json!({"essential": {"installationEventTypes": ["subsequentUpdate"]}})),
    ))
    .unwrap()
    .manifest;
    assert_eq!(
        m.download_policy(),
        &DownloadPolicy::Essential {
            installation_event_types: [SubsequentUpdate].into()
        }
    );
}

#[test]
fn event_types_missing() {
    let r = only_error_at(
        &with("/downloadPolicy/prefetch/installationEventTypes", None),
        "downloadPolicy.prefetch.installationEventTypes",
    );
    assert!(r.starts_with("is required for \"prefetch\""), "{r}");
}

#[test]
fn event_types_wrong_type() {
    let r = only_error_at(
        &with(
            "/downloadPolicy/prefetch/installationEventTypes",
            Some(json!("firstInstallation")),
        ),
        "downloadPolicy.prefetch.installationEventTypes",
    );
    assert_eq!(r, "expected an array, found a string");
    let r = only_error_at(
        &with(
            "/downloadPolicy/prefetch/installationEventTypes/1",
            Some(json!(1)),
        ),
        "downloadPolicy.prefetch.installationEventTypes[1]",
    );
    assert_eq!(r, "expected a string, found a number");
}

#[test]
fn event_types_empty() {
    only_error_at(
        &with(
            "/downloadPolicy/prefetch/installationEventTypes",
            Some(json!([])),
        ),
        "downloadPolicy.prefetch.installationEventTypes",
    );
}

#[test]
fn event_types_unknown() {
    let r = only_error_at(
        &with(
            "/downloadPolicy/prefetch/installationEventTypes/1",
            Some(json!("FirstInstallation")),
        ),
        "downloadPolicy.prefetch.installationEventTypes[1]",
    );
    assert!(r.starts_with("unknown installation event type"), "{r}");
}

#[test]
fn event_types_duplicate() {
    let r = only_error_at(
        &with(
            "/downloadPolicy/prefetch/installationEventTypes/1",
            Some(json!("firstInstallation")),
        ),
        "downloadPolicy.prefetch.installationEventTypes[1]",
    );
    assert_eq!(r, "repeats \"firstInstallation\"; list each event once");
}

// --- fileSelectors ---

#[test]
fn file_selectors_missing() {
    only_error_at(&with("/fileSelectors", None), "fileSelectors");
}

#[test]
fn file_selectors_wrong_type() {
    let r = only_error_at(
        &with("/fileSelectors", Some(json!({"file": "a"}))),
        "fileSelectors",
    );
    assert_eq!(r, "expected an array, found an object");
}

#[test]
fn file_selector_wrong_type() {
    let r = only_error_at(
        &with("/fileSelectors/1", Some(json!("Textures"))),
        "fileSelectors[1]",
    );
    assert_eq!(r, "expected an object, found a string");
}

#[test]
fn file_selector_both_or_neither() {
    only_error_at(
        &with(
            "/fileSelectors/1",
            Some(json!({"file": "a", "directory": "b"})),
        ),
        "fileSelectors[1]",
    );
    only_error_at(
        &with("/fileSelectors/1", Some(json!({"path": "a"}))),
        "fileSelectors[1]",
    );
}

#[test]
fn file_selector_path_wrong_type() {
    let r = only_error_at(
        &with("/fileSelectors/1/directory", Some(json!(["a"]))),
        "fileSelectors[1].directory",
    );
    assert_eq!(r, "expected a string, found an array");
}

#[test]
fn file_selector_path_refusals() {
    for (bad, starts) in [
        ("", "is empty"),
        ("/etc/passwd", "\"/etc/passwd\" is an absolute path"),
        ("a/../../b", "\"a/../../b\" has a '..' component"),
        ("Textures\\HD", "contains '\\' at byte 8"),
        ("a\0b", "contains a NUL character at byte 1"),
    ] {
        let r = only_error_at(
            &with("/fileSelectors/0/file", Some(json!(bad))),
            "fileSelectors[0].file",
        );
        assert!(r.starts_with(starts), "{bad:?}: {r}");
    }
}

#[test]
fn file_selector_file_cannot_be_the_root() {
    let r = only_error_at(
        &with("/fileSelectors/0/file", Some(json!("./"))),
        "fileSelectors[0].file",
    );
    assert!(r.contains("names the source root"), "{r}");
    let m = PackagingManifest::parse(&with("/fileSelectors/0", Some(json!({"directory": "."}))))
        .unwrap()
        .manifest;
    assert!(m.file_selectors()[0].path().is_root());
}

// --- platforms ---

#[test]
fn platforms_wrong_type() {
    let r = only_error_at(&with("/platforms", Some(json!("iOS"))), "platforms");
    assert_eq!(r, "expected an array, found a string");
    let r = only_error_at(&with("/platforms/0", Some(json!(null))), "platforms[0]");
    assert_eq!(r, "expected a string, found null");
}

#[test]
fn platforms_empty() {
    let r = only_error_at(&with("/platforms", Some(json!([]))), "platforms");
    assert!(r.contains("leave \"platforms\" out"), "{r}");
}

#[test]
fn platforms_unknown_name() {
    let r = only_error_at(&with("/platforms/1", Some(json!("macos"))), "platforms[1]");
    assert!(r.starts_with("unknown platform \"macos\""), "{r}");
}

#[test]
fn platforms_duplicate() {
    let r = only_error_at(&with("/platforms/1", Some(json!("iOS"))), "platforms[1]");
    assert_eq!(r, "repeats \"iOS\"; list each platform once");
}

// --- language ---

#[test]
fn language_wrong_type() {
    let r = only_error_at(&with("/language", Some(json!(["fr"]))), "language");
    assert_eq!(r, "expected a string, found an array");
}

#[test]
fn language_malformed_or_unsupported() {
    let r = only_error_at(&with("/language", Some(json!("en_US"))), "language");
    assert!(r.contains("not a well-formed BCP-47"), "{r}");
    let r = only_error_at(&with("/language", Some(json!("de-DE-1901"))), "language");
    assert!(r.contains("a variant subtag"), "{r}");
}

// --- canonical form ---

#[test]
fn canonical_json_is_fixed_and_round_trips() {
    let messy = br#"{ "language": "FR-ca", "platforms": ["macOS", "iOS"],
        "fileSelectors": [ {"directory": "./Textures/"}, {"file": "intro.m4v"} ],
        "downloadPolicy": {"prefetch": {"installationEventTypes": ["subsequentUpdate", "firstInstallation"]}},
        "assetPackID": "level-2", "_comment": "dropped" }"#;
    let m = PackagingManifest::parse(messy).unwrap().manifest;
    let canonical = m.to_canonical_json();
    assert_eq!(
        canonical,
        r#"{"assetPackID":"level-2","downloadPolicy":{"prefetch":{"installationEventTypes":["firstInstallation","subsequentUpdate"]}},"fileSelectors":[{"directory":"Textures"},{"file":"intro.m4v"}],"platforms":["iOS","macOS"],"language":"fr-CA"}"#
    );
    let again = PackagingManifest::parse(canonical.as_bytes()).unwrap();
    assert!(again.warnings.is_empty());
    assert_eq!(again.manifest, m);
    assert_eq!(again.manifest.to_canonical_json(), canonical);
}

/// Arbitrary JSON, biased towards the manifest's own field names and values so the checker's
/// deeper branches are reached.
fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("assetPackID".to_owned()),
        Just("downloadPolicy".to_owned()),
        Just("essential".to_owned()),
        Just("prefetch".to_owned()),
        Just("onDemand".to_owned()),
        Just("installationEventTypes".to_owned()),
        Just("fileSelectors".to_owned()),
        Just("file".to_owned()),
        Just("directory".to_owned()),
        Just("platforms".to_owned()),
        Just("language".to_owned()),
        ".*",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("iOS".to_owned()),
            Just("firstInstallation".to_owned()),
            Just("fr-CA".to_owned()),
            Just("../x".to_owned()),
            ".*",
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_are_refused_with_a_reason_or_survive_their_canonical_form(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        match PackagingManifest::parse(&bytes) {
            Ok(parsed) => {
                let canonical = parsed.manifest.to_canonical_json();
                let again = PackagingManifest::parse(canonical.as_bytes()).unwrap();
                prop_assert_eq!(again.manifest, parsed.manifest);
            }
            Err(e) => prop_assert!(!e.errors().is_empty()),
        }
    }

    #[test]
    fn never_panics_on_arbitrary_json_and_errors_are_never_empty(value in arb_json()) {
        match PackagingManifest::parse(&serde_json::to_vec(&value).unwrap()) {
            Ok(parsed) => {
                let canonical = parsed.manifest.to_canonical_json();
                let again = PackagingManifest::parse(canonical.as_bytes()).unwrap();
                prop_assert_eq!(again.manifest, parsed.manifest);
            }
            Err(e) => prop_assert!(!e.errors().is_empty()),
        }
    }
}

#[test]
fn a_repeated_format_field_is_an_error_a_repeated_unknown_one_a_warning() {
    let json = br#"{"assetPackID":"a","assetPackID":"b","downloadPolicy":{"onDemand":{}},
        "fileSelectors":[{"file":"x","file":"y"}],"//":"one","//":"two"}"#;
    let paths: Vec<String> = errors(json).into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["assetPackID", "fileSelectors[0].file"]);

    let json = br#"{"assetPackID":"a","downloadPolicy":{"onDemand":{}},"fileSelectors":[],
        "//":"one","//":"two"}"#;
    let warnings = PackagingManifest::parse(json).unwrap().warnings;
    let paths: Vec<&str> = warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, ["[\"//\"]", "[\"//\"]"]);
}
