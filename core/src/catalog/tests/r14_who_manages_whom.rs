use super::fixture::*;
use crate::LanguageTag;
use crate::catalog::*;
use crate::quota::QuotaLimits;
use crate::role::Role;

fn grant(who: &str, role: Role) -> Command {
    Command::GrantRole(GrantRole {
        user: UserId::from(who),
        app: app(),
        role,
    })
}

fn remove(who: &str, role: Option<Role>) -> Command {
    Command::RemoveRole(RemoveRole {
        user: UserId::from(who),
        app: app(),
        role,
    })
}

fn roles_of(w: &World, who: &str) -> Vec<Role> {
    let user = w.catalog.user(&UserId::from(who)).unwrap();
    user.roles
        .get(&app())
        .map(|r| r.iter().copied().collect())
        .unwrap_or_default()
}

fn new_app(id: &str, bundle: &str) -> Command {
    Command::CreateApp(CreateApp {
        id: AppId::from(id),
        name: format!("App {id}"),
        bundle_id: bundle.into(),
        primary_language: LanguageTag::parse("en").unwrap(),
    })
}

#[test]
fn r14_roles_are_granted_to_existing_users_only_from_above() {
    let mut w = World::new();
    // `stranger` (Account Holder of another app) joins this one as a Developer.
    w.ok(user("admin"), grant("stranger", Role::Developer));
    assert_eq!(roles_of(&w, "stranger"), [Role::Developer]);
    w.ok(user("admin"), grant("dev", Role::AppManager));
    for (actor, target, role) in [
        ("admin", "dev", Role::Admin),
        ("admin", "dev", Role::AccountHolder),
        ("admin", "dev", Role::Reviewer),
        ("holder", "dev", Role::Reviewer),
        ("manager", "dev", Role::AppManager),
        ("dev", "dev", Role::Admin),
    ] {
        let refusal = w.refused(user(actor), grant(target, role));
        assert_eq!(refusal.rule(), Some(Rule::R14), "{actor} granting {role}");
        assert_eq!(refusal.kind(), RefusalKind::Forbidden);
    }
    w.ok(user("holder"), grant("dev", Role::Admin));
    w.ok(user("op"), grant("dev", Role::Reviewer));
    let again = w.refused(user("holder"), grant("dev", Role::Admin));
    assert!(conflict(&again, None).contains("already holds"));
}

#[test]
fn r14_an_admin_takes_a_member_off_the_app_even_one_who_made_an_app_of_their_own() {
    let mut w = World::new();
    // The Developer creates an app of their own, so is an Account Holder elsewhere.
    w.ok(user("dev"), new_app("dev-app", "com.dev.own"));
    w.ok(user("admin"), remove("dev", None));
    assert_eq!(roles_of(&w, "dev"), []);
    assert!(
        w.catalog
            .permits(&user("dev"), &app(), crate::role::Action::View)
            .is_err()
    );
    // Their own app is still theirs.
    let own = AppId::from("dev-app");
    assert!(
        w.catalog
            .permits(&user("dev"), &own, crate::role::Action::Archive)
            .is_ok()
    );
}

#[test]
fn r14_a_role_is_removed_by_whoever_may_grant_it_and_by_its_holder() {
    let mut w = World::new();
    w.ok(user("admin"), remove("manager", Some(Role::AppManager)));
    for (actor, target, role) in [
        ("admin", "admin2", Some(Role::Admin)),
        ("admin", "holder", None),
        ("admin", "reviewer", Some(Role::Reviewer)),
        ("holder", "reviewer", None),
        ("dev", "admin", None),
        ("stranger", "dev", None),
    ] {
        let refusal = w.refused(user(actor), remove(target, role));
        assert_eq!(refusal.rule(), Some(Rule::R14), "{actor} removing {target}");
    }
    w.ok(user("holder"), remove("admin2", None));
    w.ok(user("op"), remove("reviewer", None));
    // Anyone may leave.
    w.ok(user("dev"), remove("dev", None));
    let nothing = w.refused(user("admin"), remove("dev", None));
    assert!(conflict(&nothing, None).contains("does not hold"));
    let unheld = w.refused(user("holder"), remove("admin", Some(Role::Developer)));
    assert!(conflict(&unheld, None).contains("does not hold the Developer role"));
}

#[test]
fn r14_an_app_always_keeps_an_account_holder() {
    let mut w = World::new();
    let refusal = w.refused(user("holder"), remove("holder", None));
    assert!(conflict(&refusal, Some(Rule::R14)).contains("only Account Holder"));
    let refusal = w.refused(user("op"), remove("holder", Some(Role::AccountHolder)));
    assert_eq!(refusal.rule(), Some(Rule::R14));
    w.ok(user("holder"), grant("admin", Role::AccountHolder));
    w.ok(user("holder"), remove("holder", None));
    assert_eq!(roles_of(&w, "holder"), []);
}

