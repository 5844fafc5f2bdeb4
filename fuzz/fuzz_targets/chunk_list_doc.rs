//! A chunk list document, as delta-aware clients and edges receive it. Whatever parses has
//! chunks of 1 to `MAX_CHUNK_LEN` bytes that add up to its size, serializes back to a
//! document that parses to the same list, and maps any byte range onto chunk slices that
//! reassemble exactly that range. Bytes opening with `PYC1` are read as the compact form
//! instead: whatever reads has the same invariants and writes back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard_core::ChunkList;
use packyard_core::chunk_list::MAX_CHUNK_LEN;

fuzz_target!(|data: &[u8]| {
    // A JSON document, then optionally a NUL and 16 bytes choosing a range to cover.
    let (doc, range) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let list = if doc.starts_with(b"PYC1") {
        let Ok(list) = ChunkList::from_compact(doc) else {
            return;
        };
        assert_eq!(
            list.to_compact(),
            doc,
            "the compact form writes back as read"
        );
        list
    } else {
        let Ok(list) = serde_json::from_slice::<ChunkList>(doc) else {
            return;
        };
        list
    };
    assert_eq!(
        ChunkList::from_compact(&list.to_compact()),
        Ok(list.clone())
    );
    let size = list.size();
    let mut sum = 0u64;
    for c in list.chunks() {
        assert!(
            (1..=MAX_CHUNK_LEN).contains(&c.len),
            "chunk of {} bytes",
            c.len
        );
        sum += u64::from(c.len);
    }
    assert_eq!(sum, size, "chunk lengths do not add up to the size");

    let json = serde_json::to_string(&list).expect("a chunk list serializes");
    let back: ChunkList = serde_json::from_str(&json).expect("its own document parses");
    assert_eq!(back, list);
    assert_eq!(list.etag(), format!("\"{}\"", list.archive_hash().to_hex()));
    assert_eq!(
        list.delta_bytes(&list),
        0,
        "a list needs nothing from itself"
    );

    let covered: u64 = list
        .covering(0..size)
        .map(|(_, r)| u64::from(r.end - r.start))
        .sum();
    assert_eq!(covered, size);

    let (start, end) = match range.split_first_chunk::<8>() {
        Some((a, rest)) => (
            u64::from_le_bytes(*a),
            rest.first_chunk::<8>()
                .map_or(size, |b| u64::from_le_bytes(*b)),
        ),
        None => (0, size),
    };
    // Walk the slices: each is non-empty, lies in the chunk holding the next byte of the
    // range and starts at that byte, and together they reach the range's (clamped) end.
    let end_clamped = end.min(size);
    let mut at = start.min(end_clamped);
    let mut chunks = list.chunks().iter().scan(0u64, |offset, c| {
        let here = *offset;
        *offset += u64::from(c.len);
        Some((here, *c))
    });
    for (chunk, part) in list.covering(start..end) {
        assert!(
            part.start < part.end && part.end <= chunk.len,
            "bad slice {part:?}"
        );
        let (offset, holder) = chunks
            .find(|(offset, c)| offset + u64::from(c.len) > at)
            .expect("a slice past the last chunk");
        assert_eq!(holder, chunk, "a slice of the wrong chunk");
        assert_eq!(offset + u64::from(part.start), at, "a gap or an overlap");
        at = offset + u64::from(part.end);
    }
    assert_eq!(at, end_clamped, "the slices stop short of the range");
});
