use super::fixture::*;
use crate::catalog::*;

#[test]
fn r12_a_complete_version_never_takes_new_content() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let hash = w.v(&v).content.as_ref().unwrap().chunk_list.archive_hash();
    let refusal = w.refused(Actor::System, succeeded(&v, 200));
    assert!(conflict(&refusal, Some(Rule::R12)).contains("can never change"));
    let refusal = w.refused(Actor::System, failed(&v, None, "late"));
    assert_eq!(refusal.rule(), Some(Rule::R12));
    let content = w.v(&v).content.as_ref().unwrap();
    assert_eq!(
        (content.size, content.chunk_list.archive_hash()),
        (100, hash)
    );
}

#[test]
fn r12_only_a_processing_version_completes() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.version(&pack);
    let refusal = w.refused(Actor::System, succeeded(&v, 100));
    assert!(conflict(&refusal, None).contains("is AWAITING_UPLOAD; only a PROCESSING version"));
    let gone = w.processing(&pack, 100);
    w.ok(Actor::System, failed(&gone, None, "bad"));
    let refusal = w.refused(Actor::System, succeeded(&gone, 100));
    assert!(conflict(&refusal, None).contains("is FAILED"));
}

#[test]
fn r12_the_reported_size_must_match_the_chunk_list() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.processing(&pack, 100);
    let lying = Command::ProcessingSucceeded(ProcessingSucceeded {
        version: v.clone(),
        size: 101,
        chunk_list: chunks(100),
        metadata: metadata(),
    });
    let refusal = w.refused(Actor::System, lying);
    assert_eq!(
        refusal.to_string(),
        "size: is 101 bytes but the chunk list adds up to 100 bytes"
    );
}
