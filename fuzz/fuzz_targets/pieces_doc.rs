//! A pieces document, as a device receives it from an edge for a delta update, and the
//! `chunks` selection an edge reads. Whatever decodes has, for each chunk asked and in the
//! order asked, pieces of 1 to `PIECE_MAX` bytes adding up to that chunk's length, and
//! encodes back to the same bytes; whatever selection parses is ascending, within the
//! version, at most `MAX_CHUNKS_PER_REQUEST` long, and reads back from its own query.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard_core::pieces::{self, MAX_CHUNKS_PER_REQUEST, PIECE_MAX, Selection};

fuzz_target!(|data: &[u8]| {
    // Two bytes choose the chunks asked (how many, and their length), then the document.
    let Some((&[n, len], doc)) = data.split_first_chunk::<2>() else {
        return;
    };
    let asked: Vec<(u32, u32)> = (0..u32::from(n % 4))
        .map(|i| (i * 3, 1 + u32::from(len) * 97 + i))
        .collect();
    if let Ok(lists) = pieces::decode(doc, &asked) {
        assert_eq!(lists.len(), asked.len());
        for (pieces, (_, chunk_len)) in lists.iter().zip(&asked) {
            assert!(
                pieces
                    .iter()
                    .all(|p| p.len > 0 && usize::from(p.len) <= PIECE_MAX)
            );
            let sum: u64 = pieces.iter().map(|p| u64::from(p.len)).sum();
            assert_eq!(
                sum,
                u64::from(*chunk_len),
                "pieces do not add up to the chunk"
            );
        }
        let again = pieces::encode(
            asked
                .iter()
                .zip(&lists)
                .map(|((index, _), p)| (*index, p.as_slice())),
        );
        assert_eq!(again, doc, "a decoded document encodes back to its bytes");
    }

    let count = usize::from(len) * 8;
    if let Ok(text) = std::str::from_utf8(doc)
        && let Ok(selection) = Selection::parse(text, count)
    {
        let indices = selection.indices();
        assert!(!indices.is_empty() && indices.len() <= MAX_CHUNKS_PER_REQUEST);
        assert!(indices.windows(2).all(|w| w[0] < w[1]), "not ascending");
        assert!(
            indices.iter().all(|&i| (i as usize) < count),
            "past the version"
        );
        let back = Selection::parse(&selection.to_query(), count).expect("its own query parses");
        assert_eq!(back, selection);
    }
});