#[test]
fn r14_a_user_holds_at_most_the_configured_number_of_apps() {
    let mut w = World::with_limits(QuotaLimits {
        max_apps_per_account_holder: 2,
        ..QuotaLimits::default()
    });
    w.ok(user("dev"), new_app("a", "com.dev.a"));
    w.ok(user("dev"), new_app("b", "com.dev.b"));
    let refusal = w.refused(user("dev"), new_app("c", "com.dev.c"));
    let said = conflict(&refusal, Some(Rule::R14));
    assert!(
        said.contains("quota.max_apps_per_account_holder = 2"),
        "{said}"
    );
    // Nor can they be made Account Holder of a third.
    w.ok(user("holder"), grant("admin", Role::AccountHolder));
    w.ok(user("op"), new_app("d", "com.op.d"));
    let make_holder = Command::GrantRole(GrantRole {
        user: UserId::from("dev"),
        app: AppId::from("d"),
        role: Role::AccountHolder,
    });
    assert_eq!(w.refused(user("op"), make_holder).rule(), Some(Rule::R14));
    // Operators are not limited.
    w.ok(user("op"), new_app("e", "com.op.e"));
}

#[test]
fn r14_the_cluster_holds_at_most_the_configured_number_of_users() {
    let w = World::new();
    let users = w.catalog.users().count();
    let mut w = World::with_limits(QuotaLimits {
        max_users: users + 1,
        ..QuotaLimits::default()
    });
    w.ok(
        user("admin"),
        new_user("one-more", &[(APP, Role::Developer)], false),
    );
    let refusal = w.refused(
        user("admin"),
        new_user("too-many", &[(APP, Role::Developer)], false),
    );
    assert!(conflict(&refusal, Some(Rule::R14)).contains("quota.max_users"));
}

#[test]
fn r14_every_stored_name_and_reason_is_bounded() {
    let mut w = World::new();
    let long = "x".repeat(257);
    let refusal = w.refused(user("dev"), {
        let Command::CreateApp(mut a) = new_app("big", "com.big") else {
            unreachable!()
        };
        a.name = "é".repeat(900_000 / 2);
        Command::CreateApp(a)
    });
    assert_eq!(
        refusal.to_string(),
        "name: is 900000 bytes long; the limit is 256 bytes (quota.max_name_bytes)"
    );
    let refusal = w.refused(user("dev"), new_app("big", &long));
    assert!(refusal.to_string().starts_with("bundleId: is 257 bytes"));
    let mut person = new_user("long", &[(APP, Role::Developer)], false);
    if let Command::CreateUser(u) = &mut person {
        u.name = long.clone();
    }
    assert!(
        w.refused(user("admin"), person)
            .to_string()
            .starts_with("name:")
    );
    let mut person = new_user("long", &[(APP, Role::Developer)], false);
    if let Command::CreateUser(u) = &mut person {
        u.email = format!("{long}@example.com");
    }
    assert!(
        w.refused(user("admin"), person)
            .to_string()
            .starts_with("email:")
    );
    let build = Command::RegisterBuild(RegisterBuild {
        id: BuildId::from("b"),
        app: app(),
        build_number: long.clone(),
        channels: [BuildChannel::Internal].into(),
    });
    assert!(
        w.refused(user("manager"), build)
            .to_string()
            .starts_with("buildNumber:")
    );
    // An upload file's name.
    let pack = w.pack("named");
    let version = w.version(&pack);
    let file = UploadFileId::from("f");
    let mut reservation = reserve(&file, &version, 10, AssetType::Asset);
    if let Command::ReserveUploadFile(r) = &mut reservation {
        r.file_name = long.clone();
    }
    assert!(
        w.refused(user("dev"), reservation)
            .to_string()
            .starts_with("fileName:")
    );
    // A rejection's reasons together: at most 8 KiB by default.
    w.build(&[BuildChannel::External]);
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let s = w.submit(&v, ReviewTrack::ExternalBeta);
    w.ok(user("reviewer"), start(&s));
    let reasons = vec!["y".repeat(5_000), "z".repeat(5_000)];
    let refusal = w.refused(user("reviewer"), decide(&s, false, reasons));
    assert!(
        refusal.to_string().contains("quota.max_text_bytes"),
        "{refusal}"
    );
}

#[test]
fn r14_packyard_sets_the_configured_limits_and_nobody_else_does() {
    let mut w = World::new();
    let limits = QuotaLimits {
        max_users: 20,
        ..QuotaLimits::default()
    };
    let set = |limits: QuotaLimits| Command::SetLimits { limits };
    let refusal = w.refused(user("op"), set(limits.clone()));
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
    let zero = QuotaLimits {
        max_users: 0,
        ..QuotaLimits::default()
    };
    assert_eq!(
        w.refused(Actor::System, set(zero)).kind(),
        RefusalKind::Invalid
    );
    w.ok(Actor::System, set(limits.clone()));
    assert_eq!(w.catalog.limits(), &limits);
}
