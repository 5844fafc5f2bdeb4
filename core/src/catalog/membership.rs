//! Who manages whom (rule R14): granting and removing roles on an app, who may hold, see and
//! revoke a user's API keys, and the limits on what users create.
//!
//! - A role is granted, and removed, by whoever [`crate::role::may_grant`] allows on that app,
//!   or by an operator; `REVIEWER` by operators only. A user may also give up their own roles
//!   (leave an app). An app always keeps an Account Holder.
//! - A user's keys are created and revoked by that user or an operator, nobody else: an Admin
//!   who could mint a key for someone above them would act as them.
//! - A user's keys are seen by that user, operators, and whoever may grant every role the user
//!   holds on every app they are on: so nobody below an Account Holder sees theirs.

use super::command::{GrantRole, RemoveRole};
use super::envelope::Actor;
use super::event::Event;
use super::ids::{AppId, UserId};
use super::refusal::{Refusal, Rule};
use super::user::User;
use super::{Catalog, Ctx};
use crate::role::{self, Role};

impl Catalog {
    /// `GrantRole`: an existing user gets `role` on an app.
    pub(super) fn grant_role(
        &mut self,
        ctx: &Ctx,
        grant: GrantRole,
    ) -> Result<Vec<Event>, Refusal> {
        let GrantRole { user, app, role } = grant;
        self.find_app(&app)?;
        self.may_grant_role(&ctx.actor, &app, role)?;
        let target = self.find_user(&user)?;
        if target.roles.get(&app).is_some_and(|r| r.contains(&role)) {
            return Err(Refusal::conflict(format!(
                "user {user} already holds the {role} role on this app"
            )));
        }
        if role == Role::AccountHolder {
            self.check_apps_held(target)?;
        }
        if let Some(target) = self.users.get_mut(&user) {
            target.roles.entry(app).or_default().insert(role);
        }
        Ok(Vec::new())
    }

    /// `RemoveRole`: a user loses `role` (or every role) on an app. Allowed to whoever may
    /// grant each role taken, and to the user themselves; refused when it would leave the app
    /// without an Account Holder.
    pub(super) fn remove_role(
        &mut self,
        ctx: &Ctx,
        remove: RemoveRole,
    ) -> Result<Vec<Event>, Refusal> {
        let RemoveRole { user, app, role } = remove;
        self.find_app(&app)?;
        let target = self.find_user(&user)?;
        let held = target.roles.get(&app).cloned().unwrap_or_default();
        let taken: Vec<Role> = match role {
            Some(r) => vec![r],
            None => held.iter().copied().collect(),
        };
        if taken.is_empty() || taken.iter().any(|r| !held.contains(r)) {
            let what = role.map_or("any role".to_owned(), |r| format!("the {r} role"));
            return Err(Refusal::conflict(format!(
                "user {user} does not hold {what} on this app; nothing to remove"
            )));
        }
        if ctx.actor != Actor::User(user.clone()) {
            for r in &taken {
                self.may_grant_role(&ctx.actor, &app, *r)?;
            }
        }
        if taken.contains(&Role::AccountHolder) {
            let holders = self.members_with(&app, |r| r.contains(&Role::AccountHolder));
            if holders.len() <= 1 {
                return Err(Refusal::by_rule(
                    Rule::R14,
                    "this is the app's only Account Holder; grant ACCOUNT_HOLDER to another \
                     member before removing this one",
                ));
            }
        }
        if let Some(target) = self.users.get_mut(&user)
            && let Some(roles) = target.roles.get_mut(&app)
        {
            for r in &taken {
                roles.remove(r);
            }
            if roles.is_empty() {
                target.roles.remove(&app);
            }
        }
        Ok(Vec::new())
    }

