//! Who may fetch what from an edge, and who may keep a copy of the answer (SPEC §6).
//!
//! A device URL names a channel (`/apps/{app}/{channel}/{pack}` and the channel's manifest:
//! the version behind it moves when the channel does) or a version
//! (`/apps/{app}/packs/{pack}/versions/{n}`: the same bytes forever, rule R12). The store
//! channel is public; a beta channel needs a tester token for it. A version's URL is public
//! while the store serves it; otherwise it opens to a tester whose token's channel serves it,
//! whichever beta channel that is.
//!
//! The edge verifies tokens and knows what each channel serves; these functions decide.

use crate::catalog::Channel;
use crate::tester_token::BetaChannel;

/// What a device URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Url {
    /// A channel, or its manifest: the answer changes when the channel moves.
    Channel,
    /// One version by its immutable URL: the same bytes forever (R12).
    Version,
}

/// Who an answer is for, and so who may keep a copy of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anyone: shared caches may keep it.
    Everyone,
    /// The tester who holds the token: only that device's own cache may keep it.
    Tester,
}

impl Audience {
    /// Who a channel's answers are for: everyone for the store, testers for a beta channel.
    pub fn of(channel: Channel) -> Self {
        match channel.beta() {
            None => Self::Everyone,
            Some(_) => Self::Tester,
        }
    }

    /// The `Cache-Control` of an answer for this audience at a URL of this kind: a version
    /// is kept for a year without asking again; a channel is asked again every time.
    pub fn cache_control(self, url: Url) -> &'static str {
        match (self, url) {
            (Self::Everyone, Url::Version) => "public, max-age=31536000, immutable",
            (Self::Tester, Url::Version) => "private, max-age=31536000, immutable",
            (Self::Everyone, Url::Channel) => "public, no-cache",
            (Self::Tester, Url::Channel) => "private, no-cache",
        }
    }
}

/// Why a version's immutable URL was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionRefusal<E> {
    /// The version is not public and the request's tester token proves nothing (missing,
    /// malformed, expired, another app's): the verifier's own error.
    Token(E),
    /// A good token, but the channel it opens does not serve this version.
    NotServed {
        /// The channel the token opens.
        opened: Channel,
    },
}

/// Who may fetch a version by its immutable URL. `public`: the store serves it (or a rollout
/// moves devices to it). `opened`: verifies the request's tester token and says which beta
/// channel it opens; asked only when the version is not public. `serves`: whether a channel
/// serves the version now. An external tester's token opens the approved version, never one
/// only in internal testing; an internal tester's, the newest processed one.
pub fn version_audience<E>(
    public: bool,
    opened: impl FnOnce() -> Result<BetaChannel, E>,
    serves: impl FnOnce(Channel) -> bool,
) -> Result<Audience, VersionRefusal<E>> {
    if public {
        return Ok(Audience::Everyone);
    }
    let opened = Channel::from(opened().map_err(VersionRefusal::Token)?);
    if serves(opened) {
        Ok(Audience::Tester)
    } else {
        Err(VersionRefusal::NotServed { opened })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r12_a_public_version_url_needs_no_token_and_any_cache_may_keep_it_for_a_year() {
        let audience = version_audience(
            true,
            || -> Result<BetaChannel, ()> { panic!("a public version must not ask for a token") },
            |_| panic!("a public version must not ask what a channel serves"),
        );
        assert_eq!(audience, Ok(Audience::Everyone));
        assert_eq!(
            Audience::Everyone.cache_control(Url::Version),
            "public, max-age=31536000, immutable"
        );
    }

    #[test]
    fn a_pre_release_version_opens_to_a_token_of_the_channel_that_serves_it_whichever_it_is() {
        for beta in [BetaChannel::Internal, BetaChannel::External] {
            let serving = Channel::from(beta);
            let audience = version_audience(false, || Ok::<_, ()>(beta), |c| c == serving);
            assert_eq!(audience, Ok(Audience::Tester), "{beta:?}");
        }
        assert_eq!(
            Audience::Tester.cache_control(Url::Version),
            "private, max-age=31536000, immutable"
        );
    }

    #[test]
    fn a_token_of_the_other_beta_channel_is_refused_naming_the_channel_it_opens() {
        let audience = version_audience(
            false,
            || Ok::<_, ()>(BetaChannel::External),
            |c| c == Channel::Internal,
        );
        assert_eq!(
            audience,
            Err(VersionRefusal::NotServed {
                opened: Channel::External
            })
        );
    }

    #[test]
    fn a_token_that_proves_nothing_is_the_verifiers_refusal() {
        let audience = version_audience(false, || Err("expired"), |_| true);
        assert_eq!(audience, Err(VersionRefusal::Token("expired")));
    }

    #[test]
    fn channel_answers_are_revalidated_every_time_and_beta_ones_kept_private() {
        assert_eq!(Audience::of(Channel::Store), Audience::Everyone);
        assert_eq!(Audience::of(Channel::Internal), Audience::Tester);
        assert_eq!(Audience::of(Channel::External), Audience::Tester);
        assert_eq!(
            Audience::of(Channel::Store).cache_control(Url::Channel),
            "public, no-cache"
        );
        assert_eq!(
            Audience::of(Channel::External).cache_control(Url::Channel),
            "private, no-cache"
        );
    }
}
