//! A MANIFEST upload file: any bytes a client sends. Parsing must never panic, and whatever
//! it accepts must survive its own canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard_core::PackagingManifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = PackagingManifest::parse(data) {
        let canonical = parsed.manifest.to_canonical_json();
        let again = PackagingManifest::parse(canonical.as_bytes()).expect("canonical form parses");
        assert_eq!(again.manifest.to_canonical_json(), canonical);
    }
});
