//! What a device's delta update asks besides ranges, over a filled state and a memory
//! source: `…/versions/{n}/chunks` in its compact form, and `…/versions/{n}/pieces?chunks=…`,
//! the pieces of the chunks it lacks (`packyard_core::pieces`).

#![allow(clippy::unwrap_used)]

mod support;

use packyard_core::ChunkList;
use packyard_core::chunk_list::COMPACT_MEDIA_TYPE;
use packyard_core::pieces::{self, MEDIA_TYPE};
use packyard_proto::catalog::v1 as pb;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, ETAG, VARY};
use support::{Archive, LAZY, MemorySource, TestEdge, app_change, changes, channel, client};

async fn edge(v1: &Archive) -> TestEdge {
    let source = MemorySource::with(&[v1]);
    let events = [
        support::empty_snapshot(),
        changes(
            2,
            vec![
                app_change(),
                pb::change::Change::VersionCompleted(v1.completed("p1", "level-1", 1, LAZY)),
                channel("p1", pb::Channel::Store, 1),
            ],
        ),
    ];
    TestEdge::start(&events, source, None).await
}

fn url(edge: &TestEdge, chunks: &str) -> String {
    format!(
        "{}/apps/app1/packs/level-1/versions/1/pieces?chunks={chunks}",
        edge.url
    )
}

#[tokio::test]
async fn the_pieces_of_the_chunks_asked_are_each_chunks_bytes_cut_as_a_device_cuts_them() {
    let v1 = Archive::new(400_000, 7, 64 << 10);
    let edge = edge(&v1).await;
    let r = client().get(url(&edge, "0,2-3")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_TYPE], MEDIA_TYPE);
    assert_eq!(
        r.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let doc = r.bytes().await.unwrap();
    let list = v1.list.chunks();
    let asked: Vec<(u32, u32)> = [0u32, 2, 3]
        .iter()
        .map(|&i| (i, list[i as usize].len))
        .collect();
    let got = pieces::decode(&doc, &asked).unwrap();
    for (&(i, _), pieces) in asked.iter().zip(&got) {
        let bytes = &v1.chunks[&list[i as usize].id];
        assert_eq!(pieces, &pieces::split(bytes), "chunk {i}");
        assert!(pieces.len() > 10, "a 64 KiB chunk is cut finer");
    }
    // Asked again, the same answer (from the edge's kept cuts).
    let again = client()
        .get(url(&edge, "0,2-3"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(again, doc);
}

#[tokio::test]
async fn a_malformed_or_out_of_range_selection_is_refused_naming_the_parameter() {
    let v1 = Archive::new(200_000, 8, 64 << 10);
    let edge = edge(&v1).await;
    let count = v1.list.chunks().len();
    for (chunks, says) in [
        ("", "names no chunk"),
        ("1,x", "\\\"x\\\" is not a chunk index"),
        ("2,1", "ascending"),
        (&*count.to_string(), "does not exist"),
        ("0-300", "does not exist"),
    ] {
        let r = client().get(url(&edge, chunks)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{chunks:?}");
        let body = r.text().await.unwrap();
        assert!(
            body.contains("chunks") && body.contains(says),
            "{chunks:?}: {body}"
        );
    }
    let missing = format!(
        "{}/apps/app1/packs/level-1/versions/9/pieces?chunks=0",
        edge.url
    );
    let r = client().get(missing).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_chunk_list_comes_compact_to_a_device_that_asks_and_as_json_otherwise() {
    let v1 = Archive::new(300_000, 9, 16 << 10);
    let edge = edge(&v1).await;
    let url = format!("{}/apps/app1/packs/level-1/versions/1/chunks", edge.url);
    let compact = client()
        .get(&url)
        .header(ACCEPT, COMPACT_MEDIA_TYPE)
        .send()
        .await
        .unwrap();
    assert_eq!(compact.status(), StatusCode::OK);
    assert_eq!(compact.headers()[CONTENT_TYPE], COMPACT_MEDIA_TYPE);
    assert_eq!(compact.headers()[VARY], "Accept");
    let compact_tag = compact.headers()[ETAG].to_str().unwrap().to_owned();
    let bytes = compact.bytes().await.unwrap();
    assert_eq!(ChunkList::from_compact(&bytes).unwrap(), v1.list);
    let json = client().get(&url).send().await.unwrap();
    assert_eq!(json.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(json.headers()[ETAG], v1.etag().as_str());
    assert_ne!(
        compact_tag,
        v1.etag(),
        "each representation has its own tag"
    );
    let doc = json.bytes().await.unwrap();
    assert_eq!(serde_json::from_slice::<ChunkList>(&doc).unwrap(), v1.list);
    assert!(
        bytes.len() * 2 < doc.len(),
        "{} against {}",
        bytes.len(),
        doc.len()
    );
}
