use super::*;

const KEY: UploadKey = UploadKey([7; 32]);
const NOW: u64 = 1_767_225_600;

fn parsed(query: &str) -> Result<Option<Credential>, CredentialError> {
    Credential::from_query(Some(query))
}

#[test]
fn a_signed_url_allows_what_it_was_signed_for_until_it_expires() {
    let c = KEY.sign("f1", Scope::Part(3), NOW + 60);
    let read = parsed(&c.query()).unwrap().unwrap();
    assert_eq!(read, c);
    assert_eq!(KEY.check("f1", Scope::Part(3), &read, NOW), Ok(()));
    assert_eq!(KEY.check("f1", Scope::Part(3), &read, NOW + 59), Ok(()));
    assert_eq!(
        KEY.check("f1", Scope::Part(3), &read, NOW + 60),
        Err(CredentialError::Expired {
            expires: NOW + 60,
            ago: 0
        })
    );
    let status = KEY.sign("f1", Scope::Status, NOW + 60);
    assert_eq!(KEY.check("f1", Scope::Status, &status, NOW), Ok(()));
}

#[test]
fn another_part_another_file_another_key_or_a_moved_expiry_is_a_mismatch() {
    let c = KEY.sign("f1", Scope::Part(3), NOW + 60);
    let mismatch = |file: &str, scope| CredentialError::Mismatch {
        file: file.to_owned(),
        scope,
    };
    assert_eq!(
        KEY.check("f1", Scope::Part(4), &c, NOW),
        Err(mismatch("f1", Scope::Part(4)))
    );
    assert_eq!(
        KEY.check("f2", Scope::Part(3), &c, NOW),
        Err(mismatch("f2", Scope::Part(3)))
    );
    assert_eq!(
        KEY.check("f1", Scope::Status, &c, NOW),
        Err(mismatch("f1", Scope::Status))
    );
    assert_eq!(
        UploadKey([8; 32]).check("f1", Scope::Part(3), &c, NOW),
        Err(mismatch("f1", Scope::Part(3)))
    );
    // The expiry is signed: moving it forward breaks the signature, so an expired
    // credential is a mismatch, not a fresh one.
    let moved = c
        .query()
        .replace(&format!("{}", NOW + 60), &format!("{}", NOW + 6000));
    let moved = parsed(&moved).unwrap().unwrap();
    assert_eq!(
        KEY.check("f1", Scope::Part(3), &moved, NOW + 100),
        Err(mismatch("f1", Scope::Part(3)))
    );
    // "part 1" + "3" must not read as "part 13": the parts are separated in what is signed.
    let thirteen = KEY.sign("f1", Scope::Part(13), NOW + 60);
    assert_ne!(thirteen, KEY.sign("f1", Scope::Part(1), NOW + 60));
}

#[test]
fn a_url_without_either_parameter_carries_no_credential() {
    assert_eq!(Credential::from_query(None), Ok(None));
    assert_eq!(parsed(""), Ok(None));
    assert_eq!(parsed("x=1&y"), Ok(None));
}

#[test]
fn a_missing_repeated_or_malformed_parameter_is_named() {
    let good = KEY.sign("f1", Scope::Part(1), NOW).query();
    let (expires, signature) = good.split_once('&').unwrap();
    let cases = [
        (expires.to_owned(), "`signature` is missing"),
        (signature.to_owned(), "`expires` is missing"),
        (
            format!("{good}&{expires}"),
            "`expires` is given more than once",
        ),
        (
            format!("{signature}&{good}"),
            "`signature` is given more than once",
        ),
        (format!("expires=+1&{signature}"), "is not Unix seconds"),
        (format!("expires=&{signature}"), "is not Unix seconds"),
        (
            format!("expires=99999999999999999999&{signature}"),
            "is not Unix seconds",
        ),
        (format!("{expires}&signature=abc"), "not 32 bytes"),
        (
            format!("{expires}&signature={}A", &signature[10..]),
            "not 32 bytes",
        ),
        (
            format!("{expires}&signature=%2F{}", &signature[13..]),
            "not 32 bytes",
        ),
    ];
    for (query, named) in cases {
        match parsed(&query) {
            Err(CredentialError::Malformed(what)) => {
                assert!(what.contains(named), "{query}: {what}");
            }
            other => panic!("{query}: {other:?}"),
        }
    }
}

#[test]
fn credentials_expire_when_the_reservation_does_and_never_later() {
    assert_eq!(expires_at(1_000_999, 86_400_000), 87_400);
    assert_eq!(expires_at(1_000_000, 86_400_000), 87_400);
    assert_eq!(expires_at(u64::MAX, 1), u64::MAX / 1000);
}

#[test]
fn the_key_is_never_shown_and_is_stored_as_hex() {
    assert_eq!(format!("{KEY:?}"), "UploadKey(…)");
    let json = serde_json::to_string(&KEY).unwrap();
    assert_eq!(json, format!("\"{}\"", "07".repeat(32)));
    assert_eq!(serde_json::from_str::<UploadKey>(&json).unwrap(), KEY);
    assert!(serde_json::from_str::<UploadKey>("\"07\"").is_err());
}

proptest::proptest! {
    /// Whatever a query holds, reading a credential from it never panics, and one that reads
    /// is written back the same way.
    #[test]
    fn reading_any_query_never_panics(query in ".{0,200}") {
        if let Ok(Some(c)) = parsed(&query) {
            proptest::prop_assert_eq!(parsed(&c.query()), Ok(Some(c)));
        }
    }
}
