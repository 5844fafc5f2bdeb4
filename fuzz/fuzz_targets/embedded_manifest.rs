//! The first bytes of an uploaded archive, read by the origin without unpacking. Whatever is
//! found is exactly the bytes right after the first header, no larger than a manifest may be;
//! the answer depends only on the header and those bytes; one byte fewer is `Truncated`.
//! The bytes found then go through the manifest parser, as the origin sends them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard_core::PackagingManifest;
use packyard_core::archive::{ArchiveError, BLOCK_LEN, embedded_manifest};
use packyard_core::manifest::MAX_MANIFEST_BYTES;

fuzz_target!(|data: &[u8]| {
    match embedded_manifest(data) {
        Ok(Some(manifest)) => {
            let need = BLOCK_LEN + manifest.len();
            assert!(
                manifest.len() <= MAX_MANIFEST_BYTES,
                "manifest over the cap"
            );
            assert_eq!(
                manifest,
                &data[BLOCK_LEN..need],
                "not the bytes after the header"
            );
            assert_eq!(
                embedded_manifest(&data[..need]),
                Ok(Some(manifest)),
                "the bytes after the manifest changed the answer"
            );
            if !manifest.is_empty() {
                assert_eq!(
                    embedded_manifest(&data[..need - 1]),
                    Err(ArchiveError::Truncated {
                        have: need - 1,
                        need
                    })
                );
            }
            if let Err(errors) = PackagingManifest::parse(manifest) {
                assert!(!errors.errors().is_empty(), "refused without a reason");
            }
        }
        Ok(None) => {
            // Not a Packyard archive: more bytes after the header cannot make it one.
            if data.len() >= BLOCK_LEN {
                assert_eq!(embedded_manifest(&data[..BLOCK_LEN]), Ok(None));
            }
        }
        Err(ArchiveError::Truncated { have, need }) => {
            assert_eq!(have, data.len());
            assert!(need > have && need <= BLOCK_LEN + MAX_MANIFEST_BYTES);
        }
        Err(_) => {}
    }
});
