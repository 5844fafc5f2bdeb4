//! [`Endpoint`]: a device request, parsed once from its method and path.

use http::Method;
use percent_encoding::percent_decode_str;

use super::HttpError;
use crate::state::Channel;

/// Every request the edge answers. Its [`name`](Self::name) is the metric label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /apps/{app}/{channel}/manifest`: the download manifest.
    Manifest {
        /// The app's id.
        app: String,
        /// The channel.
        channel: Channel,
    },
    /// `GET|HEAD /apps/{app}/{channel}/{packID}`: the version the channel serves.
    ChannelPack {
        /// The app's id.
        app: String,
        /// The channel.
        channel: Channel,
        /// The pack identifier.
        pack: String,
    },
    /// `GET|HEAD /apps/{app}/packs/{packID}/versions/{n}`: the immutable URL.
    Version {
        /// The app's id.
        app: String,
        /// The pack identifier.
        pack: String,
        /// The version number.
        number: u32,
    },
    /// `GET /apps/{app}/packs/{packID}/versions/{n}/chunks`: the version's chunk list.
    ChunkList {
        /// The app's id.
        app: String,
        /// The pack identifier.
        pack: String,
        /// The version number.
        number: u32,
    },
    /// `GET /apps/{app}/packs/{packID}/versions/{n}/pieces?chunks=0-2,7`: the pieces of
    /// some of the version's chunks (`packyard_core::pieces`), for a device's delta update.
    Pieces {
        /// The app's id.
        app: String,
        /// The pack identifier.
        pack: String,
        /// The version number.
        number: u32,
    },
    /// `GET /healthz`: the process answers.
    Healthz,
    /// `GET /readyz`: the edge holds a catalog (from the control plane, or saved by its last
    /// run) and serves devices; 503 until then.
    Readyz,
    /// `GET /metrics`.
    Metrics,
}

impl Endpoint {
    /// Parses `method` and `path` (without the query). Only GET and HEAD are served; a path
    /// that names nothing is `404`.
    ///
    /// `/apps/{app}/{channel}/manifest` names the manifest, so a pack whose identifier is
    /// `manifest` is reachable through its immutable URL only.
    pub fn parse(method: &Method, path: &str) -> Result<Self, HttpError> {
        let raw: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
        let segments: Vec<String> = raw
            .iter()
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
        let not_found = || HttpError::NotFound(format!("no such path: {path}"));
        let channel = |s: &str| {
            Channel::from_path(s).ok_or_else(|| {
                HttpError::NotFound(format!(
                    "no channel {s:?}; the channels are internal, external and store"
                ))
            })
        };
        // A version URL is immutable and cached under its spelling, so it has one: the number
        // as written in the path (not percent-encoded), in decimal digits without a sign or a
        // leading zero. `/versions/01`, `/versions/+1` and `/versions/%31` name nothing.
        let number = |_: &str| {
            let written = raw.get(5).copied().unwrap_or_default();
            let canonical = !written.is_empty()
                && written.bytes().all(|b| b.is_ascii_digit())
                && !written.starts_with('0');
            canonical
                .then(|| written.parse::<u32>().ok())
                .flatten()
                .ok_or_else(|| {
                    HttpError::NotFound(format!(
                        "{written:?} is not a version number; write it in decimal digits, \
                         without a sign or leading zeros"
                    ))
                })
        };
        let endpoint = match seg.as_slice() {
            ["healthz"] => Self::Healthz,
            ["readyz"] => Self::Readyz,
            ["metrics"] => Self::Metrics,
            ["apps", app, "packs", pack, "versions", n] => Self::Version {
                app: (*app).to_owned(),
                pack: (*pack).to_owned(),
                number: number(n)?,
            },
            ["apps", app, "packs", pack, "versions", n, "chunks"] => Self::ChunkList {
                app: (*app).to_owned(),
                pack: (*pack).to_owned(),
                number: number(n)?,
            },
            ["apps", app, "packs", pack, "versions", n, "pieces"] => Self::Pieces {
                app: (*app).to_owned(),
                pack: (*pack).to_owned(),
                number: number(n)?,
            },
            ["apps", app, ch, "manifest"] => Self::Manifest {
                app: (*app).to_owned(),
                channel: channel(ch)?,
            },
            ["apps", app, ch, pack] if !pack.is_empty() => Self::ChannelPack {
                app: (*app).to_owned(),
                channel: channel(ch)?,
                pack: (*pack).to_owned(),
            },
            _ => return Err(not_found()),
        };
        if method != Method::GET && method != Method::HEAD {
            return Err(HttpError::MethodNotAllowed(method.to_string()));
        }
        Ok(endpoint)
    }

