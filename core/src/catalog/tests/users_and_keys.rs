use super::fixture::*;
use crate::Blake3Hash;
use crate::catalog::*;
use crate::role::{Action, Role};

fn key(id: &str, user: &str, secret: &[u8]) -> Command {
    Command::CreateApiKey(CreateApiKey {
        id: ApiKeyId::from(id),
        user: UserId::from(user),
        key_hash: Blake3Hash::of(secret),
    })
}

#[test]
fn a_key_authenticates_its_user_until_revoked() {
    let mut w = World::new();
    w.ok(user("dev"), key("k1", "dev", b"secret"));
    let found = w.catalog.user_by_key_hash(&Blake3Hash::of(b"secret"));
    assert_eq!(found.map(|u| u.id.as_str()), Some("dev"));
    assert!(
        w.catalog
            .user_by_key_hash(&Blake3Hash::of(b"other"))
            .is_none()
    );
    let refusal = w.refused(user("op"), key("k2", "admin", b"secret"));
    assert!(conflict(&refusal, None).contains("already registered"));
    w.ok(
        user("dev"),
        Command::RevokeApiKey {
            id: ApiKeyId::from("k1"),
        },
    );
    assert!(
        w.catalog
            .user_by_key_hash(&Blake3Hash::of(b"secret"))
            .is_none()
    );
    assert!(
        w.catalog
            .api_key(&ApiKeyId::from("k1"))
            .unwrap()
            .revoked_at
            .is_some()
    );
    let again = w.refused(
        user("dev"),
        Command::RevokeApiKey {
            id: ApiKeyId::from("k1"),
        },
    );
    assert!(conflict(&again, None).contains("already revoked"));
}

#[test]
fn r14_only_the_user_or_an_operator_creates_and_revokes_their_keys() {
    let mut w = World::new();
    // Nobody else mints a key for a user: not their Admin, not their Account Holder.
    for (actor, target) in [
        ("manager", "dev"),
        ("admin", "dev"),
        ("holder", "admin"),
        ("admin", "holder"),
        ("admin", "reviewer"),
        ("stranger", "dev"),
    ] {
        let refusal = w.refused(user(actor), key("k", target, b"s"));
        assert_eq!(
            refusal.kind(),
            RefusalKind::Forbidden,
            "{actor} for {target}"
        );
        assert_eq!(refusal.rule(), Some(Rule::R14), "{actor} for {target}");
        assert!(
            refusal
                .to_string()
                .contains("only by that user or an operator")
        );
    }
    w.ok(user("dev"), key("k-dev", "dev", b"s"));
    w.ok(user("op"), key("k-op-made", "holder", b"h"));
    w.ok(user("op"), key("k-op", "op", b"op"));
    // Nor revokes one.
    for actor in ["admin", "holder", "manager"] {
        let refusal = w.refused(
            user(actor),
            Command::RevokeApiKey {
                id: ApiKeyId::from("k-dev"),
            },
        );
        assert_eq!(refusal.rule(), Some(Rule::R14), "{actor}");
    }
    let refusal = w.refused(
        user("admin"),
        Command::RevokeApiKey {
            id: ApiKeyId::from("k-op-made"),
        },
    );
    assert_eq!(refusal.rule(), Some(Rule::R14));
    w.ok(
        user("op"),
        Command::RevokeApiKey {
            id: ApiKeyId::from("k-dev"),
        },
    );
    let refusal = w.refused(
        user("dev"),
        Command::RevokeApiKey {
            id: ApiKeyId::from("nope"),
        },
    );
    assert_eq!(refusal.kind(), RefusalKind::NotFound);
}

