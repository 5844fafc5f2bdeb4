//! A webhook's `url`, as the admin API receives it. A URL that parses is `http` or `https`
//! with a host, no credentials and at most 2048 bytes; its serialization parses again to the
//! same URL; the host it is checked on is the host the HTTP connector connects to (hyper
//! reads the same serialization, and takes an address literal as that very address); and a
//! URL that passes the public check never names an internal address.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use packyard_core::webhook_target::{TargetHost, WebhookUrl, internal_address};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(url) = WebhookUrl::parse(text) else {
        return;
    };
    let parsed = url.url();
    assert!(matches!(parsed.scheme(), "http" | "https"));
    assert!(parsed.username().is_empty() && parsed.password().is_none());
    assert!(text.len() <= 2048);
    let again = WebhookUrl::parse(parsed.as_str()).expect("a serialization parses again");
    assert_eq!(again.url(), parsed, "parsing is idempotent");

    // The connector's view: the request URI reqwest builds from the same serialization.
    let uri: http::Uri = parsed.as_str().parse().expect("an http::Uri");
    let connector_host = uri.host().expect("a host");
    let connector_host = connector_host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(connector_host);
    let connector_address = connector_host.parse::<IpAddr>().ok();
    match url.host() {
        TargetHost::Address(address) => {
            assert_eq!(
                connector_address,
                Some(address),
                "the connector reads another address"
            );
            if url.check_public().is_ok() {
                assert_eq!(
                    internal_address(address),
                    None,
                    "an internal address passed"
                );
            }
        }
        TargetHost::Name(name) => {
            assert_eq!(
                connector_address, None,
                "the connector reads an address in {name}"
            );
            assert_eq!(connector_host, name);
        }
    }
    assert_eq!(uri.port_u16().unwrap_or(url.port()), url.port());
});
