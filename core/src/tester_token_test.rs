use super::*;

#[test]
fn a_token_lives_a_week_unless_told_and_never_more_than_ninety_days() {
    let week = Claims::issue("tt-1", "app-1", BetaChannel::Internal, 1_000, None).unwrap();
    assert_eq!((week.iat, week.exp), (1_000, 1_000 + DEFAULT_LIFETIME_SECS));
    let max = Claims::issue(
        "tt-1",
        "app-1",
        BetaChannel::External,
        1_000,
        Some(MAX_LIFETIME_SECS),
    );
    assert_eq!(max.unwrap().exp, 1_000 + MAX_LIFETIME_SECS);
    for wrong in [0, MAX_LIFETIME_SECS + 1] {
        assert_eq!(
            Claims::issue("tt-1", "app-1", BetaChannel::Internal, 1_000, Some(wrong)),
            Err(LifetimeError)
        );
    }
}

fn signer(generation: u64, fill: u8) -> TokenSigner {
    TokenSigner::from_seed(generation, &[fill; 32])
}

fn verifier(signers: &[&TokenSigner]) -> TokenVerifier {
    let keys: Vec<_> = signers.iter().map(|s| s.public_key()).collect();
    TokenVerifier::new(&keys)
}

const NOW: u64 = 1_767_225_600; // 2026-01-01

fn claims() -> Claims {
    Claims::issue("tt-1", "app-1", BetaChannel::External, NOW, Some(3_600)).unwrap()
}

#[test]
fn a_token_is_a_paseto_v4_public_token_with_registered_claims_and_a_key_id() {
    use base64::Engine as _;
    let token = signer(3, 1).sign(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(&parts[..2], ["v4", "public"], "{token}");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let body = b64.decode(parts[2]).unwrap();
    // The payload, then a 64-byte Ed25519 signature.
    let payload: serde_json::Value = serde_json::from_slice(&body[..body.len() - 64]).unwrap();
    assert_eq!(payload["jti"], "tt-1");
    assert_eq!(payload["iat"], "2026-01-01T00:00:00Z");
    assert_eq!(payload["exp"], "2026-01-01T01:00:00Z");
    assert_eq!(payload["channel"], "EXTERNAL");
    assert_eq!(b64.decode(parts[3]).unwrap(), br#"{"kid":"3"}"#);
    assert!(!token.contains(['+', '/', '=']), "URL-safe: {token}");
    assert!(signer(3, 1).public_key().paserk().starts_with("k4.public."));
    assert_eq!(unverified_id(&token).as_deref(), Some("tt-1"));
    assert_eq!(unverified_id("v4.public.junk"), None);
}

#[test]
fn a_signed_token_opens_its_app_and_channel_until_it_expires() {
    let s = signer(1, 1);
    let token = s.sign(&claims());
    let v = verifier(&[&s]);
    assert_eq!(
        v.verify(&token, "app-1", BetaChannel::External, NOW + 3_599),
        Ok(claims())
    );
    assert_eq!(
        v.verify(&token, "app-1", BetaChannel::External, NOW + 3_600),
        Err(TokenError::Expired)
    );
}

#[test]
fn another_app_or_channel_is_refused() {
    let s = signer(1, 1);
    let token = s.sign(&claims());
    let v = verifier(&[&s]);
    assert_eq!(
        v.verify(&token, "app-2", BetaChannel::External, NOW),
        Err(TokenError::WrongApp)
    );
    assert_eq!(
        v.verify(&token, "app-1", BetaChannel::Internal, NOW),
        Err(TokenError::WrongChannel(BetaChannel::External))
    );
}

#[test]
fn a_holder_of_public_keys_cannot_sign_and_forged_or_altered_tokens_are_refused() {
    let real = signer(1, 1);
    let v = verifier(&[&real]);
    // Another key claiming to be generation 1: the signature does not match.
    let forged = signer(1, 2).sign(&claims());
    assert_eq!(
        v.verify(&forged, "app-1", BetaChannel::External, NOW),
        Err(TokenError::BadSignature)
    );
    // Someone extends their own token: the claims change, the signature no longer fits.
    let token = real.sign(&claims());
    let longer = Claims {
        exp: NOW + MAX_LIFETIME_SECS,
        ..claims()
    };
    let other = real.sign(&longer);
    let spliced = format!(
        "v4.public.{}.{}",
        other.split('.').nth(2).unwrap(),
        token.split('.').nth(3).unwrap()
    );
    assert_eq!(
        spliced, other,
        "same footer: the splice is the real longer token"
    );
    let body_of = |t: &str| t.split('.').nth(2).unwrap().to_owned();
    let (a, b) = (body_of(&token), body_of(&other));
    // The longer claims with the shorter token's signature.
    let mixed = format!(
        "v4.public.{}{}.{}",
        &b[..b.len() - 86],
        &a[a.len() - 86..],
        token.split('.').nth(3).unwrap()
    );
    assert!(
        v.verify(&mixed, "app-1", BetaChannel::External, NOW)
            .is_err()
    );
}

#[test]
fn keys_of_other_generations_are_told_apart() {
    let (old, new) = (signer(1, 1), signer(2, 2));
    let both = verifier(&[&old, &new]);
    let old_token = old.sign(&claims());
    let new_token = new.sign(&claims());
    for token in [&old_token, &new_token] {
        assert!(
            both.verify(token, "app-1", BetaChannel::External, NOW)
                .is_ok()
        );
    }
    let only_old = verifier(&[&old]);
    assert_eq!(only_old.newest_generation(), 1);
    assert_eq!(
        only_old.verify(&new_token, "app-1", BetaChannel::External, NOW),
        Err(TokenError::UnknownKey(2))
    );
    let round_trip = TokenVerifier::from_bytes(&both.to_bytes()).unwrap();
    assert_eq!(round_trip.keys(), both.keys());
    assert_eq!(TokenVerifier::from_bytes(&[1, 2, 3]), None);
}

#[test]
fn an_edge_caps_the_lifetime_it_accepts() {
    let long = Claims::issue("tt-1", "app-1", BetaChannel::Internal, NOW, Some(86_400)).unwrap();
    assert_eq!(
        long.admit("app-1", NOW, 3_600),
        Err(TokenError::TooLong {
            lifetime: 86_400,
            max: 3_600
        })
    );
    assert_eq!(long.admit("app-1", NOW, 86_400), Ok(()));
}

#[test]
fn junk_is_malformed_not_a_panic() {
    let v = verifier(&[&signer(1, 1)]);
    let long = format!("v4.public.{}", "A".repeat(MAX_TOKEN_LEN));
    for junk in [
        "",
        ".",
        "v4.public.",
        "v4.public..",
        "v1.abc.def",
        "v4.public.!!!",
        "v4.public.AAAA.e30",
        "no dots at all",
        &long,
    ] {
        assert_eq!(
            v.verify(junk, "app-1", BetaChannel::External, NOW),
            Err(TokenError::Malformed),
            "{junk:?}"
        );
    }
}
