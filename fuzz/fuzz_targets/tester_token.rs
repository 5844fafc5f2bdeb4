//! A tester token from a device's `Authorization` header or `token` query parameter.
//!
//! The input is read twice. As a token presented to an edge: nobody without the signing key
//! makes one that verifies, so whatever verifies is exactly what the key signs for its claims
//! (Ed25519 signatures are deterministic), and a verifier holding another key under the same
//! generation refuses it. As claims (id, channel, expiry, app): the signed token verifies for
//! its app and channel until it expires and for nothing else, and changing any one character
//! of it, or dropping one, makes it refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard_core::tester_token::{
    BetaChannel, Claims, MAX_LIFETIME_SECS, TokenSigner, TokenVerifier,
};

/// What the seeds in `corpus/tester_token` are signed for.
const APP: &str = "app-1";
const NOW: u64 = 1_700_000_000;
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";

fuzz_target!(|data: &[u8]| {
    let key = TokenSigner::from_seed(1, &[7; 32]);
    let other = TokenVerifier::new(&[TokenSigner::from_seed(1, &[8; 32]).public_key()]);
    let verifier = TokenVerifier::new(&[key.public_key()]);
    if let Ok(token) = std::str::from_utf8(data) {
        presented(&key, &verifier, &other, token);
    }
    signed(&key, &verifier, &other, data);
});

fn presented(key: &TokenSigner, verifier: &TokenVerifier, other: &TokenVerifier, token: &str) {
    let Ok(claims) = verifier.verify_signature(token) else {
        return;
    };
    assert_eq!(
        key.sign(&claims),
        token,
        "a token the key did not sign verifies"
    );
    assert!(
        other.verify_signature(token).is_err(),
        "another key accepts it"
    );
    for channel in [BetaChannel::Internal, BetaChannel::External] {
        if verifier.verify(token, APP, channel, NOW).is_ok() {
            assert!(claims.app == APP && claims.channel == channel && claims.exp > NOW);
        }
    }
}

fn signed(key: &TokenSigner, verifier: &TokenVerifier, other: &TokenVerifier, data: &[u8]) {
    // Byte 0: the channel and which characters to alter; bytes 1..9: the expiry; the rest:
    // the app.
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Some((exp, app)) = rest.split_first_chunk::<8>() else {
        return;
    };
    let channel = if pick & 1 == 0 {
        BetaChannel::Internal
    } else {
        BetaChannel::External
    };
    // Dates the token can carry (RFC 3339 years up to 9999), issued an hour before expiry.
    let exp = u64::from_le_bytes(*exp) % 253_402_300_799;
    let Some(iat) = exp.checked_sub(3_600) else {
        return;
    };
    let claims = Claims {
        jti: "tt-fuzz".into(),
        app: String::from_utf8_lossy(app).into_owned(),
        channel,
        iat,
        exp,
    };
    let token = key.sign(&claims);
    let app = claims.app.as_str();
    if token.len() > packyard_core::tester_token::MAX_TOKEN_LEN {
        return;
    }
    assert!(token.starts_with("v4.public.") && token.bytes().all(|b| ALPHABET.contains(&b)));
    assert_eq!(verifier.verify_signature(&token).as_ref(), Ok(&claims));
    assert!(
        verifier.verify(&token, app, channel, exp).is_err(),
        "expired"
    );
    assert!(other.verify_signature(&token).is_err());
    assert!(verifier.verify(&token, app, channel, iat).is_ok());
    let wrong_app = format!("{app}x");
    assert!(verifier.verify(&token, &wrong_app, channel, iat).is_err());
    let other_channel = match channel {
        BetaChannel::Internal => BetaChannel::External,
        BetaChannel::External => BetaChannel::Internal,
    };
    assert!(verifier.verify(&token, app, other_channel, iat).is_err());
    assert!(claims.admit(app, iat, MAX_LIFETIME_SECS).is_ok());

    // Four positions spread over the token, each changed to another character of the token
    // alphabet (so most changes still look like a token), and each dropped.
    let bytes = token.as_bytes();
    for k in 0..4 {
        let at = (usize::from(pick >> 1) + k * bytes.len() / 4) % bytes.len();
        let was = ALPHABET.iter().position(|b| *b == bytes[at]).unwrap_or(0);
        let mut altered = bytes.to_vec();
        altered[at] = ALPHABET[(was + 1 + usize::from(pick) % 63) % ALPHABET.len()];
        let altered = String::from_utf8(altered).expect("ASCII");
        assert!(
            verifier.verify_signature(&altered).is_err(),
            "{token} changed at byte {at} to {altered} still verifies"
        );
        let mut dropped = bytes.to_vec();
        dropped.remove(at);
        let dropped = String::from_utf8(dropped).expect("ASCII");
        assert!(
            verifier.verify_signature(&dropped).is_err(),
            "{token} without byte {at} still verifies"
        );
    }
}