#[test]
fn r14_members_are_added_from_above_and_reviewers_by_operators_only() {
    let mut w = World::new();
    w.ok(
        user("admin"),
        new_user("dev2", &[(APP, Role::Developer)], false),
    );
    w.ok(
        user("admin"),
        new_user("manager2", &[(APP, Role::AppManager)], false),
    );
    for (actor, role) in [
        ("admin", Role::AccountHolder),
        ("admin", Role::Admin),
        ("admin", Role::Reviewer),
        ("holder", Role::Reviewer),
        ("manager", Role::Developer),
        ("dev", Role::Developer),
        ("stranger", Role::Developer),
    ] {
        let refusal = w.refused(user(actor), new_user("x", &[(APP, role)], false));
        assert_eq!(
            refusal.kind(),
            RefusalKind::Forbidden,
            "{actor} adding {role}"
        );
        assert_eq!(refusal.rule(), Some(Rule::R14), "{actor} adding {role}");
    }
    w.ok(
        user("holder"),
        new_user("admin3", &[(APP, Role::Admin)], false),
    );
    w.ok(
        user("op"),
        new_user("reviewer2", &[(APP, Role::Reviewer)], false),
    );
    let refusal = w.refused(user("admin"), new_user("root", &[], true));
    assert_eq!(refusal, Refusal::forbidden(Action::Operate));
    let refusal = w.refused(
        user("admin"),
        new_user("x", &[("no-app", Role::Developer)], false),
    );
    assert_eq!(refusal.kind(), RefusalKind::NotFound);
}

#[test]
fn users_need_a_name_and_a_unique_email() {
    let mut w = World::new();
    let mut cmd = new_user("dev", &[(APP, Role::Developer)], false);
    assert!(conflict(&w.refused(user("op"), cmd.clone()), None).contains("already used"));
    if let Command::CreateUser(CreateUser { id, email, .. }) = &mut cmd {
        *id = UserId::from("dev-again");
        *email = "dev@example.com".into();
    }
    let said = conflict(&w.refused(user("op"), cmd.clone()), None);
    assert!(said.contains("already belongs to a user"), "{said}");
    assert!(!said.contains("user dev"), "names nobody: {said}");
    if let Command::CreateUser(CreateUser { email, .. }) = &mut cmd {
        *email = "not-an-address".into();
    }
    assert_eq!(
        w.refused(user("op"), cmd.clone()).kind(),
        RefusalKind::Invalid
    );
    if let Command::CreateUser(CreateUser { name, email, .. }) = &mut cmd {
        *email = "new@example.com".into();
        *name = String::new();
    }
    assert_eq!(w.refused(user("op"), cmd).kind(), RefusalKind::Invalid);
}

#[test]
fn users_set_their_own_notifications() {
    let mut w = World::new();
    let off = |who: &str| {
        Command::SetNotifications(SetNotifications {
            user: UserId::from(who),
            enabled: false,
        })
    };
    assert!(w.catalog.user(&UserId::from("dev")).unwrap().notifications);
    w.ok(user("dev"), off("dev"));
    assert!(!w.catalog.user(&UserId::from("dev")).unwrap().notifications);
    let refusal = w.refused(user("admin"), off("manager"));
    assert_eq!(refusal, Refusal::forbidden(Action::Operate));
    w.ok(user("op"), off("manager"));
}

#[test]
fn bundle_ids_are_unique_and_apps_need_names() {
    let mut w = World::new();
    let create = |id: &str, name: &str, bundle: &str| {
        Command::CreateApp(CreateApp {
            id: AppId::from(id),
            name: name.into(),
            bundle_id: bundle.into(),
            primary_language: crate::LanguageTag::parse("en").unwrap(),
        })
    };
    // Taken by another account's app: said, without naming that app.
    let refusal = w.refused(user("stranger"), create("a2", "Game 2", "com.example.game"));
    let said = conflict(&refusal, None);
    assert!(said.contains("already registered to another app"), "{said}");
    assert!(!said.contains("app-1") && !said.contains("Game"), "{said}");
    assert_eq!(
        w.refused(user("dev"), create("a2", "", "b")).kind(),
        RefusalKind::Invalid
    );
    assert_eq!(
        w.refused(user("dev"), create("a2", "n", " ")).kind(),
        RefusalKind::Invalid
    );
    assert!(
        conflict(&w.refused(user("dev"), create(APP, "n", "b")), None).contains("already used")
    );
}

#[test]
fn a_revoked_keys_secret_is_never_registered_again() {
    let mut w = World::new();
    w.ok(user("op"), key("k1", "op", b"bootstrap-secret"));
    w.ok(
        user("op"),
        Command::RevokeApiKey {
            id: ApiKeyId::from("k1"),
        },
    );
    // Not even by Packyard itself (a bootstrap with the old secret after a restart).
    let refusal = w.refused(Actor::System, key("k2", "op", b"bootstrap-secret"));
    assert!(conflict(&refusal, None).contains("revoked"), "{refusal}");
    assert!(
        w.catalog
            .user_by_key_hash(&Blake3Hash::of(b"bootstrap-secret"))
            .is_none()
    );
}

