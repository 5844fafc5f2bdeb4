use std::net::IpAddr;

use proptest::prelude::*;

use super::*;
use crate::webhook_target::spellings::{Spelling, internal_url, loopback_url};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn refusal(url: &str) -> UrlError {
    WebhookUrl::parse_target(url, false).expect_err(url)
}

#[test]
fn the_spellings_of_the_issue_are_read_as_loopback_and_refused() {
    for url in [
        "http://127.1:8080/",
        "http://2130706433:8080/",
        "http://0x7f.1:8080/",
        "http://0177.0.0.1:8080/",
        "http://%31%32%37.0.0.1:8080/",
        "http://[::ffff:127.0.0.1]:8080/",
        "http://[::ffff:7f00:1]:8080/",
        "http://127.0.0.1.:8080/",
    ] {
        let parsed = WebhookUrl::parse(url).unwrap();
        let TargetHost::Address(address) = parsed.host() else {
            panic!("{url} is read as a name");
        };
        assert!(
            address == ip("127.0.0.1") || address == ip("::ffff:127.0.0.1"),
            "{url}: {address}"
        );
        assert_eq!(parsed.port(), 8080);
        let error = refusal(url);
        assert!(
            error.to_string().contains("a loopback address"),
            "{url}: {error}"
        );
        assert!(error.to_string().contains("allow_private_addresses"));
    }
}

#[test]
fn a_backslash_before_the_at_sign_is_refused_whatever_host_it_hides() {
    // A WHATWG parser reads `\` as `/`: the host is 127.0.0.1 and `@hooks.example.com` is
    // the path; a naive split at `@` sees hooks.example.com.
    for url in [
        "http://127.0.0.1:8080\\@hooks.example.com/",
        "http://hooks.example.com\\@127.0.0.1/",
    ] {
        let error = WebhookUrl::parse(url).expect_err(url);
        assert_eq!(
            error,
            UrlError::Ambiguous("contains a backslash, read as a /"),
            "{url}"
        );
    }
    let error = WebhookUrl::parse("https:\\\\hooks.example.com/").unwrap_err();
    assert_eq!(
        error,
        UrlError::Ambiguous("has other than two slashes after the scheme")
    );
}

#[test]
fn credentials_are_refused_and_so_is_an_empty_userinfo() {
    for url in [
        "https://user@hooks.example.com/x",
        "https://user:secret@hooks.example.com/x",
        "https://:secret@hooks.example.com/x",
        "https://a@b@hooks.example.com/x",
    ] {
        assert_eq!(WebhookUrl::parse(url), Err(UrlError::Credentials), "{url}");
    }
    assert!(matches!(
        WebhookUrl::parse("https://@hooks.example.com/x"),
        Err(UrlError::Ambiguous(_))
    ));
}

#[test]
fn urls_that_are_not_plain_http_urls_with_a_host_are_refused_and_say_why() {
    for (url, why) in [
        ("ftp://hooks.example.com/", "scheme ftp:"),
        ("file:///etc/passwd", "scheme file:"),
        ("hooks.example.com/packyard", "not an absolute URL"),
        ("https://", "not an absolute URL"),
        ("https:///path", "other than two slashes"),
        ("http:hooks.example.com/", "other than two slashes"),
        ("http://:8080/", "not an absolute URL"),
        ("https://hooks.example.com/a b", "spaces or control"),
        ("https://hooks.example.com/a\tb", "spaces or control"),
        ("https://hooks.example.com/%zz", "a % not followed"),
        // WHATWG keeps these in a host; the HTTP client refuses to send to them.
        (
            "https://hooks{x}.example.com/",
            "character '{' no DNS name has",
        ),
        (
            "https://hoo\"ks.example.com/",
            "character '\"' no DNS name has",
        ),
        (
            "https://hoo`ks.example.com/",
            "character '`' no DNS name has",
        ),
        (
            "https://hoo!ks.example.com/",
            "character '!' no DNS name has",
        ),
        ("", "not an absolute URL"),
    ] {
        let error = WebhookUrl::parse(url).expect_err(url).to_string();
        assert!(error.contains(why), "{url:?}: {error}");
    }
    let long = format!("https://example.com/{}", "a".repeat(2048));
    assert_eq!(WebhookUrl::parse(&long), Err(UrlError::TooLong(2068)));
    let longest = format!("https://example.com/{}", "a".repeat(2048 - 20));
    assert!(WebhookUrl::parse(&longest).is_ok());
    // Short as written, long once percent-encoded: the stored form is what is limited.
    let encoded = format!("https://example.com/{}", "é".repeat(700));
    assert!(encoded.len() <= 2048);
    assert_eq!(
        WebhookUrl::parse(&encoded),
        Err(UrlError::TooLong(20 + 700 * 6))
    );
}

