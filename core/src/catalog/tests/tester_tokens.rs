//! Tester tokens: the signing key is set once by Packyard and rotated only by an operator;
//! edges get public keys only; tokens are recorded through the log, listed, revoked, and a
//! revocation reaches the edges' serving view.

use super::fixture::*;
use crate::catalog::*;
use crate::quota::QuotaLimits;
use crate::tester_token::{BetaChannel, Claims, TokenError};

fn set(byte: u8) -> Command {
    Command::SetTesterTokenSecret {
        secret: TesterTokenSecret([byte; 32]),
        retire_previous: false,
    }
}

fn claims(jti: &str) -> Claims {
    Claims::issue(jti, APP, BetaChannel::Internal, 1, Some(3_600)).unwrap()
}

fn verify(w: &World, token: &str) -> Result<Claims, TokenError> {
    w.catalog
        .tester_token_verifier()
        .unwrap()
        .verify(token, APP, BetaChannel::Internal, 2)
}

#[test]
fn packyard_sets_the_secret_once_and_only_an_operator_rotates_it() {
    let mut w = World::new();
    assert!(w.catalog.tester_token_signer().is_none());
    w.ok(Actor::System, set(1));
    let refusal = w.refused(Actor::System, set(2));
    assert!(refusal.to_string().contains("already set"), "{refusal}");
    let refusal = w.refused(user("admin"), set(2));
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
    assert_eq!(w.catalog.tester_token_generation(), 1);
}

#[test]
fn a_rotation_keeps_earlier_tokens_open_and_a_retiring_one_closes_them() {
    let mut w = World::new();
    w.ok(Actor::System, set(1));
    let first = w
        .catalog
        .tester_token_signer()
        .unwrap()
        .sign(&claims("tt-a"));
    w.ok(user("op"), set(3));
    let second = w
        .catalog
        .tester_token_signer()
        .unwrap()
        .sign(&claims("tt-b"));
    assert_eq!(w.catalog.tester_token_generation(), 2);
    assert!(
        verify(&w, &first).is_ok(),
        "no window: a rotation closes nothing"
    );
    assert!(verify(&w, &second).is_ok());

    w.ok(
        user("op"),
        Command::SetTesterTokenSecret {
            secret: TesterTokenSecret([4; 32]),
            retire_previous: true,
        },
    );
    assert_eq!(verify(&w, &first), Err(TokenError::UnknownKey(1)));
    assert_eq!(verify(&w, &second), Err(TokenError::UnknownKey(2)));
    let third = w
        .catalog
        .tester_token_signer()
        .unwrap()
        .sign(&claims("tt-c"));
    assert!(verify(&w, &third).is_ok());
}

#[test]
fn earlier_keys_are_kept_only_while_their_tokens_could_live_and_never_more_than_eight() {
    let mut w = World::new();
    w.ok(Actor::System, set(1));
    for byte in 2..20 {
        w.ok(user("op"), set(byte));
    }
    let verifier = w.catalog.tester_token_verifier().unwrap();
    assert_eq!(verifier.keys().len(), MAX_PREVIOUS_KEYS + 1);
    assert_eq!(verifier.newest_generation(), 19);
    w.clock += crate::tester_token::MAX_LIFETIME_SECS * 1_000;
    w.ok(user("op"), set(30));
    // Only the key just rotated out can still have live tokens.
    let keys = w.catalog.tester_token_verifier().unwrap().keys();
    let generations: Vec<u64> = keys.iter().map(|k| k.generation).collect();
    assert_eq!(generations, [19, 20]);
}

#[test]
fn the_secret_survives_a_snapshot_and_never_shows_in_debug_output() {
    let mut w = World::new();
    w.ok(Actor::System, set(9));
    w.ok(user("op"), set(8));
    let json = serde_json::to_string(&w.catalog).unwrap();
    let back: Catalog = serde_json::from_str(&json).unwrap();
    assert_eq!(back, w.catalog);
    assert!(!format!("{:?}", TesterTokenSecret([9; 32])).contains('9'));
    assert!(!format!("{:?}", w.catalog.tester_token_signer().unwrap()).contains("[8"));
}

fn issue(channel: BetaChannel, id: &str) -> Command {
    Command::IssueTesterToken(IssueTesterToken {
        id: TesterTokenId::from(id),
        app: app(),
        channel,
        lifetime_secs: 3_600,
    })
}

