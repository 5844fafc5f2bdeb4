//! The hand-written checker behind [`PackagingManifest::parse`]: JSON is read into a
//! [`Value`] and each field is checked on its own, so one bad field never hides another.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::duplicate_keys::duplicate_keys;
use super::{
    FieldError, FileSelector, MAX_MANIFEST_BYTES, ManifestErrors, ManifestWarning,
    PackagingManifest, ParsedManifest, SelectorPath,
};
use crate::{AssetPackIdentifier, DownloadPolicy, InstallationEventType, LanguageTag, Platform};

/// The top-level fields Packyard reads.
const KNOWN_FIELDS: [&str; 5] = [
    "assetPackID",
    "downloadPolicy",
    "fileSelectors",
    "platforms",
    "language",
];

/// The three download policies, as the manifest spells them.
const POLICIES: [&str; 3] = ["essential", "prefetch", "onDemand"];

/// Every key the format defines, at any depth. A repeated one of these is an error; a
/// repeated unknown key (such as several `"//"` comments) only a warning.
const FORMAT_KEYS: [&str; 11] = [
    "assetPackID",
    "downloadPolicy",
    "fileSelectors",
    "platforms",
    "language",
    "essential",
    "prefetch",
    "onDemand",
    "installationEventTypes",
    "file",
    "directory",
];

/// Errors and warnings met so far.
#[derive(Default)]
struct Report {
    errors: Vec<FieldError>,
    warnings: Vec<ManifestWarning>,
}

impl Report {
    fn error(&mut self, path: &str, reason: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.to_owned(),
            reason: reason.into(),
        });
    }

    fn unknown_field(&mut self, path: String) {
        self.warnings.push(ManifestWarning {
            path,
            message: "unknown field, ignored".to_owned(),
        });
    }
}

pub(super) fn parse(json: &[u8]) -> Result<ParsedManifest, ManifestErrors> {
    let whole = |reason: String| {
        ManifestErrors(vec![FieldError {
            path: String::new(),
            reason,
        }])
    };
    if json.len() > MAX_MANIFEST_BYTES {
        return Err(whole(format!(
            "is {} bytes; a manifest may have at most {MAX_MANIFEST_BYTES} bytes (1 MiB)",
            json.len()
        )));
    }
    let value: Value =
        serde_json::from_slice(json).map_err(|e| whole(format!("is not valid JSON: {e}")))?;
    let Value::Object(root) = value else {
        return Err(whole(format!(
            "expected a JSON object at the top level, found {}",
            kind(&value)
        )));
    };

    let mut report = Report::default();
    for path in duplicate_keys(json) {
        let key = path.rsplit(['.', '[']).next().unwrap_or(&path);
        if FORMAT_KEYS.contains(&key) {
            report.error(
                &path,
                "appears more than once in the same object; keep one (JSON readers disagree \
                 on which one counts)",
            );
        } else {
            report.warnings.push(ManifestWarning {
                path,
                message: "repeated unknown field, ignored".to_owned(),
            });
        }
    }
    let asset_pack_id =
        required(&root, "assetPackID", &mut report).and_then(|v| asset_pack_id(v, &mut report));
    let download_policy = required(&root, "downloadPolicy", &mut report)
        .and_then(|v| download_policy(v, &mut report));
    let file_selectors =
        required(&root, "fileSelectors", &mut report).and_then(|v| file_selectors(v, &mut report));
    let platforms = root.get("platforms").map(|v| platforms(v, &mut report));
    let language = root.get("language").map(|v| language(v, &mut report));
    for key in root.keys().filter(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        report.unknown_field(field_path("", key));
    }

    match (
        asset_pack_id,
        download_policy,
        file_selectors,
        platforms,
        language,
    ) {
        (Some(asset_pack_id), Some(download_policy), Some(file_selectors), platforms, language)
            if report.errors.is_empty() =>
        {
            Ok(ParsedManifest {
                manifest: PackagingManifest {
                    asset_pack_id,
                    download_policy,
                    file_selectors,
                    platforms: platforms.flatten(),
                    language: language.flatten(),
                },
                warnings: report.warnings,
            })
        }
        _ => Err(ManifestErrors(report.errors)),
    }
}

