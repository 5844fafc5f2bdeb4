//! [`WebhookUrl`]: a webhook's URL read exactly as the HTTP client that sends to it reads it.
//!
//! Two parsers reading one URL differently is how a URL passes a check and then goes
//! somewhere else: `http://127.1/`, `http://2130706433/`, `http://0x7f.1/` and
//! `http://%31%32%37.0.0.1/` all mean 127.0.0.1 to a WHATWG parser, and
//! `http://127.0.0.1:8080\@hooks.example.com/` means host 127.0.0.1 (a backslash is a `/`).
//! So the URL is parsed here once, with the WHATWG parser of the `url` crate, which is the one
//! the control plane's HTTP client uses (`reqwest::Url` is `url::Url`), and the parsed URL is
//! what the client is handed. On top of the parser, a URL is refused when the parser had to
//! repair it (a backslash, missing or extra slashes, an `@` in the authority, ignored spaces),
//! since other tools would read such a URL differently from us, and when it carries
//! credentials.

use std::cell::Cell;
use std::net::IpAddr;

use url::{Host, SyntaxViolation, Url};

use super::address::internal_address;

/// The longest webhook URL accepted, in bytes.
pub const MAX_WEBHOOK_URL_LEN: usize = 2048;

/// An absolute `http` or `https` URL with a host and no credentials, that every WHATWG
/// parser reads the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(Url);

/// What a webhook URL's host names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetHost<'u> {
    /// An address, however it was spelled (`127.1`, `0x7f.1`, `[::ffff:7f00:1]` …).
    Address(IpAddr),
    /// A name, to be resolved when a delivery is sent (lower case, punycode).
    Name(&'u str),
}

/// Why a webhook URL is refused, in words its author can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Longer than [`MAX_WEBHOOK_URL_LEN`].
    #[error("is {0} bytes long; a webhook URL has at most {MAX_WEBHOOK_URL_LEN} bytes")]
    TooLong(usize),
    /// Spaces or control characters, which parsers drop or keep as they please.
    #[error("contains spaces or control characters; percent-encode them")]
    Unprintable,
    /// Not an absolute URL at all.
    #[error("is not an absolute URL ({0}); give one such as https://hooks.example.com/packyard")]
    Unparsable(url::ParseError),
    /// A scheme other than `http` and `https`.
    #[error("uses the scheme {0}:, but webhooks are sent over http:// or https:// only")]
    Scheme(String),
    /// The parser had to repair it, so other tools may read it differently.
    #[error("{0}, which HTTP clients and other tools read differently; write the URL plainly")]
    Ambiguous(&'static str),
    /// `user:password@` in the authority.
    #[error(
        "carries credentials (user:password@), which every Admin of the app could read; \
         receivers authenticate deliveries by their X-Packyard-Signature instead"
    )]
    Credentials,
    /// No host, or an empty one.
    #[error("has no host; give a URL such as https://hooks.example.com/packyard")]
    NoHost,
    /// A host name with a character no DNS name has (`"`, `{`, `` ` `` …), which WHATWG
    /// parsers keep but HTTP clients refuse to send to.
    #[error(
        "has the host name {name:?}, whose character {bad:?} no DNS name has; a host name \
         is letters, digits, '-', '_' and '.'"
    )]
    HostName {
        /// The host name, as the parser read it.
        name: String,
        /// The first character that is not allowed.
        bad: char,
    },
    /// The host is written as an address in the cluster's own network.
    #[error(
        "names {address}, {why}; webhooks are not sent into the cluster's own network \
         unless the operator sets [webhooks] allow_private_addresses"
    )]
    Internal {
        /// The address, as the client reads it.
        address: IpAddr,
        /// What kind of internal address it is.
        why: &'static str,
    },
    /// The host is `localhost` or a name under it, which always mean this machine.
    #[error(
        "names {0}, which always means the machine itself (RFC 6761); webhooks are not sent \
         into the cluster's own network unless the operator sets [webhooks] \
         allow_private_addresses"
    )]
    LoopbackName(String),
}

