//! [`internal_address`]: which IP addresses are the cluster's own network (loopback,
//! link-local, private, shared, reserved), never a public endpoint a webhook may go to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why `ip` is not a public address a webhook may go to, or `None` when it is one.
///
/// IPv6 addresses that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, the NAT64
/// prefix `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the IPv4 address they reach.
pub fn internal_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => internal_v4(v4),
            None => internal_v6(v6),
        },
    }
}

fn internal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
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
    } else if (a, b, c) == (192, 0, 0) || (a == 198 && (18..20).contains(&b)) {
        Some("a reserved address (protocol assignments, benchmarking)")
    } else if ip.is_documentation() {
        Some("a documentation address")
    } else {
        None
    }
}

fn internal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if s[0] & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if s[0] & 0xffc0 == 0xfec0 {
        Some("a site-local address")
    } else if s[0] & 0xfe00 == 0xfc00 {
        Some("a private (unique local) address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if s[..6] == [0; 6] {
        Some("a reserved (IPv4-compatible) address")
    } else if s[..4] == [0x100, 0, 0, 0] || s[..2] == [0x2001, 0xdb8] || s[..3] == [0x64, 0xff9b, 1]
    {
        Some("a reserved address (discard, documentation, local NAT64)")
    } else {
        None
    }
}

/// The IPv4 address an IPv6 address reaches, when it carries one: IPv4-mapped, NAT64
/// (`64:ff9b::/96`) or 6to4 (`2002:AABB:CCDD::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if let Some(v4) = ip.to_ipv4_mapped() {
        Some(v4)
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        Some(v4(s[6], s[7]))
    } else if s[0] == 0x2002 {
        Some(v4(s[1], s[2]))
    } else {
        None
    }
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
            ("64:ff9b::7f00:1", "loopback"),
            ("2002:7f00:1::1", "loopback"),
            ("64:ff9b::a00:1", "private"),
            ("::7f00:1", "IPv4-compatible"),
            ("169.254.169.254", "link-local"),
            ("fe80::1", "link-local"),
            ("fec0::1", "site-local"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("fd00::1", "private"),
            ("100.64.0.1", "carrier-grade"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("::", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("ff02::1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("192.0.0.8", "reserved"),
            ("198.18.0.1", "reserved"),
            ("192.0.2.1", "documentation"),
            ("2001:db8::1", "reserved"),
            ("64:ff9b:1::1", "reserved"),
        ] {
            let reason = internal_address(ip.parse().unwrap()).unwrap_or("public");
            assert!(reason.contains(why), "{ip}: {reason}");
        }
        for ip in [
            "93.184.216.34",
            "2606:4700::1111",
            "172.32.0.1",
            "100.128.0.1",
            "198.20.0.1",
            "64:ff9b::5db8:d822",
            "::ffff:93.184.216.34",
        ] {
            assert_eq!(internal_address(ip.parse().unwrap()), None, "{ip}");
        }
    }
}
