//! `packyard.chunks.v1` and `packyard-core`: chunks are named by their BLAKE3 hash.

use packyard_core::Blake3Hash;

use super::{Invalid, hash};

/// The chunk ids a request names, in order; the first malformed one is refused by its place.
pub fn chunk_ids(ids: &[Vec<u8>]) -> Result<Vec<Blake3Hash>, Invalid> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| hash(&format!("ids[{i}]"), id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_chunk_id_is_refused_by_its_place() {
        let err = chunk_ids(&[vec![1; 32], vec![2; 31]]).unwrap_err();
        assert_eq!(err.field, "ids[1]");
        assert_eq!(err.to_string(), "ids[1]: is 31 bytes; a BLAKE3 hash has 32");
        assert_eq!(
            chunk_ids(&[vec![1; 32]]).unwrap(),
            vec![Blake3Hash::from_bytes([1; 32])]
        );
    }
}
