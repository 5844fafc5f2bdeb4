//! [`User`]s, their [`ApiKey`]s, and the commands that manage them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::command::{CreateApiKey, CreateUser, SetNotifications};
use super::envelope::{Actor, Timestamp};
use super::event::Event;
use super::ids::{ApiKeyId, AppId, UserId};
use super::refusal::{Refusal, Rule};
use super::resource::ResourceType;
use super::{Catalog, Ctx};
use crate::Blake3Hash;
use crate::role::{Action, Role};

/// A person (or a script acting for one) who holds roles on apps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Email address, unique among users.
    pub email: String,
    /// Roles per app.
    pub roles: BTreeMap<AppId, BTreeSet<Role>>,
    /// An operator may do everything on every app except review, and manage every user.
    pub operator: bool,
    /// Whether this user wants to hear about archived packs (rule R7).
    pub notifications: bool,
    /// When the user was created.
    pub created_at: Timestamp,
}

/// An API key, stored as the BLAKE3 hash of the secret only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Its id.
    pub id: ApiKeyId,
    /// The user it authenticates.
    pub user: UserId,
    /// The hash of the secret, computed by the API layer.
    pub key_hash: Blake3Hash,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// When it last authenticated a request, to within [`KEY_USE_RESOLUTION_MS`]; none if
    /// never. Defaults let older snapshots load.
    #[serde(default)]
    pub last_used_at: Option<Timestamp>,
}

/// How finely a key's last use is recorded, in milliseconds: a key is touched (one small
/// log entry) at most once per this long, however many requests it authenticates.
pub const KEY_USE_RESOLUTION_MS: u64 = 60_000;

impl ApiKey {
    /// Whether a use at `now` should be recorded: the key never was, or its recorded use is
    /// [`KEY_USE_RESOLUTION_MS`] or more older.
    pub fn use_is_news(&self, now: Timestamp) -> bool {
        self.last_used_at
            .is_none_or(|last| now.0.saturating_sub(last.0) >= KEY_USE_RESOLUTION_MS)
    }
}

impl Catalog {
    /// `CreateUser`. Operators (and Packyard itself, for the first operator) create any user.
    /// Otherwise the actor must be allowed to grant every role the new user gets (rule R14:
    /// only from above, `REVIEWER` by operators only). A user with no role at all, or an
    /// operator, needs an operator. Notifications start enabled.
    pub(super) fn create_user(
        &mut self,
        ctx: &Ctx,
        new: CreateUser,
    ) -> Result<Vec<Event>, Refusal> {
        if new.operator || new.roles.is_empty() {
            self.require_operator(&ctx.actor)?;
        }
        for (app, role) in &new.roles {
            self.find_app(app)?;
            self.may_grant_role(&ctx.actor, app, *role)?;
        }
        self.unused(&self.users, &new.id, ResourceType::Users)?;
        if new.name.trim().is_empty() {
            return Err(Refusal::invalid("name", "is empty; give the user's name"));
        }
        self.check_name("name", &new.name)?;
        self.check_name("email", &new.email)?;
        if !new.email.contains('@') {
            return Err(Refusal::invalid(
                "email",
                format!("{:?} is not an email address", new.email),
            ));
        }
        if self.users.values().any(|u| u.email == new.email) {
            // Which user holds it is not said: it may be another app's.
            return Err(Refusal::conflict(format!(
                "email {} already belongs to a user; each user has their own address",
                new.email
            )));
        }
        let max = self.limits.max_users;
        if self.users.len() >= max {
            return Err(Refusal::by_rule(
                Rule::R14,
                format!(
                    "the cluster already holds {max} users, its limit (quota.max_users); ask                      an operator"
                ),
            ));
        }
        let mut roles: BTreeMap<AppId, BTreeSet<Role>> = BTreeMap::new();
        for (app, role) in new.roles {
            roles.entry(app).or_default().insert(role);
        }
        let user = User {
            id: new.id.clone(),
            name: new.name,
            email: new.email,
            roles,
            operator: new.operator,
            notifications: true,
            created_at: ctx.at,
        };
        self.users.insert(new.id, user);
        Ok(Vec::new())
    }

    /// `SetNotifications`: a user turns archive notifications on or off for themselves; an
    /// operator may do it for anyone.
    pub(super) fn set_notifications(
        &mut self,
        ctx: &Ctx,
        set: SetNotifications,
    ) -> Result<Vec<Event>, Refusal> {
        self.find_user(&set.user)?;
        if ctx.actor != Actor::User(set.user.clone()) {
            self.require_operator(&ctx.actor)?;
        }
        if let Some(u) = self.users.get_mut(&set.user) {
            u.notifications = set.enabled;
        }
        Ok(Vec::new())
    }

