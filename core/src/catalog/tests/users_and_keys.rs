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
        user("admin"),
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
fn only_the_user_their_app_admins_or_an_operator_manage_their_keys() {
    let mut w = World::new();
    let refusal = w.refused(user("manager"), key("k", "dev", b"s"));
    assert_eq!(
        refusal,
        Refusal::Forbidden {
            action: Action::ManageMembers,
            needed: vec![Role::AccountHolder, Role::Admin]
        }
    );
    let refusal = w.refused(user("admin"), key("k", "op", b"s"));
    assert_eq!(refusal, Refusal::forbidden(Action::Operate));
    assert_eq!(
        refusal.to_string(),
        "only an operator may manage users across apps; no app role allows it"
    );
    w.ok(user("admin"), key("k", "dev", b"s"));
    w.ok(user("op"), key("k-op", "op", b"op"));
    let refusal = w.refused(
        user("dev"),
        Command::RevokeApiKey {
            id: ApiKeyId::from("nope"),
        },
    );
    assert_eq!(refusal.kind(), RefusalKind::NotFound);
}

#[test]
fn admins_add_members_but_only_account_holders_add_account_holders() {
    let mut w = World::new();
    w.ok(
        user("admin"),
        new_user("dev2", &[(APP, Role::Developer)], false),
    );
    let refusal = w.refused(
        user("admin"),
        new_user("boss", &[(APP, Role::AccountHolder)], false),
    );
    assert!(matches!(
        refusal,
        Refusal::Forbidden {
            action: Action::Transfer,
            ..
        }
    ));
    let refusal = w.refused(
        user("manager"),
        new_user("dev3", &[(APP, Role::Developer)], false),
    );
    assert!(matches!(
        refusal,
        Refusal::Forbidden {
            action: Action::ManageMembers,
            ..
        }
    ));
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
    assert!(conflict(&w.refused(user("op"), cmd.clone()), None).contains("already belongs"));
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
    let refusal = w.refused(user("dev"), create("a2", "Game 2", "com.example.game"));
    assert!(conflict(&refusal, None).contains("already belongs to app Game (app-1)"));
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
fn users_see_their_own_keys_admins_their_members_and_operators_all() {
    let mut w = World::new();
    w.ok(user("dev"), key("k-dev", "dev", b"1"));
    w.ok(user("manager"), key("k-manager", "manager", b"2"));
    w.ok(user("op"), key("k-op", "op", b"3"));
    w.ok(user("stranger"), key("k-stranger", "stranger", b"4"));
    let seen = |who: Actor| -> Vec<String> {
        w.catalog
            .api_keys_visible_to(&who)
            .iter()
            .map(|k| k.id.to_string())
            .collect()
    };
    assert_eq!(seen(user("dev")), ["k-dev"]);
    assert_eq!(seen(user("admin")), ["k-dev", "k-manager"]);
    assert_eq!(seen(user("stranger")), ["k-stranger"]);
    assert_eq!(
        seen(user("op")),
        ["k-dev", "k-manager", "k-op", "k-stranger"]
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
