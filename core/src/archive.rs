//! The pack archive format's pure parts.
//!
//! `packyard pack build` writes a tar archive whose **first** entry is the canonical manifest,
//! named [`MANIFEST_ENTRY_NAME`], followed by the pack's regular files sorted by path. Because
//! the manifest comes first, a server learns a version's download policy, platforms and
//! language from the archive's first bytes ([`embedded_manifest`]) without unpacking it; an
//! archive whose first entry is anything else (an opaque `.aar`, a foreign tar) is left alone.

use crate::manifest::MAX_MANIFEST_BYTES;

/// The name of the manifest entry, always the archive's first entry.
pub const MANIFEST_ENTRY_NAME: &str = "packyard-manifest.json";

/// The tar block size: headers are one block, file data is padded to whole blocks.
pub const BLOCK_LEN: usize = 512;

/// How many leading bytes of an archive [`embedded_manifest`] may need: one header and the
/// largest manifest allowed (already a whole number of blocks).
pub const MAX_PREFIX_LEN: usize = BLOCK_LEN + MAX_MANIFEST_BYTES.div_ceil(BLOCK_LEN) * BLOCK_LEN;

/// Why an archive that starts with a Packyard manifest header cannot be read. Archives that do
/// not start with one are not errors: [`embedded_manifest`] returns `None` for them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// The manifest entry is not a regular file.
    #[error("the archive's {MANIFEST_ENTRY_NAME} entry has tar type {0:?}, not a regular file")]
    NotRegular(char),
    /// The header's size field is not a number.
    #[error("the archive's {MANIFEST_ENTRY_NAME} header has an unreadable size field")]
    BadSize,
    /// The manifest entry is larger than a manifest may be.
    #[error(
        "the archive's {MANIFEST_ENTRY_NAME} entry has {0} bytes; a manifest may have at most \
         {MAX_MANIFEST_BYTES}"
    )]
    TooLarge(u64),
    /// The caller passed fewer bytes than the manifest entry needs.
    #[error(
        "the archive's first {have} bytes do not hold its {MANIFEST_ENTRY_NAME} entry; \
         {need} are needed"
    )]
    Truncated {
        /// Bytes given.
        have: usize,
        /// Bytes needed.
        need: usize,
    },
}

/// The embedded manifest's bytes, if `prefix` (the first bytes of an archive, at least
/// `min(archive size, MAX_PREFIX_LEN)` of them) starts with a Packyard manifest entry.
///
/// Returns `Ok(None)` when the first 512 bytes are not a valid tar header (bad checksum or
/// magic, or fewer than 512 bytes) or the first entry has another name: not a Packyard
/// archive. The bytes returned are not parsed; hand them to
/// [`PackagingManifest::parse`](crate::PackagingManifest::parse).
pub fn embedded_manifest(prefix: &[u8]) -> Result<Option<&[u8]>, ArchiveError> {
    let Some(header) = prefix.get(..BLOCK_LEN) else {
        return Ok(None);
    };
    if !is_tar_header(header) || entry_name(header) != MANIFEST_ENTRY_NAME.as_bytes() {
        return Ok(None);
    }
    let typeflag = header[156];
    if typeflag != b'0' && typeflag != 0 {
        return Err(ArchiveError::NotRegular(char::from(typeflag)));
    }
    let size = numeric(&header[124..136]).ok_or(ArchiveError::BadSize)?;
    let len = usize::try_from(size)
        .ok()
        .filter(|len| *len <= MAX_MANIFEST_BYTES)
        .ok_or(ArchiveError::TooLarge(size))?;
    let need = BLOCK_LEN + len;
    prefix
        .get(BLOCK_LEN..need)
        .map(Some)
        .ok_or(ArchiveError::Truncated {
            have: prefix.len(),
            need,
        })
}

/// Whether `header` has a ustar or GNU magic and a correct checksum. An all-zero block (the
/// end of an archive) has neither.
fn is_tar_header(header: &[u8]) -> bool {
    // POSIX ustar writes "ustar\0" + "00"; GNU tar writes "ustar " + " \0".
    if &header[257..262] != b"ustar" {
        return false;
    }
    let Some(stored) = numeric(&header[148..156]) else {
        return false;
    };
    // The checksum is the byte sum of the header with the checksum field read as spaces.
    let sum: u64 = header
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    sum == stored
}

/// The entry's path: the `name` field, behind the ustar `prefix` field when there is one.
/// GNU headers use the prefix's bytes for other things, and Packyard's manifest name is short,
/// so only the POSIX form is joined.
fn entry_name(header: &[u8]) -> Vec<u8> {
    let name = until_nul(&header[0..100]);
    let posix = &header[257..265] == b"ustar\x0000";
    let prefix = until_nul(&header[345..500]);
    if posix && !prefix.is_empty() {
        [prefix, b"/", name].concat()
    } else {
        name.to_vec()
    }
}

fn until_nul(field: &[u8]) -> &[u8] {
    field.split(|b| *b == 0).next().unwrap_or(field)
}