#[test]
fn packyard_records_a_keys_last_use_and_nobody_else_may() {
    let mut w = World::new();
    w.ok(user("dev"), key("k1", "dev", b"s"));
    let id = ApiKeyId::from("k1");
    assert_eq!(w.catalog.api_key(&id).unwrap().last_used_at, None);
    w.ok(Actor::System, Command::TouchApiKey { id: id.clone() });
    let first = w.catalog.api_key(&id).unwrap().last_used_at.unwrap();
    let refusal = w.refused(user("dev"), Command::TouchApiKey { id: id.clone() });
    assert_eq!(refusal, Refusal::forbidden(Action::Report));
    w.ok(Actor::System, Command::TouchApiKey { id: id.clone() });
    let key_now = w.catalog.api_key(&id).unwrap();
    assert!(key_now.last_used_at.unwrap() > first);
    assert!(!key_now.use_is_news(Timestamp(first.0 + 2_000)));
    assert!(key_now.use_is_news(Timestamp(
        key_now.last_used_at.unwrap().0 + KEY_USE_RESOLUTION_MS
    )));
    w.ok(user("dev"), Command::RevokeApiKey { id: id.clone() });
    let refusal = w.refused(Actor::System, Command::TouchApiKey { id });
    assert!(conflict(&refusal, None).contains("revoked"), "{refusal}");
}

#[test]
fn r14_users_see_their_own_keys_managers_those_below_them_and_operators_all() {
    let mut w = World::new();
    w.ok(user("dev"), key("k-dev", "dev", b"1"));
    w.ok(user("manager"), key("k-manager", "manager", b"2"));
    w.ok(user("op"), key("k-op", "op", b"3"));
    w.ok(user("stranger"), key("k-stranger", "stranger", b"4"));
    w.ok(user("holder"), key("k-holder", "holder", b"5"));
    w.ok(user("admin2"), key("k-admin2", "admin2", b"6"));
    w.ok(user("reviewer"), key("k-reviewer", "reviewer", b"7"));
    let seen = |who: Actor| -> Vec<String> {
        w.catalog
            .api_keys_visible_to(&who)
            .iter()
            .map(|k| k.id.to_string())
            .collect()
    };
    assert_eq!(seen(user("dev")), ["k-dev"]);
    // Not the Account Holder's, another Admin's or the operator-made Reviewer's.
    assert_eq!(seen(user("admin")), ["k-dev", "k-manager"]);
    assert_eq!(
        seen(user("holder")),
        ["k-admin2", "k-dev", "k-holder", "k-manager"]
    );
    assert_eq!(seen(user("stranger")), ["k-stranger"]);
    assert_eq!(
        seen(user("op")),
        [
            "k-admin2",
            "k-dev",
            "k-holder",
            "k-manager",
            "k-op",
            "k-reviewer",
            "k-stranger"
        ]
    );
}

#[test]
fn a_command_whose_key_was_revoked_before_it_is_applied_is_refused() {
    let mut w = World::new();
    w.ok(user("dev"), key("k1", "dev", b"s"));
    let create = |key: &str| Envelope {
        actor: user("dev"),
        at: Timestamp(9_000_000),
        command: Command::CreatePack(CreatePack {
            id: PackId::from(format!("p-{key}").as_str()),
            app: app(),
            identifier: crate::AssetPackIdentifier::parse(&format!("pack-{key}")).unwrap(),
        }),
        key: Some(ApiKeyId::from(key)),
    };
    // Authenticated with a live key of the actor's: applied.
    assert!(w.catalog.apply(create("k1")).is_ok());
    // A key that is not the actor's, or unknown: refused, nothing changes.
    w.ok(user("admin"), key("k-admin", "admin", b"a"));
    let before = w.catalog.clone();
    let refusal = w.catalog.apply(create("k-admin")).unwrap_err();
    assert_eq!(refusal.kind(), RefusalKind::Unauthenticated);
    assert_eq!(w.catalog, before);
    // Revoked between authentication and apply: refused.
    w.ok(
        user("dev"),
        Command::RevokeApiKey {
            id: ApiKeyId::from("k1"),
        },
    );
    let refusal = w
        .catalog
        .apply(Envelope {
            key: Some(ApiKeyId::from("k1")),
            ..create("k1b")
        })
        .unwrap_err();
    assert!(refusal.to_string().contains("was revoked"), "{refusal}");
}
