//! [`PackagingManifest::to_canonical_json`]: the one byte form of a manifest.

use serde_json::Value;

use super::{FileSelector, PackagingManifest};
use crate::{DownloadPolicy, InstallationEventType};

impl PackagingManifest {
    /// The manifest as compact JSON with a fixed layout, so equal manifests always give equal
    /// bytes (archives embed this, and unchanged bytes give unchanged chunks).
    ///
    /// Keys come in the order `assetPackID`, `downloadPolicy`, `fileSelectors`, `platforms`,
    /// `language`; absent optional fields are left out; event types and platforms are sorted;
    /// selectors keep their order, with normalized paths; there is no whitespace and no
    /// trailing newline. Fields the parser ignored are not written. Written by hand rather
    /// than through a map type, whose key order could change with a dependency's features.
    pub fn to_canonical_json(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("{\"assetPackID\":");
        push_string(&mut out, self.asset_pack_id.as_str());
        out.push_str(",\"downloadPolicy\":");
        match &self.download_policy {
            DownloadPolicy::Essential {
                installation_event_types,
            } => push_events(&mut out, "essential", installation_event_types),
            DownloadPolicy::Prefetch {
                installation_event_types,
            } => push_events(&mut out, "prefetch", installation_event_types),
            DownloadPolicy::OnDemand {} => out.push_str("{\"onDemand\":{}}"),
        }
        out.push_str(",\"fileSelectors\":[");
        for (i, selector) in self.file_selectors.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let key = match selector {
                FileSelector::File(_) => "{\"file\":",
                FileSelector::Directory(_) => "{\"directory\":",
            };
            out.push_str(key);
            push_string(&mut out, &selector.path().to_string());
            out.push('}');
        }
        out.push(']');
        if let Some(platforms) = &self.platforms {
            out.push_str(",\"platforms\":[");
            for (i, p) in platforms.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_string(&mut out, p.manifest_name());
            }
            out.push(']');
        }
        if let Some(language) = &self.language {
            out.push_str(",\"language\":");
            push_string(&mut out, language.as_str());
        }
        out.push('}');
        out
    }
}

fn push_events(
    out: &mut String,
    policy: &str,
    events: &std::collections::BTreeSet<InstallationEventType>,
) {
    out.push_str("{\"");
    out.push_str(policy);
    out.push_str("\":{\"installationEventTypes\":[");
    let names = InstallationEventType::ALL
        .into_iter()
        .filter(|(e, _)| events.contains(e))
        .map(|(_, name)| name);
    for (i, name) in names.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_string(out, name);
    }
    out.push_str("]}}");
}

/// A JSON string literal; serde_json's escaping is fixed (short escapes, `\u00XX` for other
/// control characters, everything else as UTF-8).
fn push_string(out: &mut String, s: &str) {
    out.push_str(&Value::String(s.to_owned()).to_string());
}