#[test]
fn loopback_names_are_refused_and_other_names_wait_for_their_resolution() {
    for url in [
        "http://localhost/",
        "http://LOCALHOST./",
        "http://api.localhost:9/",
    ] {
        assert!(matches!(refusal(url), UrlError::LoopbackName(_)), "{url}");
    }
    let named = WebhookUrl::parse_target("https://Hooks.Example.com/x?y=1", false).unwrap();
    assert_eq!(named.host(), TargetHost::Name("hooks.example.com"));
    assert_eq!(named.port(), 443);
    assert_eq!(
        WebhookUrl::parse("http://localhost.example.com/")
            .unwrap()
            .check_public(),
        Ok(())
    );
}

#[test]
fn public_addresses_pass_and_an_operator_may_allow_internal_ones() {
    let public = WebhookUrl::parse_target("https://93.184.216.34:8443/hook", false).unwrap();
    assert_eq!(public.host(), TargetHost::Address(ip("93.184.216.34")));
    assert_eq!(public.url().as_str(), "https://93.184.216.34:8443/hook");
    let v6 = WebhookUrl::parse_target("https://[2606:4700::1111]/", false).unwrap();
    assert_eq!(v6.host(), TargetHost::Address(ip("2606:4700::1111")));
    for url in [
        "http://127.1:8080/",
        "http://localhost/",
        "http://10.0.0.7/",
    ] {
        assert!(WebhookUrl::parse_target(url, true).is_ok(), "{url}");
    }
    assert!(WebhookUrl::parse_target("http://user@10.0.0.7/", true).is_err());
}

/// What `spelling` must come to: refused, and when undecorated, read as the address (or
/// name) it spells and refused for it.
fn check(spelling: &Spelling) -> Result<(), TestCaseError> {
    let Spelling {
        url,
        address,
        decorated,
    } = spelling;
    prop_assert!(
        WebhookUrl::parse_target(url, false).is_err(),
        "{url} accepted"
    );
    if *decorated {
        prop_assert!(WebhookUrl::parse(url).is_err(), "{url} parsed");
        return Ok(());
    }
    let parsed = WebhookUrl::parse(url).map_err(|e| TestCaseError::fail(format!("{url}: {e}")))?;
    match (address, parsed.host()) {
        (Some(expected), TargetHost::Address(read)) => {
            prop_assert_eq!(*expected, read, "{}", url);
            let refused = matches!(parsed.check_public(), Err(UrlError::Internal { .. }));
            prop_assert!(refused, "{url}");
        }
        (None, TargetHost::Name(_)) => {
            let refused = matches!(parsed.check_public(), Err(UrlError::LoopbackName(_)));
            prop_assert!(refused, "{url}");
        }
        (expected, read) => {
            prop_assert!(false, "{url}: expected {expected:?}, read {read:?}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn no_spelling_of_an_internal_address_is_accepted_at_creation(
        spelling in internal_url(8080)
    ) {
        check(&spelling)?;
    }

    #[test]
    fn no_spelling_of_loopback_is_accepted_at_creation(spelling in loopback_url(8080)) {
        check(&spelling)?;
    }

    #[test]
    fn parsing_any_text_never_panics_and_what_passes_is_http_with_a_host(text in "\\PC{0,80}") {
        if let Ok(url) = WebhookUrl::parse(&text) {
            prop_assert!(matches!(url.url().scheme(), "http" | "https"));
            prop_assert!(url.url().host().is_some());
        }
    }
}
