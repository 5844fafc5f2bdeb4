#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::*;

/// Bytes that look random (a xorshift stream), so content-defined cuts fall as on real data.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

#[test]
fn pieces_cover_the_chunk_in_order_within_their_bounds() {
    let chunk = noise(1, 200_000);
    let pieces = split(&chunk);
    let total: usize = pieces.iter().map(|p| usize::from(p.len)).sum();
    assert_eq!(total, chunk.len());
    let (last, rest) = pieces.split_last().unwrap();
    assert!(
        rest.iter()
            .all(|p| (PIECE_MIN..=PIECE_MAX).contains(&usize::from(p.len)))
    );
    assert!(usize::from(last.len) <= PIECE_MAX);
    let mean = chunk.len() / pieces.len();
    assert!(
        (PIECE_AVG / 2..PIECE_AVG * 2).contains(&mean),
        "mean piece {mean} bytes"
    );
    let mut at = 0;
    for p in &pieces {
        let len = usize::from(p.len);
        assert_eq!(p.name, PieceName::of(&chunk[at..at + len]));
        at += len;
    }
}

#[test]
fn a_change_inside_a_chunk_changes_only_the_pieces_around_it() {
    let old = noise(2, 64 * 1024);
    let mut new = old.clone();
    // 3 KB rewritten in the middle.
    new[30_000..33_000].copy_from_slice(&noise(3, 3_000));
    let have: std::collections::HashSet<PieceName> = split(&old).iter().map(|p| p.name).collect();
    let lacking: usize = split(&new)
        .iter()
        .filter(|p| !have.contains(&p.name))
        .map(|p| usize::from(p.len))
        .sum();
    assert!(lacking >= 3_000, "{lacking}");
    assert!(
        lacking <= 3_000 + 2 * PIECE_MAX,
        "a 3 KB change costs {lacking} bytes of pieces"
    );
}

#[test]
fn a_document_reads_back_as_written() {
    let a = split(&noise(4, 70_000));
    let b = split(&noise(5, 300));
    let doc = encode([(3, a.as_slice()), (9, b.as_slice())]);
    assert_eq!(&doc[..4], b"PYP1");
    assert_eq!(decode(&doc, &[(3, 70_000), (9, 300)]).unwrap(), vec![a, b]);
}

#[test]
fn a_document_for_other_chunks_or_lengths_is_refused_naming_what_differs() {
    let a = split(&noise(6, 10_000));
    let doc = encode([(3, a.as_slice())]);
    assert_eq!(
        decode(&doc, &[(4, 10_000)]),
        Err(DecodeError::WrongChunk {
            entry: 0,
            got: 3,
            wanted: 4
        })
    );
    assert_eq!(
        decode(&doc, &[(3, 9_999)]),
        Err(DecodeError::WrongLength {
            index: 3,
            sum: 10_000,
            len: 9_999
        })
    );
    assert_eq!(
        decode(&doc, &[(3, 10_000), (4, 1)]),
        Err(DecodeError::WrongCount { got: 1, wanted: 2 })
    );
    assert_eq!(decode(b"GIF89a..", &[]), Err(DecodeError::NotPieces));
    let mut long = doc.clone();
    long.push(0);
    assert_eq!(decode(&long, &[(3, 10_000)]), Err(DecodeError::Trailing(1)));
    let mut zero = encode([(
        0,
        [Piece {
            name: PieceName([0; 8]),
            len: 0,
        }]
        .as_slice(),
    )]);
    assert_eq!(
        decode(&zero, &[(0, 5)]),
        Err(DecodeError::BadPiece { index: 0, len: 0 })
    );
    zero.truncate(10);
    assert!(matches!(
        decode(&zero, &[(0, 1)]),
        Err(DecodeError::Truncated(_))
    ));
}

#[test]
fn a_huge_piece_count_is_refused_before_any_memory_is_reserved() {
    let mut doc = b"PYP1".to_vec();
    doc.extend_from_slice(&1u32.to_le_bytes());
    doc.extend_from_slice(&0u32.to_le_bytes());
    doc.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        decode(&doc, &[(0, u32::MAX)]),
        Err(DecodeError::Truncated(_))
    ));
}

#[test]
fn a_selection_reads_runs_and_single_indices() {
    let s = Selection::parse("0-2,7,9-10", 11).unwrap();
    assert_eq!(s.indices(), [0, 1, 2, 7, 9, 10]);
    assert_eq!(s.to_query(), "0-2,7,9-10");
    assert_eq!(Selection::of(vec![4]).to_query(), "4");
}

#[test]
fn a_bad_selection_is_refused_naming_what_is_wrong() {
    assert_eq!(Selection::parse("", 3), Err(SelectionError::Empty));
    assert_eq!(
        Selection::parse("1,x", 3),
        Err(SelectionError::Malformed("x".into()))
    );
    assert_eq!(
        Selection::parse("+1", 3),
        Err(SelectionError::Malformed("+1".into()))
    );
    assert_eq!(
        Selection::parse("2-1", 3),
        Err(SelectionError::Malformed("2-1".into()))
    );
    assert_eq!(
        Selection::parse("3", 3),
        Err(SelectionError::OutOfRange { index: 3, count: 3 })
    );
    assert_eq!(
        Selection::parse("1,1", 3),
        Err(SelectionError::NotAscending(1))
    );
    assert_eq!(
        Selection::parse("0-299", 1000),
        Err(SelectionError::TooMany(300))
    );
    let err = Selection::parse("5", 3).unwrap_err().to_string();
    assert!(
        err.contains("chunk 5 does not exist; this version has 3 chunks"),
        "{err}"
    );
}

proptest! {
    #[test]
    fn any_document_decodes_to_pieces_that_add_up_or_is_refused(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        len in 1u32..5_000,
    ) {
        // Whatever the bytes, decoding returns pieces whose lengths add up to the chunk
        // asked, each 1 to PIECE_MAX, or an error; it never panics.
        if let Ok(lists) = decode(&bytes, &[(0, len)]) {
            prop_assert_eq!(lists.len(), 1);
            prop_assert_eq!(lists[0].iter().map(|p| u64::from(p.len)).sum::<u64>(), u64::from(len));
            prop_assert!(lists[0].iter().all(|p| p.len > 0 && usize::from(p.len) <= PIECE_MAX));
        }
    }

    #[test]
    fn a_selection_written_reads_back_the_same(
        mut indices in proptest::collection::btree_set(0u32..2_000, 1..MAX_CHUNKS_PER_REQUEST),
    ) {
        let indices: Vec<u32> = std::mem::take(&mut indices).into_iter().collect();
        let s = Selection::of(indices.clone());
        let back = Selection::parse(&s.to_query(), 2_000).unwrap();
        prop_assert_eq!(back.indices(), indices.as_slice());
    }

    #[test]
    fn any_chunk_splits_into_pieces_that_cover_it(data in proptest::collection::vec(any::<u8>(), 1..40_000)) {
        let pieces = split(&data);
        prop_assert_eq!(pieces.iter().map(|p| usize::from(p.len)).sum::<usize>(), data.len());
        let doc = encode([(0, pieces.as_slice())]);
        let len = u32::try_from(data.len()).unwrap();
        prop_assert_eq!(decode(&doc, &[(0, len)]).unwrap(), vec![pieces]);
    }
}
