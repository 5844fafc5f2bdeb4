//! Where a version's manifest comes from and what it says, decided without I/O: the MANIFEST
//! upload file when there is one, else the manifest `packyard pack build` puts first in the
//! archive. An opaque archive is never opened further.

use packyard_core::archive::embedded_manifest;
use packyard_core::catalog::{StateDetail, UploadFileId, VersionMetadata};
use packyard_core::{PackagingManifest, Platform};

use crate::control::Failure;

/// The error codes processing reports, as `stateDetails.errors[].code`.
pub mod codes {
    /// The bytes do not match the SHA-256 they were committed with.
    pub const CHECKSUM_MISMATCH: &str = "CHECKSUM_MISMATCH";
    /// The manifest (uploaded or embedded) is not a valid packaging manifest.
    pub const MANIFEST_INVALID: &str = "MANIFEST_INVALID";
    /// Neither a MANIFEST file nor an embedded manifest.
    pub const MANIFEST_MISSING: &str = "MANIFEST_MISSING";
    /// Parts (or the ASSET file) were never uploaded.
    pub const UPLOAD_INCOMPLETE: &str = "UPLOAD_INCOMPLETE";
}

/// A failure outcome for `file` with one error.
pub fn failed(file: Option<&UploadFileId>, code: &str, description: String) -> Failure {
    Failure {
        upload_file: file.cloned(),
        errors: vec![StateDetail {
            code: code.to_owned(),
            description,
        }],
    }
}

/// The version's metadata: from `manifest_file` (its id and bytes) if one was uploaded, else
/// from the archive's `prefix` (its first `MAX_PREFIX_LEN` bytes, or all of it if shorter).
/// A failure names the file at fault and every problem found.
pub fn version_metadata(
    manifest_file: Option<(&UploadFileId, &[u8])>,
    asset_file: &UploadFileId,
    prefix: &[u8],
) -> Result<VersionMetadata, Failure> {
    let (file, bytes, source) = match manifest_file {
        Some((id, bytes)) => (id, bytes, "the MANIFEST file"),
        None => match embedded_manifest(prefix) {
            Ok(Some(bytes)) => (asset_file, bytes, "the archive's embedded manifest"),
            Ok(None) => {
                return Err(failed(
                    Some(asset_file),
                    codes::MANIFEST_MISSING,
                    "the archive carries no packaging manifest and none was uploaded: upload a \
                     MANIFEST file or build the archive with packyard pack build"
                        .into(),
                ));
            }
            Err(e) => {
                return Err(failed(
                    Some(asset_file),
                    codes::MANIFEST_INVALID,
                    e.to_string(),
                ));
            }
        },
    };
    let parsed = PackagingManifest::parse(bytes).map_err(|errors| Failure {
        upload_file: Some(file.clone()),
        errors: errors
            .errors()
            .iter()
            .map(|e| StateDetail {
                code: codes::MANIFEST_INVALID.to_owned(),
                description: format!("{source}: {e}"),
            })
            .collect(),
    })?;
    let m = parsed.manifest;
    Ok(VersionMetadata {
        download_policy: m.download_policy().clone(),
        platforms: m
            .platforms()
            .cloned()
            .unwrap_or_else(|| Platform::ALL.into_iter().collect()),
        language: m.language().cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &[u8] = br#"{"assetPackID":"p","downloadPolicy":{"onDemand":{}},
        "fileSelectors":[],"platforms":["iOS"],"language":"fr-CA"}"#;

    fn id(s: &str) -> UploadFileId {
        UploadFileId::new(s.to_owned())
    }

    fn errors(f: Failure) -> (Option<UploadFileId>, Vec<StateDetail>) {
        (f.upload_file, f.errors)
    }

    #[test]
    fn an_uploaded_manifest_wins_and_absent_platforms_mean_every_platform() {
        let m = version_metadata(Some((&id("m"), MANIFEST)), &id("a"), b"opaque").unwrap();
        assert_eq!(m.platforms.len(), 1);
        assert_eq!(m.language.unwrap().to_string(), "fr-CA");
        let every = br#"{"assetPackID":"p","downloadPolicy":{"onDemand":{}},"fileSelectors":[]}"#;
        let m = version_metadata(Some((&id("m"), every)), &id("a"), b"").unwrap();
        assert_eq!(m.platforms.len(), Platform::ALL.len());
    }

    #[test]
    fn an_opaque_archive_without_a_manifest_file_says_what_to_do() {
        let (file, errs) = errors(version_metadata(None, &id("a"), &[7; 2048]).unwrap_err());
        assert_eq!(file, Some(id("a")));
        assert_eq!(errs[0].code, codes::MANIFEST_MISSING);
        assert!(errs[0].description.contains("upload a MANIFEST file"));
        assert!(errs[0].description.contains("packyard pack build"));
    }

    #[test]
    fn an_invalid_manifest_file_lists_every_field_error() {
        let bad = br#"{"assetPackID":"bad_id","downloadPolicy":{},"fileSelectors":[]}"#;
        let (file, errs) =
            errors(version_metadata(Some((&id("m"), bad)), &id("a"), b"").unwrap_err());
        assert_eq!(file, Some(id("m")));
        assert!(errs.len() >= 2, "{errs:?}");
        assert!(errs.iter().all(|e| e.code == codes::MANIFEST_INVALID));
        assert!(
            errs.iter().any(|e| e.description.contains("assetPackID")),
            "{errs:?}"
        );
    }
}
