use super::*;
use Action as A;
use Role as R;

/// R8 as the SPEC writes it: for every action, the roles that may do it.
const MATRIX: &[(Action, &[Role])] = &[
    (
        A::View,
        &[R::AccountHolder, R::Admin, R::AppManager, R::Developer],
    ),
    (
        A::ViewUnderReview,
        &[
            R::AccountHolder,
            R::Admin,
            R::AppManager,
            R::Developer,
            R::Reviewer,
        ],
    ),
    (
        A::CreatePack,
        &[R::AccountHolder, R::Admin, R::AppManager, R::Developer],
    ),
    (
        A::CreateVersion,
        &[R::AccountHolder, R::Admin, R::AppManager, R::Developer],
    ),
    (
        A::Upload,
        &[R::AccountHolder, R::Admin, R::AppManager, R::Developer],
    ),
    (
        A::RegisterBuild,
        &[R::AccountHolder, R::Admin, R::AppManager],
    ),
    (
        A::SubmitForReview,
        &[R::AccountHolder, R::Admin, R::AppManager],
    ),
    (A::Release, &[R::AccountHolder, R::Admin, R::AppManager]),
    (A::RollOut, &[R::AccountHolder, R::Admin, R::AppManager]),
    (A::Archive, &[R::AccountHolder, R::Admin, R::AppManager]),
    (A::Review, &[R::Reviewer]),
    (A::ManageMembers, &[R::AccountHolder, R::Admin]),
    (A::ManageWebhooks, &[R::AccountHolder, R::Admin]),
    (
        A::IssueInternalTesterTokens,
        &[R::AccountHolder, R::Admin, R::AppManager, R::Developer],
    ),
    (
        A::IssueExternalTesterTokens,
        &[R::AccountHolder, R::Admin, R::AppManager],
    ),
    (A::Transfer, &[R::AccountHolder]),
    (A::Operate, &[]),
    (A::Report, &[]),
    (A::ViewFleet, &[]),
];

#[test]
fn r8_every_role_and_action_pair_follows_the_matrix() {
    assert_eq!(
        MATRIX.len(),
        Action::ALL.len(),
        "every action is in the table"
    );
    for &(action, roles) in MATRIX {
        for role in Role::ALL {
            assert_eq!(
                allowed(&[role], action),
                roles.contains(&role),
                "{role} / {action}"
            );
        }
        assert_eq!(required_roles(action), roles, "{action}");
    }
}

#[test]
fn r8_only_reviewers_approve_even_account_holders_cannot() {
    let everyone_else = [R::AccountHolder, R::Admin, R::AppManager, R::Developer];
    assert!(!allowed(&everyone_else, A::Review));
    assert!(allowed(&[R::Developer, R::Reviewer], A::Review));
}

#[test]
fn r8_no_role_allows_nothing() {
    for action in Action::ALL {
        assert!(!allowed(&[], action), "{action}");
    }
}

#[test]
fn roles_use_the_admin_api_spelling() {
    assert_eq!(
        serde_json::to_string(&R::AccountHolder).unwrap(),
        "\"ACCOUNT_HOLDER\""
    );
    assert_eq!(
        serde_json::to_string(&R::AppManager).unwrap(),
        "\"APP_MANAGER\""
    );
}

#[test]
fn r14_each_role_is_granted_only_from_above_and_reviewer_by_nobody_on_the_app() {
    // Who may grant (and so remove) each role, as R14 words it.
    let table: &[(Role, &[Role])] = &[
        (R::AccountHolder, &[R::AccountHolder]),
        (R::Admin, &[R::AccountHolder]),
        (R::AppManager, &[R::AccountHolder, R::Admin]),
        (R::Developer, &[R::AccountHolder, R::Admin]),
        (R::Reviewer, &[]),
    ];
    for &(granted, granters) in table {
        for holder in Role::ALL {
            assert_eq!(
                may_grant(&[holder], granted),
                granters.contains(&holder),
                "{holder} granting {granted}"
            );
        }
    }
    // Holding a lower role beside a managing one changes nothing.
    assert!(may_grant(&[R::Developer, R::Admin], R::AppManager));
    assert!(!may_grant(&[R::Reviewer, R::AppManager], R::Developer));
    assert!(!may_grant(&[], R::Developer));
}

#[test]
fn ranks_order_the_team_and_leave_reviewers_out() {
    assert!(R::AccountHolder.rank() > R::Admin.rank());
    assert!(R::Admin.rank() > R::AppManager.rank());
    assert!(R::AppManager.rank() > R::Developer.rank());
    assert_eq!(R::Reviewer.rank(), None);
}