/// The field `key` of `object`, or an error saying it is required.
fn required<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    report: &mut Report,
) -> Option<&'a Value> {
    let value = object.get(key);
    if value.is_none() {
        report.error(key, "is required but missing");
    }
    value
}

fn asset_pack_id(value: &Value, report: &mut Report) -> Option<AssetPackIdentifier> {
    let s = string(value, "assetPackID", report)?;
    AssetPackIdentifier::parse(s)
        .map_err(|e| report.error("assetPackID", e.to_string()))
        .ok()
}

fn download_policy(value: &Value, report: &mut Report) -> Option<DownloadPolicy> {
    const PATH: &str = "downloadPolicy";
    let object = object(value, PATH, report)?;
    let present: Vec<&str> = POLICIES
        .into_iter()
        .filter(|p| object.contains_key(*p))
        .collect();
    let unknown: Vec<&String> = object
        .keys()
        .filter(|k| !POLICIES.contains(&k.as_str()))
        .collect();
    let policy = match present.as_slice() {
        [] => {
            let found = if unknown.is_empty() {
                "it is empty".to_owned()
            } else {
                let names: Vec<String> = unknown.iter().map(|k| format!("{k:?}")).collect();
                format!("found {}", names.join(", "))
            };
            report.error(
                PATH,
                format!(
                    "needs exactly one of \"essential\", \"prefetch\" or \"onDemand\"; {found}"
                ),
            );
            return None;
        }
        [one] => *one,
        several => {
            report.error(
                PATH,
                format!(
                    "has {}; exactly one download policy is allowed",
                    several
                        .iter()
                        .map(|p| format!("{p:?}"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            );
            return None;
        }
    };
    for key in unknown {
        report.unknown_field(field_path(PATH, key));
    }
    let path = field_path(PATH, policy);
    let body = object
        .get(policy)
        .and_then(|v| self::object(v, &path, report))?;
    if policy == "onDemand" {
        for key in body.keys() {
            report.unknown_field(field_path(&path, key));
        }
        return Some(DownloadPolicy::OnDemand {});
    }
    for key in body.keys().filter(|k| *k != "installationEventTypes") {
        report.unknown_field(field_path(&path, key));
    }
    let events_path = field_path(&path, "installationEventTypes");
    let Some(events) = body.get("installationEventTypes") else {
        report.error(
            &events_path,
            format!(
                "is required for {policy:?}; list \"firstInstallation\", \"subsequentUpdate\" \
                 or both"
            ),
        );
        return None;
    };
    let installation_event_types = event_types(events, &events_path, report)?;
    Some(if policy == "essential" {
        DownloadPolicy::Essential {
            installation_event_types,
        }
    } else {
        DownloadPolicy::Prefetch {
            installation_event_types,
        }
    })
}

fn event_types(
    value: &Value,
    path: &str,
    report: &mut Report,
) -> Option<BTreeSet<InstallationEventType>> {
    let items = array(value, path, report)?;
    if items.is_empty() {
        report.error(
            path,
            "is empty; list \"firstInstallation\", \"subsequentUpdate\" or both",
        );
        return None;
    }
    let mut events = BTreeSet::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let Some(name) = string(item, &item_path, report) else {
            ok = false;
            continue;
        };
        match InstallationEventType::from_name(name) {
            None => {
                report.error(
                    &item_path,
                    format!(
                        "unknown installation event type {name:?}; use \"firstInstallation\" \
                         or \"subsequentUpdate\""
                    ),
                );
                ok = false;
            }
            Some(event) if !events.insert(event) => {
                report.error(
                    &item_path,
                    format!("repeats {name:?}; list each event once"),
                );
                ok = false;
            }
            Some(_) => {}
        }
    }
    ok.then_some(events)
}

fn file_selectors(value: &Value, report: &mut Report) -> Option<Vec<FileSelector>> {
    let items = array(value, "fileSelectors", report)?;
    let mut selectors = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let Some(s) = file_selector(item, &format!("fileSelectors[{i}]"), report) {
            selectors.push(s);
        }
    }
    (selectors.len() == items.len()).then_some(selectors)
}

fn file_selector(value: &Value, path: &str, report: &mut Report) -> Option<FileSelector> {
    let object = object(value, path, report)?;
    for key in object.keys().filter(|k| *k != "file" && *k != "directory") {
        report.unknown_field(field_path(path, key));
    }
    let (key, raw) = match (object.get("file"), object.get("directory")) {
        (Some(_), Some(_)) => {
            report.error(
                path,
                "has both \"file\" and \"directory\"; use one selector for each",
            );
            return None;
        }
        (None, None) => {
            report.error(
                path,
                "needs \"file\" (one file) or \"directory\" (a whole directory)",
            );
            return None;
        }
        (Some(v), None) => ("file", v),
        (None, Some(v)) => ("directory", v),
    };
    let value_path = field_path(path, key);
    let s = string(raw, &value_path, report)?;
    let selector_path = SelectorPath::parse(s)
        .map_err(|e| report.error(&value_path, e.to_string()))
        .ok()?;
    if key == "directory" {
        return Some(FileSelector::Directory(selector_path));
    }
    if selector_path.is_root() {
        report.error(
            &value_path,
            format!(
                "{s:?} names the source root, not a file; use {{\"directory\": \".\"}} to \
                 select everything"
            ),
        );
        return None;
    }
    Some(FileSelector::File(selector_path))
}

fn platforms(value: &Value, report: &mut Report) -> Option<BTreeSet<Platform>> {
    const PATH: &str = "platforms";
    let items = array(value, PATH, report)?;
    if items.is_empty() {
        report.error(
            PATH,
            "is empty; list at least one platform, or leave \"platforms\" out to target every \
             platform",
        );
        return None;
    }
    let mut platforms = BTreeSet::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{PATH}[{i}]");
        let Some(name) = string(item, &item_path, report) else {
            ok = false;
            continue;
        };
        match Platform::from_manifest_name(name) {
            None => {
                report.error(
                    &item_path,
                    format!(
                        "unknown platform {name:?}; use \"iOS\", \"iPadOS\", \"macOS\", \"tvOS\" \
                         or \"visionOS\" (case matters)"
                    ),
                );
                ok = false;
            }
            Some(p) if !platforms.insert(p) => {
                report.error(
                    &item_path,
                    format!("repeats {name:?}; list each platform once"),
                );
                ok = false;
            }
            Some(_) => {}
        }
    }
    ok.then_some(platforms)
}

fn language(value: &Value, report: &mut Report) -> Option<LanguageTag> {
    let s = string(value, "language", report)?;
    LanguageTag::parse(s)
        .map_err(|e| report.error("language", e.to_string()))
        .ok()
}

fn string<'a>(value: &'a Value, path: &str, report: &mut Report) -> Option<&'a str> {
    let s = value.as_str();
    if s.is_none() {
        report.error(path, format!("expected a string, found {}", kind(value)));
    }
    s
}

fn array<'a>(value: &'a Value, path: &str, report: &mut Report) -> Option<&'a Vec<Value>> {
    let a = value.as_array();
    if a.is_none() {
        report.error(path, format!("expected an array, found {}", kind(value)));
    }
    a
}

fn object<'a>(value: &'a Value, path: &str, report: &mut Report) -> Option<&'a Map<String, Value>> {
    let o = value.as_object();
    if o.is_none() {
        report.error(path, format!("expected an object, found {}", kind(value)));
    }
    o
}

/// A JSON value's type, with its article, for "expected …, found …" messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `parent.key`, or `parent["key"]` when the key is not a plain name.
pub(super) fn field_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    match (parent.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{}]", Value::String(key.to_owned())),
    }
}
