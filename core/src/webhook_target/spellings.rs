//! Property-test strategies that write internal addresses into webhook URLs every way a
//! WHATWG parser reads them: dotted, short (`127.1`), one number (`2130706433`), each part in
//! decimal, hex or octal, percent-encoded, with a trailing dot; bracketed IPv6, IPv4-mapped,
//! NAT64 and 6to4 forms; loopback names; and the same URLs with credentials, backslashes and
//! wrong slashes around them. `core`'s tests check that the parser reads each as the address
//! meant and that none is accepted; the control plane's check that none is ever connected to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

/// A URL naming an internal host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spelling {
    /// The URL.
    pub url: String,
    /// The address a WHATWG parser reads as its host; `None` when the host is a name.
    pub address: Option<IpAddr>,
    /// Whether credentials, a backslash or wrong slashes were added around the host, which
    /// make the URL refused before its host is looked at.
    pub decorated: bool,
}

/// URLs naming an internal address or a loopback name of any kind, with `port`.
pub fn internal_url(port: u16) -> impl Strategy<Value = Spelling> {
    let host = prop_oneof![
        4 => internal_v4().prop_flat_map(any_v4_host),
        2 => internal_v6().prop_flat_map(|ip| v6_host(ip).prop_map(move |h| (h, Some(IpAddr::V6(ip))))),
        1 => loopback_name().prop_map(|h| (h, None)),
    ];
    host.prop_flat_map(move |(host, address)| url(host, address, port))
}

/// URLs that reach 127.0.0.1:`port` when connected to: 127.0.0.1 in every IPv4 spelling,
/// IPv4-mapped IPv6 spellings of it, and loopback names.
pub fn loopback_url(port: u16) -> impl Strategy<Value = Spelling> {
    let ip = Ipv4Addr::LOCALHOST;
    let host = prop_oneof![
        4 => v4_host(ip).prop_map(move |h| (h, Some(IpAddr::V4(ip)))),
        2 => mapped_host(ip),
        1 => loopback_name().prop_map(|h| (h, None)),
    ];
    host.prop_flat_map(move |(host, address)| url(host, address, port))
}

/// Addresses in every internal IPv4 range.
pub fn internal_v4() -> impl Strategy<Value = Ipv4Addr> {
    let net = |base: [u8; 4], bits: u32| {
        any::<u32>().prop_map(move |r| {
            let mask = u32::MAX.checked_shr(bits).unwrap_or(0);
            Ipv4Addr::from((u32::from_be_bytes(base) & !mask) | (r & mask))
        })
    };
    prop_oneof![
        Just(Ipv4Addr::LOCALHOST),
        net([127, 0, 0, 0], 8),
        net([10, 0, 0, 0], 8),
        net([172, 16, 0, 0], 12),
        net([192, 168, 0, 0], 16),
        net([169, 254, 0, 0], 16),
        net([100, 64, 0, 0], 10),
        net([0, 0, 0, 0], 8),
        net([224, 0, 0, 0], 4),
        net([240, 0, 0, 0], 4),
        net([198, 18, 0, 0], 15),
    ]
}

/// Addresses in every internal IPv6 range.
pub fn internal_v6() -> impl Strategy<Value = Ipv6Addr> {
    let net = |base: u128, bits: u32| {
        any::<u128>().prop_map(move |r| {
            let mask = u128::MAX.checked_shr(bits).unwrap_or(0);
            Ipv6Addr::from((base & !mask) | (r & mask))
        })
    };
    prop_oneof![
        Just(Ipv6Addr::LOCALHOST),
        Just(Ipv6Addr::UNSPECIFIED),
        net(0xfe80 << 112, 10),
        net(0xfec0 << 112, 10),
        net(0xfc00 << 112, 7),
        net(0xff00 << 112, 8),
    ]
}

/// `ip` as a URL host: any IPv4 spelling, or an IPv6 form that carries it.
fn any_v4_host(ip: Ipv4Addr) -> BoxedStrategy<(String, Option<IpAddr>)> {
    prop_oneof![
        3 => v4_host(ip).prop_map(move |h| (h, Some(IpAddr::V4(ip)))),
        1 => mapped_host(ip),
        1 => translated_host(ip),
    ]
    .boxed()
}

/// `ip` in one to four parts, each in decimal, hex or octal, maybe with a trailing dot,
/// maybe partly percent-encoded.
pub fn v4_host(ip: Ipv4Addr) -> impl Strategy<Value = String> {
    let n = u32::from(ip);
    let [a, b, c, d] = ip.octets().map(u32::from);
    let parts = prop_oneof![
        Just(vec![a, b, c, d]),
        Just(vec![a, b, (c << 8) | d]),
        Just(vec![a, n & 0x00ff_ffff]),
        Just(vec![n]),
    ];
    (parts, any::<bool>())
        .prop_flat_map(|(parts, dot)| {
            let spelled: Vec<_> = parts.into_iter().map(number).collect();
            (spelled, Just(dot))
        })
        .prop_map(|(parts, dot)| parts.join(".") + if dot { "." } else { "" })
        .prop_flat_map(percent_encode_some)
}