    /// The endpoint's name: the metric label and span name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Manifest { .. } => "Manifest",
            Self::ChannelPack { .. } => "ChannelPack",
            Self::Version { .. } => "Version",
            Self::ChunkList { .. } => "ChunkList",
            Self::Pieces { .. } => "Pieces",
            Self::Healthz => "Healthz",
            Self::Readyz => "Readyz",
            Self::Metrics => "Metrics",
        }
    }
}

/// The query parameters the edge reads, decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// `token`: a tester token.
    pub token: Option<String>,
    /// `platform`: the device's platform (`iOS` …).
    pub platform: Option<String>,
    /// `os`: the device's OS version.
    pub os: Option<String>,
    /// `lang`: the device's languages, comma-separated, most preferred first.
    pub lang: Option<String>,
    /// `device`: the device's id (for rollout buckets).
    pub device: Option<String>,
    /// `chunks`: which chunks' pieces a device asks (`0-2,7`).
    pub chunks: Option<String>,
}

impl Query {
    /// Parses a query string; unknown parameters are ignored, the first of a repeated one wins.
    pub fn parse(query: Option<&str>) -> Self {
        let mut q = Self::default();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = value.replace('+', " ");
            let value = percent_decode_str(&value).decode_utf8_lossy().into_owned();
            let slot = match name {
                "token" => &mut q.token,
                "platform" => &mut q.platform,
                "os" => &mut q.os,
                "lang" => &mut q.lang,
                "device" => &mut q.device,
                "chunks" => &mut q.chunks,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        q
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn paths_parse_into_endpoints() {
        let get = |p: &str| Endpoint::parse(&Method::GET, p);
        assert_eq!(
            get("/apps/a1/store/manifest").unwrap(),
            Endpoint::Manifest {
                app: "a1".into(),
                channel: Channel::Store
            }
        );
        assert_eq!(
            get("/apps/a1/internal/level-2").unwrap(),
            Endpoint::ChannelPack {
                app: "a1".into(),
                channel: Channel::Internal,
                pack: "level-2".into()
            }
        );
        assert_eq!(
            get("/apps/a1/packs/level-2/versions/3").unwrap().name(),
            "Version"
        );
        assert_eq!(
            get("/apps/a1/packs/level-2/versions/3/chunks")
                .unwrap()
                .name(),
            "ChunkList"
        );
        assert_eq!(
            get("/apps/a1/packs/level-2/versions/3/pieces").unwrap(),
            Endpoint::Pieces {
                app: "a1".into(),
                pack: "level-2".into(),
                number: 3
            }
        );
        assert_eq!(get("/healthz").unwrap(), Endpoint::Healthz);
        assert_eq!(get("/readyz").unwrap(), Endpoint::Readyz);
        for bad in [
            "/",
            "/apps",
            "/apps/a1/beta/manifest",
            "/apps/a1/packs/p/versions/0",
            "/apps/a1/packs/p/versions/x",
            "/apps/a1/store/",
        ] {
            assert!(matches!(get(bad), Err(HttpError::NotFound(_))), "{bad}");
        }
        assert!(matches!(
            Endpoint::parse(&Method::POST, "/healthz"),
            Err(HttpError::MethodNotAllowed(_))
        ));
    }

    #[test]
    fn an_immutable_version_url_answers_under_one_spelling_only() {
        let get = |p: &str| Endpoint::parse(&Method::GET, p);
        assert!(matches!(
            get("/apps/a1/packs/p/versions/12"),
            Ok(Endpoint::Version { number: 12, .. })
        ));
        for other in [
            "/apps/a1/packs/p/versions/+12",
            "/apps/a1/packs/p/versions/%2B12",
            "/apps/a1/packs/p/versions/012",
            "/apps/a1/packs/p/versions/%312",
            "/apps/a1/packs/p/versions/12%20",
            "/apps/a1/packs/p/versions/012/chunks",
            "/apps/a1/packs/p/versions/012/pieces",
            "/apps/a1/packs/p/versions/4294967296",
        ] {
            let err = get(other).expect_err(other);
            assert!(err.to_string().contains("decimal digits"), "{other}: {err}");
        }
    }

    #[test]
    fn queries_decode_and_the_first_value_wins() {
        let q = Query::parse(Some(
            "platform=iOS&os=27.0&lang=fr-CA%2Cfr&token=a.b&token=c&x",
        ));
        assert_eq!(q.platform.as_deref(), Some("iOS"));
        assert_eq!(q.lang.as_deref(), Some("fr-CA,fr"));
        assert_eq!(q.token.as_deref(), Some("a.b"));
        assert_eq!(Query::parse(None), Query::default());
    }
}
