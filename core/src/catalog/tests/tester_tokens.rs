//! The tester token secret: set once by Packyard, replaced only by an operator, and the key
//! that signs tokens every node and edge checks alike.

use super::fixture::*;
use crate::catalog::*;
use crate::tester_token::{BetaChannel, Claims};

fn set(byte: u8) -> Command {
    Command::SetTesterTokenSecret {
        secret: TesterTokenSecret([byte; 32]),
    }
}

#[test]
fn packyard_sets_the_secret_once_and_only_an_operator_replaces_it() {
    let mut w = World::new();
    assert!(w.catalog.tester_token_key().is_none());
    w.ok(Actor::System, set(1));
    let refusal = w.refused(Actor::System, set(2));
    assert!(refusal.to_string().contains("already set"), "{refusal}");
    let refusal = w.refused(user("admin"), set(2));
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);

    let claims = Claims {
        app: "app-1".into(),
        channel: BetaChannel::Internal,
        exp: 100,
    };
    let token = w.catalog.tester_token_key().unwrap().sign(&claims);
    w.ok(user("op"), set(3));
    let key = w.catalog.tester_token_key().unwrap();
    assert!(
        key.verify(&token, "app-1", BetaChannel::Internal, 0)
            .is_err(),
        "replacing the secret invalidates tokens issued before"
    );
}

#[test]
fn the_secret_survives_a_snapshot_and_never_shows_in_debug_output() {
    let mut w = World::new();
    w.ok(Actor::System, set(9));
    let json = serde_json::to_string(&w.catalog).unwrap();
    let back: Catalog = serde_json::from_str(&json).unwrap();
    assert_eq!(back, w.catalog);
    assert!(!format!("{:?}", TesterTokenSecret([9; 32])).contains('9'));
}

#[test]
fn r8_members_issue_internal_tokens_and_managers_external_ones() {
    let w = World::new();
    let internal = crate::role::Action::IssueInternalTesterTokens;
    let external = crate::role::Action::IssueExternalTesterTokens;
    assert!(w.catalog.permits(&user("dev"), &app(), internal).is_ok());
    assert!(w.catalog.permits(&user("dev"), &app(), external).is_err());
    assert!(
        w.catalog
            .permits(&user("manager"), &app(), external)
            .is_ok()
    );
    assert!(
        w.catalog
            .permits(&user("reviewer"), &app(), internal)
            .is_err()
    );
}
