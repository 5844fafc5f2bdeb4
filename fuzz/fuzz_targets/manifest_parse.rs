//! A MANIFEST upload file: any bytes a client sends. Parsing must never panic, a refusal
//! always names a problem, and whatever is accepted keeps the guarantees `PackagingManifest`
//! documents and survives its own canonical form: the canonical bytes parse, without
//! warnings, to the same manifest, and write the same bytes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard_core::manifest::{FileSelector, MAX_MANIFEST_BYTES};
use packyard_core::{DownloadPolicy, PackagingManifest};

fuzz_target!(|data: &[u8]| {
    let parsed = match PackagingManifest::parse(data) {
        Ok(parsed) => parsed,
        Err(errors) => {
            assert!(!errors.errors().is_empty(), "refused without a reason");
            return;
        }
    };
    let manifest = &parsed.manifest;
    match manifest.download_policy() {
        DownloadPolicy::Essential {
            installation_event_types: events,
        }
        | DownloadPolicy::Prefetch {
            installation_event_types: events,
        } => assert!(!events.is_empty(), "an eager policy without events"),
        DownloadPolicy::OnDemand {} => {}
    }
    if let Some(platforms) = manifest.platforms() {
        assert!(!platforms.is_empty(), "an empty platform list was accepted");
    }
    for selector in manifest.file_selectors() {
        if let FileSelector::File(path) = selector {
            assert!(!path.is_root(), "a file selector names the root");
        }
    }

    let canonical = manifest.to_canonical_json();
    assert!(
        canonical.len() <= MAX_MANIFEST_BYTES,
        "the canonical form is too large to embed in an archive"
    );
    let again = match PackagingManifest::parse(canonical.as_bytes()) {
        Ok(again) => again,
        Err(e) => panic!("the canonical form {canonical} does not parse: {e}"),
    };
    assert_eq!(
        &again.manifest, manifest,
        "the canonical form changes the manifest"
    );
    assert!(
        again.warnings.is_empty(),
        "the canonical form has warnings: {:?}",
        again.warnings
    );
    assert_eq!(again.manifest.to_canonical_json(), canonical);
});