impl WebhookUrl {
    /// Parses `text` as the HTTP client will, refusing what [`UrlError`] lists except the
    /// internal targets, which [`WebhookUrl::check_public`] refuses (an operator may allow
    /// them).
    pub fn parse(text: &str) -> Result<Self, UrlError> {
        if text.len() > MAX_WEBHOOK_URL_LEN {
            return Err(UrlError::TooLong(text.len()));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::Unprintable);
        }
        // The first repair found, unless a backslash comes later: that is the one to name.
        let repaired = Cell::new(None);
        let note = |v: SyntaxViolation| {
            if repaired.get().is_none() || v == SyntaxViolation::Backslash {
                repaired.set(ambiguity(v).or(repaired.get()));
            }
        };
        let url = Url::options()
            .syntax_violation_callback(Some(&note))
            .parse(text)
            .map_err(UrlError::Unparsable)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(UrlError::Scheme(url.scheme().to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::Credentials);
        }
        if let Some(why) = repaired.get() {
            return Err(UrlError::Ambiguous(why));
        }
        // Percent-encoding and punycode lengthen a URL: the limit holds for what is stored
        // and sent, so the stored URL always parses again.
        if url.as_str().len() > MAX_WEBHOOK_URL_LEN {
            return Err(UrlError::TooLong(url.as_str().len()));
        }
        match url.host() {
            None => Err(UrlError::NoHost),
            Some(Host::Domain(name)) if name.trim_end_matches('.').is_empty() => {
                Err(UrlError::NoHost)
            }
            Some(Host::Domain(name)) => match name.chars().find(|&c| !is_host_name_char(c)) {
                Some(bad) => Err(UrlError::HostName {
                    name: name.to_owned(),
                    bad,
                }),
                None => Ok(Self(url)),
            },
            Some(_) => Ok(Self(url)),
        }
    }

    /// [`WebhookUrl::parse`], and unless `private_ok`, [`WebhookUrl::check_public`].
    pub fn parse_target(text: &str, private_ok: bool) -> Result<Self, UrlError> {
        let url = Self::parse(text)?;
        if !private_ok {
            url.check_public()?;
        }
        Ok(url)
    }

    /// Refuses a host written as an internal address (in any spelling the parser reads) or
    /// a loopback name: the check at creation. Other names are judged on what they resolve
    /// to when a delivery is sent, since a name may resolve elsewhere later.
    pub fn check_public(&self) -> Result<(), UrlError> {
        self.check_address()?;
        if let TargetHost::Name(name) = self.host() {
            let name = name.trim_end_matches('.');
            if name == "localhost" || name.ends_with(".localhost") {
                return Err(UrlError::LoopbackName(name.to_owned()));
            }
        }
        Ok(())
    }

    /// Refuses a host written as an internal address, in any spelling the parser reads: the
    /// check at each delivery, before connecting. Every name, loopback names included, is
    /// judged then on the addresses it resolves to, which are the ones connected to.
    pub fn check_address(&self) -> Result<(), UrlError> {
        match self.host() {
            TargetHost::Address(address) => match internal_address(address) {
                Some(why) => Err(UrlError::Internal { address, why }),
                None => Ok(()),
            },
            TargetHost::Name(_) => Ok(()),
        }
    }

    /// What the host names. A name that is itself an address literal (which the parser
    /// never leaves as a name, but the connector would take as an address) is an address.
    pub fn host(&self) -> TargetHost<'_> {
        match self.0.host() {
            Some(Host::Ipv4(v4)) => TargetHost::Address(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => TargetHost::Address(IpAddr::V6(v6)),
            Some(Host::Domain(name)) => match name.parse() {
                Ok(address) => TargetHost::Address(address),
                Err(_) => TargetHost::Name(name),
            },
            // `parse` refuses URLs without a host.
            None => TargetHost::Name(""),
        }
    }

    /// The port connected to: the URL's, or 80 / 443.
    pub fn port(&self) -> u16 {
        // http and https always have a known default port.
        self.0.port_or_known_default().unwrap_or(443)
    }

    /// The parsed URL, to hand to the HTTP client as it is.
    pub fn url(&self) -> &Url {
        &self.0
    }
}

/// Whether `c` may appear in a host name as the parser leaves it (lower case, punycode):
/// the characters of DNS names, and `_`, which some real host names carry.
fn is_host_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
}

/// The repairs that make a URL ambiguous, described; `None` for harmless ones (characters
/// the parser percent-encodes, which every parser does alike).
fn ambiguity(v: SyntaxViolation) -> Option<&'static str> {
    match v {
        SyntaxViolation::Backslash => Some("contains a backslash, read as a /"),
        SyntaxViolation::ExpectedDoubleSlash => Some("has other than two slashes after the scheme"),
        SyntaxViolation::EmbeddedCredentials | SyntaxViolation::UnencodedAtSign => {
            Some("has an @ before its host")
        }
        SyntaxViolation::C0SpaceIgnored | SyntaxViolation::TabOrNewlineIgnored => {
            Some("contains spaces or control characters that are ignored")
        }
        SyntaxViolation::PercentDecode => Some("has a % not followed by two hex digits"),
        _ => None,
    }
}

#[cfg(test)]
#[path = "webhook_url_test.rs"]
mod tests;
