//! [`Device`]: one device's packs on disk, kept in step with an edge.
//!
//! Each pack has a folder `DIR/{id}/`: `pack` (the verified archive of the version held),
//! `held.json` (that version and its chunk list), and while a download runs `next.partial`
//! (the new archive, written in place) with `next.json` (the version it is becoming).
//!
//! A download (`crate::download`, in named steps) fetches the new version's chunk list, then
//! fills `next.partial` chunk by chunk: a chunk whose bytes there already hash to its id is
//! done (a resumed download sends nothing twice), a chunk the held version has is copied from
//! `pack` (a delta update), and the rest is asked of the edge as byte ranges, several per
//! request, several requests at once. When every chunk verifies and the whole file hashes to
//! the manifest's `archiveHash`, it replaces `pack` by a rename. A held copy that no longer
//! hashes right is downloaded again, its good chunks reused.

use std::collections::HashMap;
use std::path::PathBuf;

use packyard_core::AssetPackIdentifier;
use packyard_core::chunk_list::COMPACT_MEDIA_TYPE;
use serde::Serialize;

use crate::download::{self, Record};
use crate::error::ClientError;
use crate::manifest::{DeviceManifest, ManifestPack};
use crate::plan::{Held, Occasion, PackState, Step, plan, state};

/// Who the device is and where it keeps its packs.
#[derive(Debug, Clone)]
pub struct DeviceConfig {
    /// The edge's base URL (`https://edge.example.com`).
    pub edge: String,
    /// The app's id.
    pub app: String,
    /// `internal`, `external` or `store`.
    pub channel: String,
    /// The tester token, for a beta channel.
    pub token: Option<String>,
    /// `iOS`, `iPadOS`, `macOS`, `tvOS` or `visionOS`.
    pub platform: String,
    /// The OS version (`27.0`).
    pub os: String,
    /// Preferred languages, most preferred first (`fr-CA`, `fr`).
    pub languages: Vec<String>,
    /// A stable device id (rollouts bucket devices by it).
    pub device_id: Option<String>,
    /// Where the packs are kept.
    pub dir: PathBuf,
    /// Range requests in flight at once.
    pub parallel: usize,
    /// Ranges in one request at most.
    pub max_ranges: usize,
}

/// What a download did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transfer {
    /// Bytes received from the edge: the manifest, chunk lists, piece lists and ranges
    /// (whole bodies, a multipart answer's framing included).
    pub fetched: u64,
    /// Of `fetched`, the chunk lists and piece lists.
    pub listed: u64,
    /// Bytes copied from the version held before.
    pub reused: u64,
    /// Bytes already in place from an interrupted download.
    pub resumed: u64,
    /// Requests sent.
    pub requests: u64,
}

impl Transfer {
    pub(crate) fn add(&mut self, other: Transfer) {
        self.fetched += other.fetched;
        self.listed += other.listed;
        self.reused += other.reused;
        self.resumed += other.resumed;
        self.requests += other.requests;
    }
}

/// Told how a download advances.
pub trait Progress: Send + Sync {
    /// `done` of `total` bytes of pack `id` are in place.
    fn advanced(&self, id: &str, done: u64, total: u64);
}

/// A progress nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn advanced(&self, _: &str, _: u64, _: u64) {}
}

/// What one sync did to one pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackReport {
    /// The pack's identifier.
    pub id: String,
    /// The version held now, if any.
    pub version: Option<u32>,
    /// Its state against the manifest, in the platform's words, after the sync.
    pub state: &'static str,
    /// `downloaded`, `updated`, `repaired`, `removed`, or empty when nothing was done.
    pub action: &'static str,
}

/// What a sync did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    /// Every pack listed or held, by identifier.
    pub packs: Vec<PackReport>,
    /// Bytes and requests, the manifest's included.
    pub transfer: Transfer,
}

/// One device's packs, kept in step with an edge.
#[derive(Debug, Clone)]
pub struct Device {
    config: DeviceConfig,
    http: reqwest::Client,
}

