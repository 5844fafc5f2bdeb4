//! The first bytes of an uploaded archive, read by the origin without unpacking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(manifest)) = packyard_core::archive::embedded_manifest(data) {
        assert!(manifest.len() <= data.len());
    }
});
