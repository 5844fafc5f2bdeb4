use super::fixture::*;
use crate::catalog::*;

#[test]
fn r11_versions_are_numbered_from_1_without_gaps_even_after_a_failure() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v1 = w.processing(&pack, 10);
    w.ok(Actor::System, failed(&v1, None, "Not an archive."));
    let v2 = w.version(&pack);
    let v3 = w.complete(&pack, 10);
    let numbers: Vec<u32> = [&v1, &v2, &v3].iter().map(|v| w.v(v).number).collect();
    assert_eq!(numbers, [1, 2, 3]);
    let listed: Vec<u32> = w.catalog.versions_of(&pack).map(|v| v.number).collect();
    assert_eq!(listed, [1, 2, 3]);
    let other = w.pack("level-3");
    let first = w.version(&other);
    assert_eq!(w.v(&first).number, 1, "numbers are per pack");
}

#[test]
fn r11_numbers_survive_a_snapshot_taken_by_a_new_leader() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    w.version(&pack);
    w.version(&pack);
    let json = serde_json::to_string(&w.catalog).unwrap();
    w.catalog = serde_json::from_str(&json).unwrap();
    let v3 = w.version(&pack);
    assert_eq!(w.v(&v3).number, 3);
}

#[test]
fn r11_an_id_already_used_is_refused() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.version(&pack);
    let again = Command::CreateVersion(CreateVersion {
        id: v.clone(),
        pack: pack.clone(),
    });
    let refusal = w.refused(user("dev"), again);
    assert_eq!(
        refusal.to_string(),
        format!("id {v} is already used by another backgroundAssetVersions record; use a new id")
    );
    let refusal = w.refused(user("dev"), create_pack(&pack, "level-9"));
    assert!(conflict(&refusal, None).contains("already used"));
    let unknown = Command::CreateVersion(CreateVersion {
        id: VersionId::from("v"),
        pack: PackId::from("nope"),
    });
    assert_eq!(
        w.refused(user("dev"), unknown).kind(),
        RefusalKind::NotFound
    );
}
