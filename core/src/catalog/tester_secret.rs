//! [`TesterTokenSecret`]: the secret every tester token of the cluster is signed with.
//!
//! It lives in the catalog, so every control-plane node signs with the same secret and an
//! edge learns it when it registers: operators configure nothing. The leader chooses it once
//! (`SetTesterTokenSecret` as Packyard itself, at bootstrap); an operator may replace it,
//! which invalidates every token issued before.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::envelope::Actor;
use super::event::Event;
use super::refusal::Refusal;
use super::{Catalog, Ctx};
use crate::tester_token::TokenKey;

/// 32 random bytes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TesterTokenSecret(pub [u8; 32]);

impl fmt::Debug for TesterTokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TesterTokenSecret(…)")
    }
}

impl Catalog {
    /// `SetTesterTokenSecret`: Packyard sets the first secret; only an operator may replace it.
    pub(super) fn set_tester_token_secret(
        &mut self,
        ctx: &Ctx,
        secret: TesterTokenSecret,
    ) -> Result<Vec<Event>, Refusal> {
        match &ctx.actor {
            Actor::System if self.tester_token_secret.is_none() => {}
            Actor::System => {
                return Err(Refusal::conflict(
                    "the tester token secret is already set; only an operator may replace it",
                ));
            }
            Actor::User(user) => {
                if !self.find_user(user)?.operator {
                    return Err(Refusal::Forbidden {
                        action: crate::role::Action::Operate,
                        needed: Vec::new(),
                    });
                }
            }
        }
        self.tester_token_secret = Some(secret);
        self.tester_token_generation += 1;
        Ok(Vec::new())
    }

    /// Which secret is in force: 1 for the first, one more at each rotation; 0 before any.
    /// An edge holding an older generation's secret must fetch the new one, and refuses beta
    /// requests until it has (old tokens stop opening anything at once).
    pub fn tester_token_generation(&self) -> u64 {
        match (&self.tester_token_secret, self.tester_token_generation) {
            // A catalog from before generations were counted has its first secret.
            (Some(_), 0) => 1,
            (_, g) => g,
        }
    }

    /// The secret tester tokens are signed with, once set: what edges are handed when they
    /// register, so they check tokens without asking the control plane.
    pub fn tester_token_secret(&self) -> Option<&TesterTokenSecret> {
        self.tester_token_secret.as_ref()
    }

    /// The key tester tokens are signed and checked with, once a secret is set.
    pub fn tester_token_key(&self) -> Option<TokenKey> {
        let secret = self.tester_token_secret.as_ref()?;
        TokenKey::new(&secret.0).ok()
    }
}