#[test]
fn r8_members_issue_internal_tokens_and_managers_external_ones_when_the_entry_applies() {
    let mut w = World::new();
    w.ok(user("dev"), issue(BetaChannel::Internal, "tt-1"));
    let refusal = w.refused(user("dev"), issue(BetaChannel::External, "tt-2"));
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
    w.ok(user("manager"), issue(BetaChannel::External, "tt-2"));
    let refusal = w.refused(user("reviewer"), issue(BetaChannel::Internal, "tt-3"));
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
    let refusal = w.refused(user("stranger"), issue(BetaChannel::Internal, "tt-3"));
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);

    let token = w
        .catalog
        .tester_token(&TesterTokenId::from("tt-2"))
        .unwrap();
    assert_eq!(token.issued_by, user("manager"));
    assert_eq!(token.expires_at.0 - token.issued_at.0, 3_600_000);
    let claims = token.claims();
    assert_eq!(
        (claims.jti.as_str(), claims.exp - claims.iat),
        ("tt-2", 3_600)
    );
}

#[test]
fn a_token_whose_lifetime_is_out_of_bounds_is_refused_naming_the_field() {
    let mut w = World::new();
    for lifetime_secs in [0, crate::tester_token::MAX_LIFETIME_SECS + 1] {
        let refusal = w.refused(
            user("dev"),
            Command::IssueTesterToken(IssueTesterToken {
                id: TesterTokenId::from("tt-1"),
                app: app(),
                channel: BetaChannel::Internal,
                lifetime_secs,
            }),
        );
        assert!(
            refusal.to_string().contains("expiresInSeconds"),
            "{refusal}"
        );
    }
}

#[test]
fn r14_an_app_holds_at_most_max_tester_tokens_per_app_until_some_expire() {
    let mut w = World::with_limits(QuotaLimits {
        max_tester_tokens_per_app: 2,
        ..QuotaLimits::default()
    });
    w.ok(user("dev"), issue(BetaChannel::Internal, "tt-1"));
    w.ok(user("dev"), issue(BetaChannel::Internal, "tt-2"));
    let refusal = w.refused(user("dev"), issue(BetaChannel::Internal, "tt-3"));
    assert_eq!(refusal.rule(), Some(Rule::R14));
    assert!(
        refusal.to_string().contains("max_tester_tokens_per_app"),
        "{refusal}"
    );
    w.clock += 3_600_000;
    w.ok(user("dev"), issue(BetaChannel::Internal, "tt-3"));
    assert_eq!(
        w.catalog.tester_tokens_of(&app()).count(),
        1,
        "expired ones are swept"
    );
}

#[test]
fn revoking_needs_the_right_to_issue_and_reaches_the_edges_serving_view() {
    let mut w = World::new();
    w.ok(user("manager"), issue(BetaChannel::External, "tt-1"));
    let id = TesterTokenId::from("tt-1");
    let refusal = w.refused(user("dev"), Command::RevokeTesterToken { id: id.clone() });
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
    let refusal = w.refused(
        user("dev"),
        Command::RevokeTesterToken {
            id: TesterTokenId::from("tt-none"),
        },
    );
    assert_eq!(refusal.kind(), RefusalKind::NotFound);

    let command = Command::RevokeTesterToken { id: id.clone() };
    assert_eq!(w.catalog.serving_app(&command), Some(app()));
    let before = w.catalog.serving_view(&app()).unwrap();
    w.ok(user("admin"), command);
    let after = w.catalog.serving_view(&app()).unwrap();
    let token = w.catalog.tester_token(&id).unwrap();
    assert!(!token.is_live(Timestamp(w.clock)));
    assert_eq!(
        w.catalog.serving_changes(Some(&before), &after),
        vec![ServingChange::TesterTokenRevoked {
            app: app(),
            token: id.clone(),
            expires_at: token.expires_at.0 / 1_000,
        }]
    );
    // A watcher starting from nothing hears of it too.
    assert!(
        w.catalog
            .serving_snapshot()
            .contains(&ServingChange::TesterTokenRevoked {
                app: app(),
                token: id,
                expires_at: token.expires_at.0 / 1_000,
            })
    );
}

#[test]
fn a_key_revoked_before_the_issue_is_applied_mints_no_token() {
    let mut w = World::new();
    w.ok(
        user("dev"),
        Command::CreateApiKey(CreateApiKey {
            id: ApiKeyId::from("k-dev"),
            user: UserId::from("dev"),
            key_hash: crate::Blake3Hash::of(b"dev-secret"),
        }),
    );
    // A node that has not applied the revocation yet authenticates the request and
    // proposes the issue; the revocation is applied first.
    w.ok(
        user("dev"),
        Command::RevokeApiKey {
            id: ApiKeyId::from("k-dev"),
        },
    );
    let before = w.catalog.clone();
    let refusal = w
        .catalog
        .apply(Envelope {
            actor: user("dev"),
            at: Timestamp(w.clock + 1_000),
            command: issue(BetaChannel::Internal, "tt-late"),
            key: Some(ApiKeyId::from("k-dev")),
        })
        .unwrap_err();
    assert!(refusal.to_string().contains("was revoked"), "{refusal}");
    assert_eq!(w.catalog, before, "no token recorded");
    assert!(
        w.catalog
            .tester_token(&TesterTokenId::from("tt-late"))
            .is_none()
    );
}