/// `n` in decimal, hex (`0x`/`0X`, any case, leading zeros) or octal (leading zeros).
fn number(n: u32) -> impl Strategy<Value = String> {
    prop_oneof![
        Just(n.to_string()),
        (any::<bool>(), any::<bool>(), 0..3usize).prop_map(move |(big_x, upper, zeros)| {
            let digits = if upper {
                format!("{n:X}")
            } else {
                format!("{n:x}")
            };
            format!(
                "0{}{}{digits}",
                if big_x { 'X' } else { 'x' },
                "0".repeat(zeros)
            )
        }),
        (1..3usize).prop_map(move |zeros| format!("{}{n:o}", "0".repeat(zeros))),
    ]
}

/// Replaces some characters of `host` by their `%XX` escapes.
fn percent_encode_some(host: String) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::bool::weighted(0.2), host.len()).prop_map(move |pick| {
        host.bytes()
            .zip(pick)
            .map(|(byte, encode)| {
                if encode {
                    format!("%{byte:02X}")
                } else {
                    char::from(byte).to_string()
                }
            })
            .collect()
    })
}

/// `ip` as an IPv4-mapped IPv6 address, bracketed, in dotted or hex form.
fn mapped_host(ip: Ipv4Addr) -> impl Strategy<Value = (String, Option<IpAddr>)> {
    let mapped = IpAddr::V6(ip.to_ipv6_mapped());
    let [hi, lo] = halves(ip);
    prop_oneof![
        Just(format!("[::ffff:{ip}]")),
        Just(format!("[::FFFF:{hi:X}:{lo:X}]")),
        Just(format!("[0:0:0:0:0:ffff:{hi:04x}:{lo:04x}]")),
        Just(format!("[0000::ffff:{ip}]")),
    ]
    .prop_map(move |h| (h, Some(mapped)))
}

/// `ip` behind the NAT64 prefix or in a 6to4 address.
fn translated_host(ip: Ipv4Addr) -> impl Strategy<Value = (String, Option<IpAddr>)> {
    let [hi, lo] = halves(ip);
    let nat64 = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, hi, lo);
    let six_to_four = Ipv6Addr::new(0x2002, hi, lo, 0, 0, 0, 0, 1);
    prop_oneof![
        Just((format!("[64:ff9b::{ip}]"), Some(IpAddr::V6(nat64)))),
        Just((
            format!("[2002:{hi:x}:{lo:x}::1]"),
            Some(IpAddr::V6(six_to_four))
        )),
    ]
}

/// The two 16-bit halves of `ip`, as IPv6 groups carry them.
fn halves(ip: Ipv4Addr) -> [u16; 2] {
    let [a, b, c, d] = ip.octets();
    [u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])]
}

/// `ip` bracketed, compressed or in full with leading zeros, in either case.
fn v6_host(ip: Ipv6Addr) -> impl Strategy<Value = String> {
    let full = ip.segments().map(|s| format!("{s:04x}")).join(":");
    prop_oneof![Just(ip.to_string()), Just(full)]
        .prop_flat_map(|text| {
            any::<bool>().prop_map(move |upper| {
                if upper {
                    text.to_uppercase()
                } else {
                    text.clone()
                }
            })
        })
        .prop_map(|text| format!("[{text}]"))
}

/// `localhost` and names under it, in any case, maybe with a trailing dot or escapes.
fn loopback_name() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("localhost".to_owned()),
        Just("LocalHost".to_owned()),
        Just("localhost.".to_owned()),
        "[a-z]{1,8}".prop_map(|label| format!("{label}.localhost")),
    ];
    name.prop_flat_map(percent_encode_some)
}

/// A URL around `host`: plain, or with credentials, a backslash or wrong slashes.
fn url(host: String, address: Option<IpAddr>, port: u16) -> impl Strategy<Value = Spelling> {
    let scheme = prop_oneof![Just("http"), Just("https"), Just("HTTP"), Just("hTTps")];
    (scheme, 0..5u8, "[a-z/]{0,6}").prop_map(move |(scheme, form, path)| {
        let url = match form {
            0 => format!("{scheme}://{host}:{port}/{path}"),
            1 => format!("{scheme}://user:pw@{host}:{port}/{path}"),
            2 => format!("{scheme}://{host}:{port}\\@hooks.example.com/{path}"),
            3 => format!("{scheme}:\\\\{host}:{port}/{path}"),
            _ => format!("{scheme}:///{host}:{port}/{path}"),
        };
        Spelling {
            url,
            address,
            decorated: form != 0,
        }
    })
}
