//! Where a webhook may be sent: not into the cluster's own network. A webhook URL is chosen by
//! an app's Admin, and the control plane sends to it from inside the cluster, so a URL naming
//! a loopback, link-local (cloud metadata), private or otherwise internal address would let
//! an Admin make the control plane call services no outsider reaches. Those are refused
//! unless the operator allows them. The check applies to the address a host name resolves
//! to when each delivery is sent (a name may resolve elsewhere later), and to an address
//! written in the URL itself.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why `ip` is not a public address a webhook may go to, or `None` when it is one.
pub fn internal_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => internal_v4(v4),
            None => internal_v6(v6),
        },
    }
}

fn internal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() || a == 0 {
        Some("an unspecified address")
    } else if ip.is_link_local() {
        Some("a link-local address (where cloud metadata services answer)")
    } else if ip.is_private() {
        Some("a private address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if ip.is_multicast() || ip.is_broadcast() || a >= 240 {
        Some("a multicast, broadcast or reserved address")
    } else {
        None
    }
}

fn internal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a private (unique local) address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else {
        None
    }
}

/// The address a URL's host names, when the host is an address rather than a name
/// (`http://127.0.0.1:8080/`, `https://[::1]/`).
pub fn literal_address(url: &str) -> Option<IpAddr> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        }),
    };
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_named_and_public_ones_pass() {
        for (ip, why) in [
            ("127.0.0.1", "loopback"),
            ("127.8.8.8", "loopback"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "loopback"),
            ("169.254.169.254", "link-local"),
            ("fe80::1", "link-local"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("fd00::1", "private"),
            ("100.64.0.1", "carrier-grade"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
        ] {
            let reason = internal_address(ip.parse().unwrap()).unwrap_or("public");
            assert!(reason.contains(why), "{ip}: {reason}");
        }
        for ip in [
            "93.184.216.34",
            "2606:4700::1111",
            "172.32.0.1",
            "100.128.0.1",
        ] {
            assert_eq!(internal_address(ip.parse().unwrap()), None, "{ip}");
        }
    }

    #[test]
    fn literal_addresses_are_found_in_urls_and_names_are_not() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            literal_address("http://127.0.0.1:8080/hook"),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(literal_address("https://[::1]/x"), Some(ip("::1")));
        assert_eq!(literal_address("https://[::1]:9/x"), Some(ip("::1")));
        assert_eq!(
            literal_address("https://user@10.0.0.1/x"),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(literal_address("https://hooks.example.com/x"), None);
        assert_eq!(literal_address("not a url"), None);
    }
}
