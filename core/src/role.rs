//! [`Role`]s a user holds on an app, the [`Action`]s they allow, and the permission matrix
//! of rule R8 as one pure function; who may grant and remove which role (rule R14) as
//! another, [`may_grant`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// A role a user holds on one app. Serialized as the admin API spells it (`ACCOUNT_HOLDER` …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// The app's owner: everything a member can do, plus transferring the app.
    AccountHolder,
    /// Manages the app, its members and their keys; told about approvals and quota.
    Admin,
    /// Submits, releases, rolls out and archives packs.
    AppManager,
    /// Creates packs and uploads versions.
    Developer,
    /// Approves or rejects submitted versions; sees only what is under review.
    Reviewer,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 5] = [
        Role::AccountHolder,
        Role::Admin,
        Role::AppManager,
        Role::Developer,
        Role::Reviewer,
    ];
}

impl Role {
    /// Where the role stands among an app's member roles, highest first: Account Holder 3,
    /// Admin 2, App Manager 1, Developer 0. A Reviewer is no member of the app's team (they
    /// belong to the operator's organisation), so has no rank.
    pub fn rank(self) -> Option<u8> {
        match self {
            Role::AccountHolder => Some(3),
            Role::Admin => Some(2),
            Role::AppManager => Some(1),
            Role::Developer => Some(0),
            Role::Reviewer => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::AccountHolder => "Account Holder",
            Role::Admin => "Admin",
            Role::AppManager => "App Manager",
            Role::Developer => "Developer",
            Role::Reviewer => "Reviewer",
        })
    }
}

/// Something a user asks to do on an app, as far as permissions are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    /// Read the app, its packs, versions, releases and rejection reasons.
    View,
    /// Read a version that is submitted for review, and its submission.
    ViewUnderReview,
    /// Create an asset pack.
    CreatePack,
    /// Create a pack version.
    CreateVersion,
    /// Reserve and commit upload files.
    Upload,
    /// Register an app build for a channel.
    RegisterBuild,
    /// Submit a version for review (also "replace" the version in external testing).
    SubmitForReview,
    /// Release an accepted version to the store.
    Release,
    /// Start or change a per-region rollout.
    RollOut,
    /// Archive a pack.
    Archive,
    /// Start, accept or reject a review.
    Review,
    /// Add members to the app and take them off it, granting and removing roles below one's
    /// own (rule R14: see [`may_grant`] for which role may grant which).
    ManageMembers,
    /// Create, read and delete the app's webhooks and read their delivery logs.
    ManageWebhooks,
    /// Issue tester tokens for the internal beta channel: any member tests internal builds.
    IssueInternalTesterTokens,
    /// Issue tester tokens for the external beta channel: managing external testers is a
    /// manager's job, as submitting for external review is.
    IssueExternalTesterTokens,
    /// Mark the app as being transferred to another account, or clear that mark.
    Transfer,
    /// Create operators, users without app roles, or change another user's settings: only
    /// operators do this, whatever their app roles.
    Operate,
    /// Report processing results, finish beta processing or distribution, register edges and
    /// their heartbeats: only Packyard itself (origin, control plane, edges) does this, never
    /// a user.
    Report,
    /// See the edge fleet and its regions: only operators, who run the edges.
    ViewFleet,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 19] = [
        Action::View,
        Action::ViewUnderReview,
        Action::CreatePack,
        Action::CreateVersion,
        Action::Upload,
        Action::RegisterBuild,
        Action::SubmitForReview,
        Action::Release,
        Action::RollOut,
        Action::Archive,
        Action::Review,
        Action::ManageMembers,
        Action::ManageWebhooks,
        Action::IssueInternalTesterTokens,
        Action::IssueExternalTesterTokens,
        Action::Transfer,
        Action::Operate,
        Action::Report,
        Action::ViewFleet,
    ];
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::View => "view this app's packs",
            Action::ViewUnderReview => "view versions under review",
            Action::CreatePack => "create asset packs",
            Action::CreateVersion => "create pack versions",
            Action::Upload => "upload pack files",
            Action::RegisterBuild => "register builds",
            Action::SubmitForReview => "submit versions for review",
            Action::Release => "release versions to the store",
            Action::RollOut => "roll out versions",
            Action::Archive => "archive asset packs",
            Action::Review => "approve or reject versions",
            Action::ManageMembers => "add and remove this app's members",
            Action::ManageWebhooks => "manage this app's webhooks",
            Action::IssueInternalTesterTokens => "issue internal tester tokens for this app",
            Action::IssueExternalTesterTokens => "issue external tester tokens for this app",
            Action::Transfer => "transfer this app",
            Action::Operate => "manage users across apps",
            Action::Report => "report processing and distribution results",
            Action::ViewFleet => "see the edge fleet",
        })
    }
}

const MEMBERS: &[Role] = &[
    Role::AccountHolder,
    Role::Admin,
    Role::AppManager,
    Role::Developer,
];
const MANAGERS: &[Role] = &[Role::AccountHolder, Role::Admin, Role::AppManager];

/// The roles that allow `action` (rule R8); holding any one of them is enough. Empty for
/// [`Action::Operate`] and [`Action::ViewFleet`] (operators only, whatever their roles) and
/// [`Action::Report`] (no user).
pub fn required_roles(action: Action) -> &'static [Role] {
    match action {
        Action::View => MEMBERS,
        Action::ViewUnderReview => &Role::ALL,
        Action::CreatePack
        | Action::CreateVersion
        | Action::Upload
        | Action::IssueInternalTesterTokens => MEMBERS,
        Action::RegisterBuild
        | Action::SubmitForReview
        | Action::Release
        | Action::RollOut
        | Action::Archive
        | Action::IssueExternalTesterTokens => MANAGERS,
        Action::Review => &[Role::Reviewer],
        Action::ManageMembers | Action::ManageWebhooks => &[Role::AccountHolder, Role::Admin],
        Action::Transfer => &[Role::AccountHolder],
        Action::Operate | Action::Report | Action::ViewFleet => &[],
    }
}

/// Whether a user holding `roles` on an app may do `action` there (rule R8).
pub fn allowed<'a>(roles: impl IntoIterator<Item = &'a Role>, action: Action) -> bool {
    let needed = required_roles(action);
    roles.into_iter().any(|r| needed.contains(r))
}

/// Whether a user holding `roles` on an app may grant `role` there, or take it from a member
/// (rule R14). `ACCOUNT_HOLDER` is granted by an Account Holder; `REVIEWER` by nobody who is
/// only an app's member (operators grant it: the caller checks for them first); any other role
/// by an Account Holder or Admin holding a role above it. So an Admin adds and removes App
/// Managers and Developers, never another Admin, an Account Holder or a Reviewer.
pub fn may_grant<'a>(roles: impl IntoIterator<Item = &'a Role>, role: Role) -> bool {
    let managers = roles
        .into_iter()
        .filter(|r| matches!(r, Role::AccountHolder | Role::Admin));
    match role {
        Role::Reviewer => false,
        Role::AccountHolder => managers.into_iter().any(|r| *r == Role::AccountHolder),
        _ => managers.into_iter().any(|r| r.rank() > role.rank()),
    }
}

#[cfg(test)]
#[path = "role_test.rs"]
mod tests;
