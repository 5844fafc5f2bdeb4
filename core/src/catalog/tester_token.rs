//! [`TesterToken`]: the record of a tester token the control plane signed, by which it is
//! listed and revoked.
//!
//! Issuing goes through the log like every write, so the right to issue (rule R8) and the
//! API key that asked are checked again when the entry is applied: a key revoked on one node
//! mints nothing on another that has not heard of it yet. The token itself is signed after
//! the record commits and never stored. A revoked token reaches every edge on the watch
//! stream and is refused there until it would have expired anyway.

use serde::{Deserialize, Serialize};

use super::envelope::{Actor, Timestamp};
use super::event::Event;
use super::ids::{AppId, TesterTokenId};
use super::refusal::{Refusal, Rule};
use super::resource::ResourceType;
use super::{Catalog, Ctx};
use crate::role::Action;
use crate::tester_token::{BetaChannel, Claims, MAX_LIFETIME_SECS};

/// A tester token issued, as its app's members see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TesterToken {
    /// Its id, the `jti` it carries.
    pub id: TesterTokenId,
    /// The app it opens.
    pub app: AppId,
    /// The beta channel it opens.
    pub channel: BetaChannel,
    /// Who issued it.
    pub issued_by: Actor,
    /// When.
    pub issued_at: Timestamp,
    /// When it stops opening anything.
    pub expires_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

impl TesterToken {
    /// The claims the token is signed with.
    pub fn claims(&self) -> Claims {
        Claims {
            jti: self.id.to_string(),
            app: self.app.to_string(),
            channel: self.channel,
            iat: self.issued_at.0 / 1_000,
            exp: self.expires_at.0 / 1_000,
        }
    }

    /// Whether it still opens its channel at `now` (not expired, not revoked).
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// `IssueTesterToken`: record a token for `app`'s `channel`, living `lifetime_secs` from the
/// time the leader accepts the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueTesterToken {
    /// The new token's id.
    pub id: TesterTokenId,
    /// The app.
    pub app: AppId,
    /// The channel.
    pub channel: BetaChannel,
    /// How long it lives, 1 s to 90 days.
    pub lifetime_secs: u64,
}

/// The action issuing (and revoking) a token of `channel` needs (rule R8): any member tests
/// internal builds; external testers are a manager's to manage.
pub fn issue_action(channel: BetaChannel) -> Action {
    match channel {
        BetaChannel::Internal => Action::IssueInternalTesterTokens,
        BetaChannel::External => Action::IssueExternalTesterTokens,
    }
}

impl Catalog {
    pub(super) fn issue_tester_token(
        &mut self,
        ctx: &Ctx,
        new: IssueTesterToken,
    ) -> Result<Vec<Event>, Refusal> {
        self.find_app(&new.app)?;
        self.authorize(&ctx.actor, &new.app, issue_action(new.channel))?;
        self.unused(&self.tester_tokens, &new.id, ResourceType::TesterTokens)?;
        if new.lifetime_secs == 0 || new.lifetime_secs > MAX_LIFETIME_SECS {
            return Err(Refusal::invalid(
                "expiresInSeconds",
                format!("must be 1 to {MAX_LIFETIME_SECS} (90 days)"),
            ));
        }
        // Expired tokens are forgotten: they open nothing, revoked or not.
        self.tester_tokens.retain(|_, t| ctx.at < t.expires_at);
        let limit = self.limits.max_tester_tokens_per_app;
        if self.tester_tokens_of(&new.app).count() >= limit {
            return Err(Refusal::by_rule(
                Rule::R14,
                format!(
                    "this app already has {limit} tester tokens that have not expired, the \
                     limit (quota.max_tester_tokens_per_app); issue tokens that live shorter"
                ),
            ));
        }
        let token = TesterToken {
            id: new.id.clone(),
            app: new.app,
            channel: new.channel,
            issued_by: ctx.actor.clone(),
            issued_at: ctx.at,
            expires_at: Timestamp(ctx.at.0.saturating_add(new.lifetime_secs * 1_000)),
            revoked_at: None,
        };
        self.tester_tokens.insert(new.id, token);
        Ok(Vec::new())
    }

    /// `RevokeTesterToken`: needs the right to issue a token of its channel.
    pub(super) fn revoke_tester_token(
        &mut self,
        ctx: &Ctx,
        id: &TesterTokenId,
    ) -> Result<Vec<Event>, Refusal> {
        let token = self
            .tester_tokens
            .get(id)
            .ok_or_else(|| Refusal::not_found(ResourceType::TesterTokens, id))?;
        self.authorize(&ctx.actor, &token.app, issue_action(token.channel))?;
        if let Some(token) = self.tester_tokens.get_mut(id) {
            token.revoked_at.get_or_insert(ctx.at);
        }
        Ok(Vec::new())
    }

    /// A token issued, if it has not been forgotten (expired and swept).
    pub fn tester_token(&self, id: &TesterTokenId) -> Option<&TesterToken> {
        self.tester_tokens.get(id)
    }

    /// The tokens of `app` the catalog still holds, oldest id first.
    pub fn tester_tokens_of<'a>(&'a self, app: &'a AppId) -> impl Iterator<Item = &'a TesterToken> {
        self.tester_tokens.values().filter(move |t| &t.app == app)
    }

    /// The app a tester token command concerns, for the serving view it may change.
    pub(super) fn tester_token_app(&self, id: &TesterTokenId) -> Option<AppId> {
        self.tester_tokens.get(id).map(|t| t.app.clone())
    }
}
