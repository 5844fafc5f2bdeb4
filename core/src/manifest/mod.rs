//! The packaging manifest: which pack a set of files makes, how devices download it, for
//! which platforms and language. Parsed by hand from JSON so that every problem gets its own
//! message naming its field; pure, no I/O.
//!
//! The format is the platform packaging tool's, so its manifests work unchanged:
//!
//! ```json
//! { "assetPackID": "level-2",
//!   "downloadPolicy": { "prefetch": { "installationEventTypes": ["firstInstallation"] } },
//!   "fileSelectors": [ { "file": "intro.m4v" }, { "directory": "Textures" } ],
//!   "platforms": ["iOS", "macOS"],
//!   "language": "fr-CA" }
//! ```
//!
//! # Rules
//!
//! - The document is a JSON object of at most [`MAX_MANIFEST_BYTES`].
//! - `assetPackID` (required): an [`AssetPackIdentifier`].
//! - `downloadPolicy` (required): exactly one of `essential` and `prefetch` (each with a
//!   non-empty, duplicate-free `installationEventTypes` of `firstInstallation` and
//!   `subsequentUpdate`) or `onDemand` (`{}`).
//! - `fileSelectors` (required, may be empty): objects with exactly one of `file` and
//!   `directory`, each a [`SelectorPath`]; a `file` cannot be the root (`.`).
//! - `platforms` (optional): a non-empty, duplicate-free list of manifest platform names;
//!   absent means every platform.
//! - `language` (optional): a [`LanguageTag`].
//! - Fields the format does not define are accepted with a [`ManifestWarning`], so
//!   manifests written for the platform's tool work unchanged; a defined field repeated in
//!   one object is an error, since JSON readers disagree on which copy counts.
//!
//! # Entry points
//!
//! - [`parse`](PackagingManifest::parse) checks every field and reports all problems at once.
//! - [`canonical`](PackagingManifest::to_canonical_json) writes the bytes embedded in archives.

mod canonical;
mod duplicate_keys;
mod error;
mod parse;
mod selector_path;

#[cfg(test)]
mod parse_test;

use std::collections::BTreeSet;

pub use error::{FieldError, ManifestErrors, ManifestWarning};
pub use selector_path::{SelectorPath, SelectorPathError};

use crate::{AssetPackIdentifier, DownloadPolicy, LanguageTag, Platform};

/// The largest manifest accepted, in bytes. Real manifests are a few hundred bytes; the cap
/// bounds what a server reads before refusing a hostile upload, and what an archive's first
/// entry may hold.
pub const MAX_MANIFEST_BYTES: usize = 1 << 20;

/// A checked packaging manifest. The only way to get one is [`PackagingManifest::parse`], so
/// every value satisfies the rules in this module's docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagingManifest {
    asset_pack_id: AssetPackIdentifier,
    download_policy: DownloadPolicy,
    file_selectors: Vec<FileSelector>,
    platforms: Option<BTreeSet<Platform>>,
    language: Option<LanguageTag>,
}

/// One entry of `fileSelectors`: a single file, or a directory taken recursively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FileSelector {
    /// `{"file": "intro.m4v"}`: one regular file.
    File(SelectorPath),
    /// `{"directory": "Textures"}`: every regular file below the directory.
    Directory(SelectorPath),
}

impl FileSelector {
    /// The selected path.
    pub fn path(&self) -> &SelectorPath {
        match self {
            FileSelector::File(p) | FileSelector::Directory(p) => p,
        }
    }
}

/// A manifest and the warnings its parsing produced (fields Packyard ignores).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedManifest {
    /// The manifest.
    pub manifest: PackagingManifest,
    /// What was accepted but ignored, in document order.
    pub warnings: Vec<ManifestWarning>,
}

impl PackagingManifest {
    /// Parses and checks a manifest, collecting every problem rather than stopping at the
    /// first. Input larger than [`MAX_MANIFEST_BYTES`] is refused unread.
    pub fn parse(json: &[u8]) -> Result<ParsedManifest, ManifestErrors> {
        parse::parse(json)
    }

    /// The pack this manifest builds.
    pub fn asset_pack_id(&self) -> &AssetPackIdentifier {
        &self.asset_pack_id
    }

    /// When devices download the pack. `essential` and `prefetch` carry at least one event.
    pub fn download_policy(&self) -> &DownloadPolicy {
        &self.download_policy
    }

    /// The selectors, in manifest order. May be empty: a manifest uploaded next to an opaque
    /// archive needs none, while `packyard pack build` refuses an empty list.
    pub fn file_selectors(&self) -> &[FileSelector] {
        &self.file_selectors
    }

    /// The platforms listed in the manifest, or `None` when `platforms` is absent, which
    /// means every platform.
    pub fn platforms(&self) -> Option<&BTreeSet<Platform>> {
        self.platforms.as_ref()
    }

    /// Whether the pack targets `platform`: listed, or no list at all.
    pub fn targets(&self, platform: Platform) -> bool {
        self.platforms
            .as_ref()
            .is_none_or(|p| p.contains(&platform))
    }

    /// The pack's language, if it is localized (rule R10).
    pub fn language(&self) -> Option<&LanguageTag> {
        self.language.as_ref()
    }
}
