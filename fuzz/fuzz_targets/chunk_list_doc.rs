//! A chunk list document, as delta-aware clients and edges receive it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard_core::ChunkList;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = serde_json::from_slice::<ChunkList>(data) {
        let size = list.size();
        let covered: u64 = list
            .covering(0..size)
            .map(|(_, r)| u64::from(r.end - r.start))
            .sum();
        assert_eq!(covered, size);
    }
});
