//! [`TesterTokenSecret`]: the seed of the key every tester token of the cluster is signed with.
//!
//! It lives in the catalog, so every control-plane node signs with the same key, and only
//! there: edges are handed the public keys ([`Catalog::tester_token_verifier`]), which check
//! tokens but cannot make them. The leader chooses the first seed once
//! (`SetTesterTokenSecret` as Packyard itself, at bootstrap); an operator may rotate it.
//! Keys rotated out keep checking the tokens they signed until those could have expired, so a
//! rotation closes nothing; an operator who fears a key leaked retires the earlier keys with
//! the rotation (`retire_previous`), which closes every token they signed at once.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::envelope::{Actor, Timestamp};
use super::event::Event;
use super::refusal::Refusal;
use super::{Catalog, Ctx};
use crate::tester_token::{MAX_LIFETIME_SECS, PublicTokenKey, TokenSigner, TokenVerifier};

/// 32 random bytes: an Ed25519 seed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TesterTokenSecret(pub [u8; 32]);

impl fmt::Debug for TesterTokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TesterTokenSecret(…)")
    }
}

/// A key rotated out, which still checks the tokens it signed until they could have expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PreviousTokenKey {
    generation: u64,
    secret: TesterTokenSecret,
    rotated_out: Timestamp,
}

/// The most earlier keys kept, however often an operator rotates.
pub const MAX_PREVIOUS_KEYS: usize = 8;

impl Catalog {
    /// `SetTesterTokenSecret`: Packyard sets the first secret; only an operator may rotate it.
    pub(super) fn set_tester_token_secret(
        &mut self,
        ctx: &Ctx,
        secret: TesterTokenSecret,
        retire_previous: bool,
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
        let generation = self.tester_token_generation();
        if let Some(current) = self.tester_token_secret.replace(secret) {
            self.tester_token_previous.push(PreviousTokenKey {
                generation,
                secret: current,
                rotated_out: ctx.at,
            });
        }
        let oldest_live = ctx.at.0.saturating_sub(MAX_LIFETIME_SECS * 1_000);
        self.tester_token_previous
            .retain(|k| !retire_previous && k.rotated_out.0 > oldest_live);
        let excess = self
            .tester_token_previous
            .len()
            .saturating_sub(MAX_PREVIOUS_KEYS);
        self.tester_token_previous.drain(..excess);
        self.tester_token_generation = generation + 1;
        Ok(Vec::new())
    }

    /// Which key signs now: 1 for the first, one more at each rotation; 0 before any. An
    /// edge holding older keys fetches the public keys again when it hears of a newer one.
    pub fn tester_token_generation(&self) -> u64 {
        match (&self.tester_token_secret, self.tester_token_generation) {
            // A catalog from before generations were counted has its first secret.
            (Some(_), 0) => 1,
            (_, g) => g,
        }
    }

    /// The key tester tokens are signed with, once a secret is set: for the control plane.
    pub fn tester_token_signer(&self) -> Option<TokenSigner> {
        let secret = self.tester_token_secret.as_ref()?;
        Some(TokenSigner::from_seed(
            self.tester_token_generation(),
            &secret.0,
        ))
    }

    /// The public keys of the key in force and of the earlier ones still checking tokens,
    /// once a secret is set: what edges are handed, so they check tokens without asking the
    /// control plane and cannot make one.
    pub fn tester_token_verifier(&self) -> Option<TokenVerifier> {
        let current = self.tester_token_signer()?.public_key();
        let keys: Vec<PublicTokenKey> = self
            .tester_token_previous
            .iter()
            .map(|k| TokenSigner::from_seed(k.generation, &k.secret.0).public_key())
            .chain([current])
            .collect();
        Some(TokenVerifier::new(&keys))
    }
}