/// A numeric header field: octal digits padded with spaces or NULs, or GNU base-256 (the
/// first byte's high bit set) for values too large for octal.
fn numeric(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        return field[1..]
            .iter()
            .try_fold(u64::from(field[0] & 0x7f), |acc, b| {
                acc.checked_mul(256)?.checked_add(u64::from(*b))
            });
    }
    let digits = field
        .iter()
        .copied()
        .skip_while(|b| *b == b' ')
        .take_while(|b| *b != b' ' && *b != 0);
    let mut value: u64 = 0;
    let mut any = false;
    for d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        value = value.checked_mul(8)?.checked_add(u64::from(d - b'0'))?;
        any = true;
    }
    any.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GNU-style header as the builder writes it, checksum set.
    fn header(name: &str, size: u64, typeflag: u8) -> [u8; BLOCK_LEN] {
        let mut h = [0u8; BLOCK_LEN];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
        h[156] = typeflag;
        h[257..265].copy_from_slice(b"ustar  \0");
        set_checksum(&mut h);
        h
    }

    fn set_checksum(h: &mut [u8; BLOCK_LEN]) {
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    }

    fn archive(name: &str, body: &[u8]) -> Vec<u8> {
        let mut a = header(name, body.len() as u64, b'0').to_vec();
        a.extend_from_slice(body);
        a.resize(a.len().div_ceil(BLOCK_LEN) * BLOCK_LEN + 2 * BLOCK_LEN, 0);
        a
    }

    #[test]
    fn finds_the_manifest_in_the_first_entry() {
        let a = archive(MANIFEST_ENTRY_NAME, b"{\"x\":1}");
        assert_eq!(embedded_manifest(&a), Ok(Some(&b"{\"x\":1}"[..])));
        // The header and the manifest bytes are enough.
        assert_eq!(embedded_manifest(&a[..519]), Ok(Some(&b"{\"x\":1}"[..])));
    }

    #[test]
    fn another_first_entry_or_no_tar_is_not_an_error() {
        assert_eq!(embedded_manifest(&archive("intro.m4v", b"abc")), Ok(None));
        assert_eq!(embedded_manifest(b""), Ok(None));
        assert_eq!(embedded_manifest(&[0u8; 1024]), Ok(None));
        assert_eq!(embedded_manifest(b"AAR\x00 an opaque archive"), Ok(None));
        assert_eq!(embedded_manifest(&[0xA5; 4096]), Ok(None));
    }

    #[test]
    fn a_corrupt_checksum_means_not_a_tar() {
        let mut a = archive(MANIFEST_ENTRY_NAME, b"{}");
        a[0] = b'P';
        assert_eq!(embedded_manifest(&a), Ok(None));
    }

    #[test]
    fn refuses_a_manifest_entry_that_is_not_a_file_too_big_or_cut_short() {
        let mut h = header(MANIFEST_ENTRY_NAME, 0, b'5').to_vec();
        assert_eq!(embedded_manifest(&h), Err(ArchiveError::NotRegular('5')));
        h = header(MANIFEST_ENTRY_NAME, 2 << 20, b'0').to_vec();
        assert_eq!(embedded_manifest(&h), Err(ArchiveError::TooLarge(2 << 20)));
        h = header(MANIFEST_ENTRY_NAME, 100, b'0').to_vec();
        assert_eq!(
            embedded_manifest(&h),
            Err(ArchiveError::Truncated {
                have: 512,
                need: 612
            })
        );
    }

    #[test]
    fn reads_base_256_and_padded_octal_sizes() {
        assert_eq!(numeric(b"0000000012\0"), Some(10));
        assert_eq!(numeric(b"   12 \0"), Some(10));
        assert_eq!(numeric(b"\x80\0\0\0\0\0\0\0\0\0\x01\x00"), Some(256));
        assert_eq!(numeric(b"\0\0\0"), None);
        assert_eq!(numeric(b"12x"), None);
    }

    #[test]
    fn joins_the_posix_prefix() {
        let mut h = header("manifest.json", 0, b'0');
        h[257..265].copy_from_slice(b"ustar\x0000");
        h[345..353].copy_from_slice(b"packyard");
        set_checksum(&mut h);
        assert_eq!(entry_name(&h), b"packyard/manifest.json");
    }

    /// What the fuzz target asserts of any input: a manifest found is exactly the bytes after
    /// the first header, within the cap; the bytes after it change nothing; one byte fewer is
    /// `Truncated`.
    fn found_is_exactly_after_the_header(
        data: &[u8],
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        if let Ok(Some(manifest)) = embedded_manifest(data) {
            let need = BLOCK_LEN + manifest.len();
            proptest::prop_assert!(manifest.len() <= MAX_MANIFEST_BYTES);
            proptest::prop_assert_eq!(manifest, &data[BLOCK_LEN..need]);
            proptest::prop_assert_eq!(embedded_manifest(&data[..need]), Ok(Some(manifest)));
            if !manifest.is_empty() {
                proptest::prop_assert_eq!(
                    embedded_manifest(&data[..need - 1]),
                    Err(ArchiveError::Truncated {
                        have: need - 1,
                        need
                    })
                );
            }
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn a_manifest_found_in_any_bytes_is_exactly_the_bytes_after_the_header(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
        ) {
            found_is_exactly_after_the_header(&bytes)?;
        }

        #[test]
        fn valid_headers_with_random_fields_give_exactly_the_bytes_after_them(
            size in proptest::prelude::any::<[u8; 12]>(),
            flag in proptest::prelude::any::<u8>(),
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
        ) {
            let mut h = header(MANIFEST_ENTRY_NAME, 0, flag);
            h[124..136].copy_from_slice(&size);
            set_checksum(&mut h);
            let mut a = h.to_vec();
            a.extend(tail);
            found_is_exactly_after_the_header(&a)?;
        }
    }
}
