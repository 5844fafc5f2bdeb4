//! A tester token from a device's `Authorization` header or `token` query parameter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard_core::tester_token::{BetaChannel, TokenKey};

fuzz_target!(|data: &[u8]| {
    let key = TokenKey::new(&[7; 32]).expect("32 bytes is long enough");
    if let Ok(token) = std::str::from_utf8(data) {
        // Nobody without the key can produce a token that verifies.
        assert!(key.verify(token, "app", BetaChannel::External, 0).is_err());
    }
});
