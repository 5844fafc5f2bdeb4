//! A chunk file flipped on the edge's disk is never served (SPEC §8): the response still
//! equals the archive, and the corrupt-chunk counter rises.

#![allow(clippy::unwrap_used)]

mod support;

use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::change::Change;
use support::{Archive, LAZY, MemorySource, TestEdge, app_change, changes, channel, client};

#[tokio::test]
async fn a_byte_flipped_in_a_cached_chunk_file_is_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::new(100_000, 7, 8 << 10);
    let source = MemorySource::with(&[&archive]);
    let events = [
        support::empty_snapshot(),
        changes(
            2,
            vec![
                app_change(),
                Change::VersionCompleted(archive.completed("p1", "level-1", 1, LAZY)),
                channel("p1", pb::Channel::Store, 1),
            ],
        ),
    ];
    let edge = TestEdge::start(&events, source.clone(), Some(dir.path())).await;
    let url = format!("{}/apps/app1/packs/level-1/versions/1", edge.url);
    let first = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(first, archive.bytes);
    let fetched = source.total_fetches();

    // Flip one byte in the disk copy of every chunk and drop them from memory, so the next
    // request must read the disk.
    for c in archive.list.chunks() {
        let path = edge.cache.disk_path_of(&c.id).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[0] ^= 0x55;
        std::fs::write(&path, bytes).unwrap();
        edge.cache.evict_from_memory(&c.id);
    }
    let again = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(again, archive.bytes);
    let chunks = archive.list.chunks().len();
    assert_eq!(source.total_fetches(), fetched + chunks);
    let page = edge.metrics.render();
    assert!(
        page.contains(&format!("packyard_edge_corrupt_chunks_total {chunks}")),
        "{page}"
    );
}
