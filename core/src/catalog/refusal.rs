//! [`Refusal`]: why the catalog did not apply a command. A refused command changes nothing.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::resource::ResourceType;
use crate::role::{Action, Role};

/// A rule of SPEC §3 that a refusal enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Rule {
    /// One external review at a time.
    R2,
    /// External submission needs a build for external testing.
    R4,
    /// One app-store review at a time.
    R6,
    /// Archive preconditions and identifiers never reused.
    R7,
    /// Quota.
    R9,
    /// A version's content never changes once COMPLETE.
    R12,
    /// Four eyes: whoever submitted a version never decides its review.
    R13,
    /// Who manages whom: keys, roles, and the limits on what a user may create.
    R14,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The class of a refusal, which alone decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// 401.
    Unauthenticated,
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// 409.
    Conflict,
    /// 422.
    Invalid,
}

/// Why a command was refused, in words its sender can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum Refusal {
    /// The actor lacks a role that allows the action (rule R8).
    #[error("{}", forbidden_message(*action, needed))]
    Forbidden {
        /// What was attempted.
        action: Action,
        /// The roles that would allow it (any one is enough); empty when no user may do it.
        needed: Vec<Role>,
    },
    /// A rule of SPEC §3 forbids this actor this action whatever roles they hold: the
    /// submitter deciding their own review (R13), someone managing another's keys or granting
    /// a role above their own (R14).
    #[error("{detail} (rule {rule})")]
    Denied {
        /// The rule.
        rule: Rule,
        /// Who may do it instead.
        detail: String,
    },
    /// A record the command names does not exist.
    #[error("there is no {resource} record with id {id:?}")]
    NotFound {
        /// Its kind.
        resource: ResourceType,
        /// The id the command gave.
        id: String,
    },
    /// The command is well-formed but the catalog's state or a rule does not allow it now.
    #[error("{}", conflict_message(*rule, detail))]
    Conflict {
        /// The rule that refuses it, if one of SPEC §3 does.
        rule: Option<Rule>,
        /// What blocks it, naming the blocking record and its state.
        detail: String,
    },
    /// A field of the command is unusable whatever the state.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, as the admin API names it.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The key the command came with no longer opens anything.
    #[error("{detail}")]
    Unauthenticated {
        /// Why.
        detail: String,
    },
}

impl Refusal {
    /// The class of this refusal, for mapping to a status code in one place.
    pub fn kind(&self) -> RefusalKind {
        match self {
            Refusal::Unauthenticated { .. } => RefusalKind::Unauthenticated,
            Refusal::Forbidden { .. } | Refusal::Denied { .. } => RefusalKind::Forbidden,
            Refusal::NotFound { .. } => RefusalKind::NotFound,
            Refusal::Conflict { .. } => RefusalKind::Conflict,
            Refusal::Invalid { .. } => RefusalKind::Invalid,
        }
    }

    /// The rule that refuses, if one of SPEC §3 does.
    pub fn rule(&self) -> Option<Rule> {
        match self {
            Refusal::Conflict { rule, .. } => *rule,
            Refusal::Denied { rule, .. } => Some(*rule),
            _ => None,
        }
    }

    pub(crate) fn not_found(resource: ResourceType, id: impl fmt::Display) -> Self {
        Refusal::NotFound {
            resource,
            id: id.to_string(),
        }
    }

    pub(crate) fn conflict(detail: impl Into<String>) -> Self {
        Refusal::Conflict {
            rule: None,
            detail: detail.into(),
        }
    }

    pub(crate) fn by_rule(rule: Rule, detail: impl Into<String>) -> Self {
        Refusal::Conflict {
            rule: Some(rule),
            detail: detail.into(),
        }
    }

    pub(crate) fn denied(rule: Rule, detail: impl Into<String>) -> Self {
        Refusal::Denied {
            rule,
            detail: detail.into(),
        }
    }

    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Refusal::Invalid {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn forbidden(action: Action) -> Self {
        Refusal::Forbidden {
            action,
            needed: crate::role::required_roles(action).to_vec(),
        }
    }
}

fn forbidden_message(action: Action, needed: &[Role]) -> String {
    if needed.is_empty() {
        let who = if action == Action::Report {
            "Packyard itself (the origin or the control plane)"
        } else {
            "an operator"
        };
        return format!("only {who} may {action}; no app role allows it");
    }
    let names: Vec<String> = needed.iter().map(Role::to_string).collect();
    let roles = match names.as_slice() {
        [one] => format!("the {one} role"),
        _ => format!("one of the roles {}", names.join(", ")),
    };
    format!("you need {roles} on this app to {action}")
}

fn conflict_message(rule: Option<Rule>, detail: &str) -> String {
    match rule {
        Some(rule) => format!("{detail} (rule {rule})"),
        None => detail.to_owned(),
    }
}