    /// `CreateApiKey`: a key for `new.user`, allowed to that user and to operators only
    /// (rule R14). Each secret hash is used once, ever: a revoked key's secret never opens
    /// anything again.
    pub(super) fn create_api_key(
        &mut self,
        ctx: &Ctx,
        new: CreateApiKey,
    ) -> Result<Vec<Event>, Refusal> {
        let key = ApiKey {
            id: new.id,
            user: new.user,
            key_hash: new.key_hash,
            created_at: ctx.at,
            revoked_at: None,
            last_used_at: None,
        };
        self.may_hold_keys_of(&ctx.actor, &key.user)?;
        self.unused(&self.api_keys, &key.id, ResourceType::ApiKeys)?;
        if let Some(old) = self.api_keys.values().find(|k| k.key_hash == key.key_hash)
            && old.revoked_at.is_some()
        {
            return Err(Refusal::conflict(
                "this key was revoked; a revoked key is never registered again, generate a new one",
            ));
        }
        if self.key_index.contains_key(&key.key_hash) {
            return Err(Refusal::conflict(
                "this key's hash is already registered; generate a new key",
            ));
        }
        self.key_index.insert(key.key_hash, key.id.clone());
        self.api_keys.insert(key.id.clone(), key);
        Ok(Vec::new())
    }

    /// `RevokeApiKey`: the key stops authenticating, for good. Allowed to the key's user and
    /// to operators only (rule R14).
    pub(super) fn revoke_api_key(
        &mut self,
        ctx: &Ctx,
        id: &ApiKeyId,
    ) -> Result<Vec<Event>, Refusal> {
        let key = self
            .api_keys
            .get(id)
            .ok_or_else(|| Refusal::not_found(ResourceType::ApiKeys, id))?;
        self.may_hold_keys_of(&ctx.actor, &key.user)?;
        if key.revoked_at.is_some() {
            return Err(Refusal::conflict(format!(
                "API key {id} is already revoked"
            )));
        }
        let hash = key.key_hash;
        self.key_index.remove(&hash);
        if let Some(key) = self.api_keys.get_mut(id) {
            key.revoked_at = Some(ctx.at);
        }
        Ok(Vec::new())
    }

    /// `TouchApiKey`: Packyard records that a live key authenticated a request at the
    /// envelope's time. Only Packyard itself touches keys; an older time changes nothing.
    pub(super) fn touch_api_key(
        &mut self,
        ctx: &Ctx,
        id: &ApiKeyId,
    ) -> Result<Vec<Event>, Refusal> {
        if ctx.actor != Actor::System {
            return Err(Refusal::forbidden(Action::Report));
        }
        let key = self
            .api_keys
            .get_mut(id)
            .ok_or_else(|| Refusal::not_found(ResourceType::ApiKeys, id))?;
        if key.revoked_at.is_some() {
            return Err(Refusal::conflict(format!("API key {id} is revoked")));
        }
        if key.last_used_at.is_none_or(|last| last < ctx.at) {
            key.last_used_at = Some(ctx.at);
        }
        Ok(Vec::new())
    }

    /// Refuses a command whose key is revoked, unknown, or another user's.
    pub(super) fn check_key(&self, actor: &Actor, key: &ApiKeyId) -> Result<(), Refusal> {
        let live = self
            .api_keys
            .get(key)
            .filter(|k| k.revoked_at.is_none() && Actor::User(k.user.clone()) == *actor);
        match live {
            Some(_) => Ok(()),
            None => Err(Refusal::Unauthenticated {
                detail: format!(
                    "API key {key} was revoked (or is not the actor's) before this command was \
                     applied; create a new key with another of yours, or ask an operator"
                ),
            }),
        }
    }

    /// The keys `actor` may see (never their secrets, which the catalog does not hold): an
    /// operator every key; a user their own, and those of the users whose every role they may
    /// grant (rule R14), so nobody below an Account Holder sees an Account Holder's keys.
    pub fn api_keys_visible_to(&self, actor: &Actor) -> Vec<&ApiKey> {
        self.api_keys
            .values()
            .filter(|k| {
                self.users
                    .get(&k.user)
                    .is_some_and(|u| self.may_see_keys_of(actor, u))
            })
            .collect()
    }

    /// Refuses anyone but an operator or Packyard itself.
    pub(super) fn require_operator(&self, actor: &Actor) -> Result<(), Refusal> {
        match actor {
            Actor::System => Ok(()),
            Actor::User(id) if self.find_user(id)?.operator => Ok(()),
            Actor::User(_) => Err(Refusal::forbidden(Action::Operate)),
        }
    }

    pub(super) fn find_user(&self, id: &UserId) -> Result<&User, Refusal> {
        self.users
            .get(id)
            .ok_or_else(|| Refusal::not_found(ResourceType::Users, id))
    }
}
