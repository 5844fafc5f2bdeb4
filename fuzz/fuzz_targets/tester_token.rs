//! A tester token from a device's `Authorization` header or `token` query parameter.
//!
//! The input is read twice. As a token presented to an edge: nobody without the key makes
//! one that verifies, so whatever verifies is exactly what the key signs for its claims, and
//! another key refuses it (the valid seeds are signed with `key`, so every mutation of them
//! must fail). As claims (channel, expiry, app): the signed token verifies for
//! its app and channel until it expires and for nothing else, and changing any one byte of
//! it, or dropping one, makes it refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard_core::tester_token::{BetaChannel, Claims, TokenError, TokenKey};

/// What the seeds in `corpus/tester_token` are signed for.
const APP: &str = "app-1";
const NOW: u64 = 1_700_000_000;
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";

fuzz_target!(|data: &[u8]| {
    let key = TokenKey::new(&[7; 32]).expect("32 bytes is long enough");
    let other = TokenKey::new(&[8; 32]).expect("32 bytes is long enough");
    if let Ok(token) = std::str::from_utf8(data) {
        presented(&key, &other, token);
    }
    signed(&key, &other, data);
});

fn presented(key: &TokenKey, other: &TokenKey, token: &str) {
    for channel in [BetaChannel::Internal, BetaChannel::External] {
        if let Ok(claims) = key.verify(token, APP, channel, NOW) {
            assert_eq!(
                key.sign(&claims),
                token,
                "a token the key did not sign verifies"
            );
            assert!(claims.app == APP && claims.channel == channel && claims.exp > NOW);
            assert_eq!(
                other.verify(token, APP, channel, 0),
                Err(TokenError::BadSignature),
                "another key accepts it"
            );
        }
    }
}

fn signed(key: &TokenKey, other: &TokenKey, data: &[u8]) {
    // Byte 0: the channel and which bytes to alter; bytes 1..9: the expiry; the rest: the app.
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
    let claims = Claims {
        app: String::from_utf8_lossy(app).into_owned(),
        channel,
        exp: u64::from_le_bytes(*exp),
    };
    let token = key.sign(&claims);
    let (app, exp) = (claims.app.as_str(), claims.exp);
    assert!(token.starts_with("v1.") && token.bytes().all(|b| ALPHABET.contains(&b)));
    assert_eq!(
        key.verify(&token, app, channel, exp),
        Err(TokenError::Expired)
    );
    assert_eq!(
        other.verify(&token, app, channel, 0),
        Err(TokenError::BadSignature)
    );
    let Some(before) = exp.checked_sub(1) else {
        return;
    };
    assert_eq!(
        key.verify(&token, app, channel, before).as_ref(),
        Ok(&claims)
    );
    assert_eq!(key.verify(&token, app, channel, 0).as_ref(), Ok(&claims));
    let wrong_app = format!("{app}x");
    assert_eq!(
        key.verify(&token, &wrong_app, channel, 0),
        Err(TokenError::WrongApp)
    );
    let other_channel = match channel {
        BetaChannel::Internal => BetaChannel::External,
        BetaChannel::External => BetaChannel::Internal,
    };
    assert_eq!(
        key.verify(&token, app, other_channel, 0),
        Err(TokenError::WrongChannel(channel))
    );

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
            key.verify(&altered, app, channel, 0).is_err(),
            "{token} changed at byte {at} to {altered} still verifies"
        );
        let mut dropped = bytes.to_vec();
        dropped.remove(at);
        let dropped = String::from_utf8(dropped).expect("ASCII");
        assert!(
            key.verify(&dropped, app, channel, 0).is_err(),
            "{token} without byte {at} still verifies"
        );
    }
}