impl Device {
    /// A device with `config`; its folder is made on first use.
    pub fn new(config: DeviceConfig) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .map_err(|e| ClientError::unreachable(&config.edge, &e))?;
        Ok(Self { config, http })
    }

    fn get(&self, url: &str) -> reqwest::RequestBuilder {
        let request = self.http.get(url);
        let request = match &self.config.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        match &self.config.device_id {
            Some(d) => request.header("x-packyard-device", d),
            None => request,
        }
    }

    /// Fetches the download manifest for this device; also the byte count it cost.
    pub async fn manifest(&self) -> Result<(DeviceManifest, u64), ClientError> {
        let c = &self.config;
        let mut url = format!(
            "{}/apps/{}/{}/manifest?platform={}&os={}",
            c.edge.trim_end_matches('/'),
            c.app,
            c.channel,
            c.platform,
            c.os
        );
        if !c.languages.is_empty() {
            url.push_str(&format!("&lang={}", c.languages.join(",")));
        }
        let bytes = self.body(&url).await?;
        Ok((DeviceManifest::from_json(&bytes)?, bytes.len() as u64))
    }

    pub(crate) async fn body(&self, url: &str) -> Result<Vec<u8>, ClientError> {
        Ok(self.answer(self.get(url), url).await?.0)
    }

    /// The chunk list at `url`, asked in its compact form; whether it came so (an older
    /// edge sends the JSON document).
    pub(crate) async fn chunk_list(&self, url: &str) -> Result<(Vec<u8>, bool), ClientError> {
        let request = self
            .get(url)
            .header(reqwest::header::ACCEPT, COMPACT_MEDIA_TYPE);
        let (bytes, content_type) = self.answer(request, url).await?;
        Ok((bytes, content_type.starts_with(COMPACT_MEDIA_TYPE)))
    }

    /// The body of a 200 answer to `request` and its `Content-Type`; any other status is the
    /// error it means.
    async fn answer(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<(Vec<u8>, String), ClientError> {
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::unreachable(url, &e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::unreachable(url, &e))?;
        if status != 200 {
            return Err(ClientError::refused(
                url,
                status,
                &String::from_utf8_lossy(&bytes),
            ));
        }
        Ok((bytes.to_vec(), content_type))
    }

    /// The folder of pack `id`; an id that is not a pack identifier (`../x`) is refused.
    fn folder(&self, id: &str) -> Result<PathBuf, ClientError> {
        AssetPackIdentifier::parse(id)
            .map_err(|e| ClientError::Protocol(format!("pack id {id:?}: {e}")))?;
        Ok(self.config.dir.join(id))
    }

    /// The packs held, verified or not, from their `held.json`.
    pub fn held(&self) -> Result<Vec<Held>, ClientError> {
        let dir = &self.config.dir;
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ClientError::disk("read", dir, 0)(e)),
        };
        let mut held: Vec<Held> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let id = e.file_name().into_string().ok()?;
                let r = Record::read(&e.path().join("held.json"))?;
                e.path().join("pack").is_file().then_some(Held {
                    id,
                    version: r.version,
                })
            })
            .collect();
        held.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(held)
    }

    /// Whether the held copy of `id` hashes to its version's archive hash (hashed on the
    /// blocking pool).
    pub async fn verify(&self, id: &str) -> Result<bool, ClientError> {
        let folder = self.folder(id)?;
        download::blocking(move || download::verify_held(&folder)).await
    }

    /// Runs one sync: fetches the manifest, repairs held copies that fail verification,
    /// removes obsolete packs, downloads what [`plan`] says for `occasion`.
    pub async fn sync(
        &self,
        occasion: &Occasion,
        progress: &dyn Progress,
    ) -> Result<SyncReport, ClientError> {
        let (manifest, manifest_bytes) = self.manifest().await?;
        let mut transfer = Transfer {
            fetched: manifest_bytes,
            requests: 1,
            ..Transfer::default()
        };
        let mut held = Vec::new();
        let mut broken = Vec::new();
        for h in self.held()? {
            if self.verify(&h.id).await? {
                held.push(h);
            } else {
                tracing::warn!(pack = %h.id, "the held copy is corrupt; downloading it again");
                broken.push(h);
            }
        }
        let mut actions: HashMap<String, &'static str> = HashMap::new();
        // A corrupt copy is not held: the plan downloads it again where the manifest lists
        // it, reusing its good chunks.
        let mut steps = plan(&manifest, &held, occasion);
        for b in &broken {
            match manifest.pack(&b.id) {
                Some(p)
                    if !steps
                        .iter()
                        .any(|s| matches!(s, Step::Download { pack, .. } if pack.id == b.id)) =>
                {
                    steps.push(Step::Download {
                        pack: p.clone(),
                        from: Some(b.version),
                    });
                }
                None => steps.insert(
                    0,
                    Step::Remove {
                        id: b.id.clone(),
                        version: b.version,
                    },
                ),
                Some(_) => {}
            }
            actions.insert(b.id.clone(), "repaired");
        }
        for step in &steps {
            match step {
                Step::Remove { id, .. } => {
                    let folder = self.folder(id)?;
                    std::fs::remove_dir_all(&folder)
                        .map_err(ClientError::disk("remove", &folder, 0))?;
                    actions.insert(id.clone(), "removed");
                }
                Step::Download { pack, from } => {
                    transfer.add(self.download(pack, progress).await?);
                    let action = match from {
                        None => "downloaded",
                        Some(_) => "updated",
                    };
                    actions.entry(pack.id.clone()).or_insert(action);
                }
            }
        }
        let held = self.held()?;
        let mut ids: Vec<&str> = manifest
            .asset_packs
            .iter()
            .map(|p| p.id.as_str())
            .chain(held.iter().map(|h| h.id.as_str()))
            .chain(actions.keys().map(String::as_str))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let packs = ids
            .into_iter()
            .map(|id| {
                let h = held.iter().find(|h| h.id == id);
                PackReport {
                    id: id.to_owned(),
                    version: h.map(|h| h.version),
                    state: state(manifest.pack(id), h).map_or("removed", PackState::as_str),
                    action: actions.get(id).copied().unwrap_or(""),
                }
            })
            .collect();
        Ok(SyncReport { packs, transfer })
    }

    /// Downloads `pack`'s listed version into its folder, reusing every chunk the held
    /// version has and every chunk an interrupted download left in place.
    pub async fn download(
        &self,
        pack: &ManifestPack,
        progress: &dyn Progress,
    ) -> Result<Transfer, ClientError> {
        let folder = self.folder(&pack.id)?;
        download::download(self, pack, folder, progress).await
    }

    /// The HTTP client, for range requests.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Range requests in flight at once, and ranges in one request, at most.
    pub(crate) fn parallelism(&self) -> (usize, usize) {
        (self.config.parallel.max(1), self.config.max_ranges.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pack_id_that_would_leave_the_devices_folder_is_refused() {
        let device = Device::new(DeviceConfig {
            edge: "http://127.0.0.1:9".into(),
            app: "app".into(),
            channel: "store".into(),
            token: None,
            platform: "iOS".into(),
            os: "27.0".into(),
            languages: Vec::new(),
            device_id: None,
            dir: "/tmp/packyard-device-test".into(),
            parallel: 1,
            max_ranges: 1,
        })
        .unwrap();
        for hostile in ["../etc", "/abs", "a/b", "", ".."] {
            let err = device.folder(hostile).unwrap_err();
            assert!(
                matches!(err, ClientError::Protocol(_)),
                "{hostile:?}: {err}"
            );
            assert!(device.verify(hostile).await.is_err(), "{hostile:?}");
        }
        assert_eq!(
            device.folder("level-1").unwrap(),
            std::path::Path::new("/tmp/packyard-device-test/level-1")
        );
    }
}