    /// Refuses `actor` granting or removing `role` on `app` unless R14 allows it.
    pub(super) fn may_grant_role(
        &self,
        actor: &Actor,
        app: &AppId,
        role: Role,
    ) -> Result<(), Refusal> {
        let user = match actor {
            Actor::System => return Ok(()),
            Actor::User(id) => self.find_user(id)?,
        };
        let held = user.roles.get(app).into_iter().flatten();
        if user.operator || role::may_grant(held, role) {
            return Ok(());
        }
        let who = match role {
            Role::Reviewer => {
                "only an operator grants or removes the Reviewer role: Reviewers belong to the \
                 operator's organisation, not to the app's team"
            }
            Role::AccountHolder | Role::Admin => {
                "only an Account Holder of this app or an operator grants or removes this role"
            }
            Role::AppManager | Role::Developer => {
                "only an Account Holder or an Admin of this app, or an operator, grants or \
                 removes this role"
            }
        };
        Err(Refusal::denied(Rule::R14, format!("{role}: {who}")))
    }

    /// Refuses `actor` creating or revoking `target`'s API keys unless they are that user or
    /// an operator (R14).
    pub(super) fn may_hold_keys_of(&self, actor: &Actor, target: &UserId) -> Result<(), Refusal> {
        self.find_user(target)?;
        let allowed = match actor {
            Actor::System => true,
            Actor::User(id) if id == target => true,
            Actor::User(id) => self.find_user(id)?.operator,
        };
        if allowed {
            Ok(())
        } else {
            Err(Refusal::denied(
                Rule::R14,
                "a user's API keys are created and revoked only by that user or an operator",
            ))
        }
    }

    /// Whether `actor` may see `target`'s keys (never their secrets): the user, an operator,
    /// or someone who may grant every role the user holds on every app they are on.
    pub(super) fn may_see_keys_of(&self, actor: &Actor, target: &User) -> bool {
        let me = match actor {
            Actor::System => return true,
            Actor::User(id) if *id == target.id => return true,
            Actor::User(id) => match self.users.get(id) {
                Some(me) => me,
                None => return false,
            },
        };
        if me.operator {
            return true;
        }
        if target.operator || target.roles.is_empty() {
            return false;
        }
        target.roles.iter().all(|(app, roles)| {
            let mine = me.roles.get(app);
            roles
                .iter()
                .all(|r| role::may_grant(mine.into_iter().flatten(), *r))
        })
    }

    /// Refuses making `user` Account Holder of one more app past
    /// `max_apps_per_account_holder` (operators are not limited).
    pub(super) fn check_apps_held(&self, user: &User) -> Result<(), Refusal> {
        let held = user
            .roles
            .values()
            .filter(|r| r.contains(&Role::AccountHolder))
            .count();
        let max = self.limits.max_apps_per_account_holder;
        if !user.operator && held >= max {
            return Err(Refusal::by_rule(
                Rule::R14,
                format!(
                    "user {} is already Account Holder of {held} apps, the most one user may \
                     hold (quota.max_apps_per_account_holder = {max}); archive or transfer one, \
                     or ask an operator",
                    user.id
                ),
            ));
        }
        Ok(())
    }

    /// Refuses a name-like string longer than `max_name_bytes` (R14).
    pub(super) fn check_name(&self, field: &str, value: &str) -> Result<(), Refusal> {
        check_len(
            field,
            value.len(),
            self.limits.max_name_bytes,
            "max_name_bytes",
        )
    }

    /// Refuses free text longer than `max_text_bytes` in all (R14).
    pub(super) fn check_text(&self, field: &str, len: usize) -> Result<(), Refusal> {
        check_len(field, len, self.limits.max_text_bytes, "max_text_bytes")
    }

    /// The users holding a role on `app`, in id order.
    pub fn members_of<'a>(&'a self, app: &'a AppId) -> impl Iterator<Item = &'a User> {
        self.users
            .values()
            .filter(move |u| u.roles.get(app).is_some_and(|r| !r.is_empty()))
    }
}

fn check_len(field: &str, len: usize, max: usize, setting: &str) -> Result<(), Refusal> {
    if len > max {
        return Err(Refusal::invalid(
            field,
            format!("is {len} bytes long; the limit is {max} bytes (quota.{setting})"),
        ));
    }
    Ok(())
}
