//! `GET /apps/{app}/{channel}/manifest`: the packs a device of this platform, OS and
//! languages gets from a channel, with the URLs to fetch them from this edge.

use http::header::CACHE_CONTROL;
use packyard_core::device_access::{Audience, Url};
use packyard_core::device_manifest::{self, DeviceQuery, OsVersion, UrlBase};
use packyard_core::{LanguageTag, Platform};

use super::super::endpoint::Query;
use super::super::error::HttpError;
use super::super::service::{Answer, EdgeService, json, set};
use crate::state::Channel;

impl EdgeService {
    pub(in crate::http) fn manifest(
        &self,
        app: &str,
        channel: Channel,
        query: &Query,
        device_id: Option<&str>,
        token: Option<&str>,
        tls: bool,
    ) -> Answer {
        let device = device_query(query)?;
        let (versions, primary) = self.resolve(
            |s| {
                s.has_app(app).then(|| {
                    (
                        s.device_versions(app, channel, device_id),
                        s.primary_language(app),
                    )
                })
            },
            || format!("no app {app:?} on this edge"),
        )?;
        let served: Vec<_> = versions.iter().map(|v| v.served_pack()).collect();
        let origin = self.public_url(tls);
        let urls = UrlBase {
            origin: &origin,
            app,
            token: channel.beta().and(token),
        };
        let manifest = device_manifest::build(
            &served,
            &device,
            &primary,
            self.settings.manifest_policy,
            &urls,
        );
        for listed in &manifest.asset_packs {
            if let Some(v) = versions
                .iter()
                .find(|v| v.identifier.as_str() == listed.id && v.number == listed.version)
            {
                self.served.record(v, device_id);
            }
        }
        let doc = serde_json::to_vec(&manifest)
            .map_err(|e| HttpError::Internal(format!("serializing the {}: {e}", "manifest")))?;
        let mut response = json(doc);
        let cache = Audience::of(channel).cache_control(Url::Channel);
        set(response.headers_mut(), CACHE_CONTROL, cache);
        Ok(response)
    }
    fn public_url(&self, tls: bool) -> String {
        let scheme = if tls { "https://" } else { "http://" };
        let urls = &self.settings.public_urls;
        urls.iter()
            .find(|u| u.starts_with(scheme))
            .or_else(|| urls.first())
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_default()
    }
}

/// The device's platform, OS and languages from the manifest query.
fn device_query(query: &Query) -> Result<DeviceQuery, HttpError> {
    let bad = |name, reason: String| HttpError::BadParameter { name, reason };
    let platform = query.platform.as_deref().ok_or_else(|| {
        bad(
            "platform",
            "is required (iOS, iPadOS, macOS, tvOS or visionOS)".into(),
        )
    })?;
    let platform = Platform::from_manifest_name(platform).ok_or_else(|| {
        bad(
            "platform",
            format!("{platform:?} is not one of iOS, iPadOS, macOS, tvOS, visionOS"),
        )
    })?;
    let os = query
        .os
        .as_deref()
        .ok_or_else(|| bad("os", "is required, for example 27.0".into()))?;
    let os: OsVersion = os.parse().map_err(|e| bad("os", format!("{e}")))?;
    let languages = query
        .lang
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| LanguageTag::parse(l).map_err(|e| bad("lang", e.to_string())))
        .collect::<Result<_, _>>()?;
    Ok(DeviceQuery {
        platform,
        os,
        languages,
    })
}
