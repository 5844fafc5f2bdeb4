use super::fixture::*;
use crate::catalog::*;
use crate::role::{Action, Role};

#[test]
fn r8_a_developer_uploads_but_cannot_submit_naming_the_roles_needed() {
    let mut w = World::new();
    w.build(&[BuildChannel::External]);
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let id = ReviewSubmissionId::from("s");
    let refusal = w.refused(user("dev"), submit(&id, &v, ReviewTrack::ExternalBeta));
    assert_eq!(
        refusal,
        Refusal::Forbidden {
            action: Action::SubmitForReview,
            needed: vec![Role::AccountHolder, Role::Admin, Role::AppManager],
        }
    );
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
}

#[test]
fn r8_only_reviewers_approve_not_even_the_account_holder_or_an_operator() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let s = w.submit(&v, ReviewTrack::AppStore);
    for who in ["holder", "admin", "manager", "dev", "op"] {
        let refusal = w.refused(user(who), start(&s));
        assert_eq!(
            refusal.to_string(),
            "you need the Reviewer role on this app to approve or reject versions"
        );
    }
    let refusal = w.refused(Actor::System, start(&s));
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
    w.ok(user("reviewer"), start(&s));
}

#[test]
fn r8_a_reviewer_cannot_create_upload_or_archive() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let refusal = w.refused(user("reviewer"), create_pack(&PackId::from("p"), "x"));
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
    let version = Command::CreateVersion(CreateVersion {
        id: VersionId::from("v"),
        pack: pack.clone(),
    });
    assert_eq!(
        w.refused(user("reviewer"), version).kind(),
        RefusalKind::Forbidden
    );
    assert_eq!(
        w.refused(user("reviewer"), archive(&pack)).kind(),
        RefusalKind::Forbidden
    );
}

#[test]
fn r8_a_member_of_another_app_has_no_role_here() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let version = Command::CreateVersion(CreateVersion {
        id: VersionId::from("v"),
        pack,
    });
    let refusal = w.refused(user("stranger"), version);
    assert!(matches!(
        refusal,
        Refusal::Forbidden {
            action: Action::CreateVersion,
            ..
        }
    ));
    assert!(
        w.catalog
            .permits(&user("stranger"), &app(), Action::View)
            .is_err()
    );
}

#[test]
fn r8_reviewers_view_only_what_is_under_review() {
    let w = World::new();
    let reviewer = user("reviewer");
    assert!(w.catalog.permits(&reviewer, &app(), Action::View).is_err());
    assert!(
        w.catalog
            .permits(&reviewer, &app(), Action::ViewUnderReview)
            .is_ok()
    );
    assert!(
        w.catalog
            .permits(&user("dev"), &app(), Action::View)
            .is_ok()
    );
}

#[test]
fn r8_an_operator_does_everything_but_review() {
    let mut w = World::new();
    let pack = PackId::from("op-pack");
    w.ok(user("op"), create_pack(&pack, "ops"));
    w.ok(user("op"), archive(&pack));
    assert!(
        w.catalog
            .permits(&user("op"), &app(), Action::Review)
            .is_err()
    );
}

#[test]
fn r8_no_user_reports_processing_results() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.processing(&pack, 100);
    for who in ["holder", "op"] {
        let refusal = w.refused(user(who), succeeded(&v, 100));
        assert_eq!(
            refusal.to_string(),
            "only Packyard itself (the origin or the control plane) may report processing and \
             distribution results; no app role allows it"
        );
    }
    let refusal = w.refused(user("dev"), failed(&v, None, "x"));
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
}

#[test]
fn r8_an_unknown_actor_is_refused() {
    let mut w = World::new();
    let refusal = w.refused(user("ghost"), create_pack(&PackId::from("p"), "x"));
    assert_eq!(refusal.kind(), RefusalKind::NotFound);
}

#[test]
fn r8_creating_an_app_makes_the_caller_its_account_holder() {
    let mut w = World::new();
    w.ok(
        user("dev"),
        Command::CreateApp(CreateApp {
            id: AppId::from("mine"),
            name: "Mine".into(),
            bundle_id: "com.example.mine".into(),
            primary_language: crate::LanguageTag::parse("de").unwrap(),
        }),
    );
    let roles = &w.catalog.user(&UserId::from("dev")).unwrap().roles;
    assert_eq!(roles[&AppId::from("mine")], [Role::AccountHolder].into());
    assert!(
        w.catalog
            .permits(&user("dev"), &AppId::from("mine"), Action::Archive)
            .is_ok()
    );
}

#[test]
fn r8_a_read_needs_the_action_of_what_it_reads_on_an_app_that_exists() {
    let w = World::new();
    let what_members_read = [
        ResourceType::Apps,
        ResourceType::BackgroundAssets,
        ResourceType::BackgroundAssetVersions,
        ResourceType::Builds,
        ResourceType::ReviewSubmissions,
        ResourceType::Rollouts,
        ResourceType::TesterTokens,
    ];
    for what in what_members_read {
        assert_eq!(
            w.catalog.may_read(&user("dev"), &app(), what),
            Ok(()),
            "{what}"
        );
        let refusal = w.catalog.may_read(&user("stranger"), &app(), what);
        assert_eq!(
            refusal.map_err(|r| r.kind()),
            Err(RefusalKind::Forbidden),
            "{what}"
        );
    }
    // Webhooks (their URLs, their delivery logs) are their managers'.
    for what in [ResourceType::Webhooks, ResourceType::WebhookDeliveries] {
        assert_eq!(
            w.catalog.may_read(&user("dev"), &app(), what),
            Err(Refusal::Forbidden {
                action: Action::ManageWebhooks,
                needed: vec![Role::AccountHolder, Role::Admin],
            })
        );
        assert_eq!(w.catalog.may_read(&user("admin"), &app(), what), Ok(()));
    }
    // An app that is not there is not found, for everyone, operators included.
    let missing = AppId::from("no-such-app");
    for who in ["op", "dev", "stranger"] {
        let refusal = w.catalog.may_read(&user(who), &missing, ResourceType::Apps);
        assert_eq!(refusal.map_err(|r| r.kind()), Err(RefusalKind::NotFound));
    }
}
