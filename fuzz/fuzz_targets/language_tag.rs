//! A device's `lang` query parameter and a manifest's `language`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard_core::LanguageTag;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(tag) = LanguageTag::parse(s) {
            assert_eq!(LanguageTag::parse(tag.as_str()), Ok(tag.clone()));
        }
    }
});
