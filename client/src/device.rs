//! [`Device`]: one device's packs on disk, kept in step with an edge.
//!
//! Each pack has a folder `DIR/{id}/`: `pack` (the verified archive of the version held),
//! `held.json` (that version and its chunk list), and while a download runs `next.partial`
//! (the new archive, written in place) with `next.json` (the version it is becoming).
//!
//! A download fetches the new version's chunk list, then fills `next.partial` chunk by chunk:
//! a chunk whose bytes there already hash to its id is done (a resumed download sends nothing
//! twice), a chunk the held version has is copied from `pack` (a delta update), and the
//! rest is asked of the edge as byte ranges, several per request, several requests at once.
//! When every chunk verifies and the whole file hashes to the manifest's `archiveHash`, it
//! replaces `pack` by a rename. A held copy that no longer hashes right is downloaded again,
//! its good chunks reused.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Write as _;
use std::ops::Range;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use packyard_core::chunk_list::COMPACT_MEDIA_TYPE;
use packyard_core::pieces::{self, Piece, PieceName, Selection};
use packyard_core::{AssetPackIdentifier, Blake3Hash, ChunkList};
use serde::{Deserialize, Serialize};

use crate::delta::{Lacking, Wanted, batches, layout, offsets, piece_index};
use crate::error::ClientError;
use crate::fetch;
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
    fn add(&mut self, other: Transfer) {
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

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    version: u32,
    chunks: ChunkList,
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

    async fn body(&self, url: &str) -> Result<Vec<u8>, ClientError> {
        Ok(self.answer(self.get(url), url).await?.0)
    }

    /// The chunk list at `url`, asked in its compact form; whether it came so (an older
    /// edge sends the JSON document).
    async fn chunk_list(&self, url: &str) -> Result<(Vec<u8>, bool), ClientError> {
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

    fn record(path: &Path) -> Option<Record> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
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
                let r = Self::record(&e.path().join("held.json"))?;
                e.path().join("pack").is_file().then_some(Held {
                    id,
                    version: r.version,
                })
            })
            .collect();
        held.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(held)
    }

    /// Whether the held copy of `id` hashes to its version's archive hash.
    pub fn verify(&self, id: &str) -> Result<bool, ClientError> {
        let folder = self.folder(id)?;
        let Some(record) = Self::record(&folder.join("held.json")) else {
            return Ok(false);
        };
        let pack = folder.join("pack");
        let mut hasher = blake3::Hasher::new();
        match File::open(&pack) {
            Ok(f) => {
                hasher
                    .update_reader(f)
                    .map_err(ClientError::disk("read", &pack, 0))?;
            }
            Err(_) => return Ok(false),
        }
        let got = Blake3Hash::from_bytes(*hasher.finalize().as_bytes());
        Ok(got == record.chunks.archive_hash())
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
            if self.verify(&h.id)? {
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
        let size = pack.download_size;
        std::fs::create_dir_all(&folder).map_err(ClientError::disk("create", &folder, size))?;
        let (chunk_bytes, compact) = self.chunk_list(&pack.chunks_url).await?;
        let mut transfer = Transfer {
            fetched: chunk_bytes.len() as u64,
            listed: chunk_bytes.len() as u64,
            requests: 1,
            ..Transfer::default()
        };
        let chunks = if compact {
            ChunkList::from_compact(&chunk_bytes).map_err(|e| e.to_string())
        } else {
            serde_json::from_slice(&chunk_bytes).map_err(|e| e.to_string())
        }
        .map_err(|e| ClientError::Protocol(format!("the chunk list: {e}")))?;
        if chunks.archive_hash() != pack.archive_hash || chunks.size() != size {
            return Err(ClientError::Protocol(
                "the chunk list is not the manifest's version".into(),
            ));
        }
        let next = Record {
            version: pack.version,
            chunks,
        };
        let (partial, next_json) = (folder.join("next.partial"), folder.join("next.json"));
        let resuming = Self::record(&next_json).is_some_and(|r| {
            r.version == next.version && r.chunks.archive_hash() == next.chunks.archive_hash()
        });
        if !resuming && free_space(&folder).is_some_and(|free| free < size) {
            // Refused before a byte is written; what the device holds stays as it is.
            return Err(ClientError::NoSpace {
                path: partial,
                needed: size,
            });
        }
        let out = std::fs::OpenOptions::new()
            .create(true)
            .truncate(!resuming)
            .read(true)
            .write(true)
            .open(&partial)
            .map_err(ClientError::disk("create", &partial, size))?;
        out.set_len(size)
            .map_err(ClientError::disk("size", &partial, size))?;
        if !resuming {
            write_atomically(
                &next_json,
                &serde_json::to_vec(&next).unwrap_or_default(),
                size,
            )?;
        }
        // What the held version (even a corrupt one: its chunks are checked) offers.
        let seed_file = File::open(folder.join("pack")).ok();
        let seed_list = Self::record(&folder.join("held.json")).map(|r| r.chunks);
        let seed: HashMap<Blake3Hash, u64> = seed_list
            .as_ref()
            .map(|l| offsets(l).collect())
            .unwrap_or_default();
        let mut reused_whole: HashSet<Blake3Hash> = HashSet::new();
        let mut lacking: Vec<Lacking> = Vec::new();
        let mut done = 0u64;
        for (index, (id, at, len)) in layout(&next.chunks).enumerate() {
            let mut buf = vec![0u8; len];
            if resuming && out.read_exact_at(&mut buf, at).is_ok() && Blake3Hash::of(&buf) == id {
                transfer.resumed += len as u64;
            } else if let (Some(file), Some(&from)) = (&seed_file, seed.get(&id))
                && file.read_exact_at(&mut buf, from).is_ok()
                && Blake3Hash::of(&buf) == id
            {
                out.write_all_at(&buf, at)
                    .map_err(ClientError::disk("write", &partial, size))?;
                transfer.reused += len as u64;
                reused_whole.insert(id);
            } else {
                lacking.push(Lacking {
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                    id,
                    at,
                    len: u32::try_from(len).unwrap_or(u32::MAX),
                });
                continue;
            }
            done += len as u64;
        }

        // A chunk lacking is most often a chunk of the held version with a few kilobytes
        // changed: its pieces that the held version has are copied, only the rest fetched.
        let mut wanted = Wanted::default();
        let mut pieced: Vec<&Lacking> = Vec::new();
        let lists = match (&seed_file, &seed_list, &pack.pieces_url) {
            (Some(_), Some(_), Some(url)) if !lacking.is_empty() => {
                self.pieces(url, &lacking, &mut transfer).await?
            }
            _ => None,
        };
        match (lists, &seed_file, &seed_list) {
            (Some(lists), Some(file), Some(seed_list)) => {
                let have = piece_index(file, seed_list, &reused_whole);
                for (chunk, pieces) in lacking.iter().zip(lists) {
                    let mut at = chunk.at;
                    for p in pieces {
                        let len = usize::from(p.len);
                        let mut buf = vec![0u8; len];
                        if resuming
                            && out.read_exact_at(&mut buf, at).is_ok()
                            && PieceName::of(&buf) == p.name
                        {
                            transfer.resumed += len as u64;
                            done += len as u64;
                        } else if let Some(&from) = have.get(&(p.name, p.len))
                            && file.read_exact_at(&mut buf, from).is_ok()
                            && PieceName::of(&buf) == p.name
                        {
                            out.write_all_at(&buf, at)
                                .map_err(ClientError::disk("write", &partial, size))?;
                            transfer.reused += len as u64;
                            done += len as u64;
                        } else {
                            wanted.add(at..at + len as u64);
                        }
                        at += len as u64;
                    }
                    pieced.push(chunk);
                }
            }
            _ => {
                for chunk in &lacking {
                    wanted.add(chunk.range());
                }
            }
        }
        progress.advanced(&pack.id, done, size);
        let mut fill = Fill {
            pack,
            etag: next.chunks.etag(),
            out: &out,
            partial: &partial,
            progress,
            done,
        };
        self.fetch_into(&mut fill, wanted.0, &mut transfer).await?;
        // A chunk built from pieces is checked against its id: a piece name that matched
        // other bytes, or a held copy that changed meanwhile, costs that chunk fetched whole.
        let mut again = Wanted::default();
        for chunk in pieced {
            let mut buf = vec![0u8; chunk.len as usize];
            out.read_exact_at(&mut buf, chunk.at)
                .map_err(ClientError::disk("read", &partial, size))?;
            if Blake3Hash::of(&buf) != chunk.id {
                tracing::warn!(pack = %pack.id, chunk = %chunk.id, "a chunk built from pieces does not verify; fetching it whole");
                fill.done = fill.done.saturating_sub(u64::from(chunk.len));
                again.add(chunk.range());
            }
        }
        self.fetch_into(&mut fill, again.0, &mut transfer).await?;
        out.sync_all()
            .map_err(ClientError::disk("sync", &partial, size))?;
        drop(out);
        let mut hasher = blake3::Hasher::new();
        hasher
            .update_reader(File::open(&partial).map_err(ClientError::disk("open", &partial, size))?)
            .map_err(ClientError::disk("read", &partial, size))?;
        if Blake3Hash::from_bytes(*hasher.finalize().as_bytes()) != pack.archive_hash {
            // The next sync finds which chunks are wrong and fetches only those.
            return Err(ClientError::Corrupt {
                what: format!("version {} of pack {}", pack.version, pack.id),
            });
        }
        let held_json = folder.join("held.json");
        std::fs::rename(&partial, folder.join("pack"))
            .map_err(ClientError::disk("rename", &partial, size))?;
        std::fs::rename(&next_json, &held_json)
            .map_err(ClientError::disk("rename", &next_json, size))?;
        Ok(transfer)
    }
    /// Asks the edge for the pieces of `lacking`, a request per
    /// [`pieces::MAX_CHUNKS_PER_REQUEST`] chunks. `None` when the edge does not offer them
    /// (an older edge): the chunks are then fetched whole.
    async fn pieces(
        &self,
        url: &str,
        lacking: &[Lacking],
        transfer: &mut Transfer,
    ) -> Result<Option<Vec<Vec<Piece>>>, ClientError> {
        let mut lists = Vec::with_capacity(lacking.len());
        for group in lacking.chunks(pieces::MAX_CHUNKS_PER_REQUEST) {
            let selection = Selection::of(group.iter().map(|c| c.index).collect());
            let sep = if url.contains('?') { '&' } else { '?' };
            let asked = format!("{url}{sep}chunks={}", selection.to_query());
            let bytes = match self.body(&asked).await {
                Ok(b) => b,
                Err(ClientError::NotServed { .. } | ClientError::Refused { .. })
                    if lists.is_empty() =>
                {
                    tracing::info!(%url, "the edge offers no pieces; lacking chunks are fetched whole");
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            transfer.fetched += bytes.len() as u64;
            transfer.listed += bytes.len() as u64;
            transfer.requests += 1;
            let shape: Vec<(u32, u32)> = group.iter().map(|c| (c.index, c.len)).collect();
            lists.extend(
                pieces::decode(&bytes, &shape)
                    .map_err(|e| ClientError::Protocol(format!("the pieces of {asked}: {e}")))?,
            );
        }
        Ok(Some(lists))
    }

    /// Fetches `ranges` of the pack into its partial file, several ranges a request and
    /// several requests at once.
    async fn fetch_into(
        &self,
        fill: &mut Fill<'_>,
        ranges: Vec<Range<u64>>,
        transfer: &mut Transfer,
    ) -> Result<(), ClientError> {
        let size = fill.pack.download_size;
        let mut running = tokio::task::JoinSet::new();
        let mut queue = batches(ranges, self.config.max_ranges.max(1)).into_iter();
        loop {
            while running.len() < self.config.parallel.max(1) {
                let Some(batch) = queue.next() else { break };
                // A beta manifest's pack URL carries the tester token in its query.
                let (http, url, etag) =
                    (self.http.clone(), fill.pack.url.clone(), fill.etag.clone());
                running.spawn(async move { fetch::ranges(&http, &url, &etag, &batch).await });
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            let (parts, body_len) = joined
                .map_err(|e| ClientError::Protocol(format!("a download task failed: {e}")))??;
            transfer.requests += 1;
            transfer.fetched += body_len;
            for (range, bytes) in parts {
                fill.out
                    .write_all_at(&bytes, range.start)
                    .map_err(ClientError::disk("write", fill.partial, size))?;
                fill.done += bytes.len() as u64;
            }
            fill.progress
                .advanced(&fill.pack.id, fill.done.min(size), size);
        }
        Ok(())
    }
}

/// A download's new file being filled: where, under which ETag, and how much is in place.
struct Fill<'a> {
    pack: &'a ManifestPack,
    etag: String,
    out: &'a File,
    partial: &'a Path,
    progress: &'a dyn Progress,
    done: u64,
}

/// Bytes an unprivileged writer may still use on the file system holding `path`, if it
/// says.
fn free_space(path: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(path).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

/// Writes `bytes` to `path` through a temporary file and a rename.
fn write_atomically(path: &Path, bytes: &[u8], needed: u64) -> Result<(), ClientError> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(ClientError::disk("create", &tmp, needed))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(ClientError::disk("write", &tmp, needed))?;
    std::fs::rename(&tmp, path).map_err(ClientError::disk("rename", &tmp, needed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pack_id_that_would_leave_the_devices_folder_is_refused() {
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
            assert!(device.verify(hostile).is_err(), "{hostile:?}");
        }
        assert_eq!(
            device.folder("level-1").unwrap(),
            Path::new("/tmp/packyard-device-test/level-1")
        );
    }

    #[test]
    fn the_file_system_says_how_much_room_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let free = free_space(dir.path()).unwrap();
        assert!(free > 0);
        assert_eq!(free_space(&dir.path().join("missing")), None);
    }
}
