//! `packyard versions …`: upload a version (resumable), list a pack's versions with their
//! state on every release track, show one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::client::AdminClient;
use super::connection::Connection;
use super::output::{Table, cell, record};
use super::{Session, path_id, run, to_one, upload};

/// `packyard versions …`
#[derive(Debug, Args)]
pub(crate) struct VersionsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: VersionsCommand,
}

#[derive(Debug, Subcommand)]
enum VersionsCommand {
    /// Upload a pack archive as a new version: create the version, send the parts, commit with
    /// the SHA-256, and wait until the origin has processed it. After a break, run it again
    /// with `--resume UPLOAD_FILE` to send only the parts the origin lacks.
    Upload {
        /// The pack's id (not needed with --resume).
        #[arg(long, required_unless_present = "resume", conflicts_with = "resume")]
        pack: Option<String>,
        /// The archive (`packyard pack build` output, or an opaque `.aar` with --manifest).
        file: PathBuf,
        /// The packaging manifest, for an archive that does not carry one inside.
        #[arg(long, value_name = "FILE", conflicts_with = "resume")]
        manifest: Option<PathBuf>,
        /// Continue an interrupted upload: the upload file's id, printed when it started.
        #[arg(long, value_name = "UPLOAD_FILE")]
        resume: Option<String>,
        /// Return once the archive is committed, without waiting for processing.
        #[arg(long)]
        no_wait: bool,
        /// How long to wait for processing, in seconds.
        #[arg(long, default_value_t = 600, value_name = "SECONDS")]
        wait_timeout: u64,
    },
    /// A pack's versions, with their state and their state on each release track.
    List {
        /// The pack's id.
        #[arg(long)]
        pack: String,
    },
    /// One version, with its release tracks.
    Show {
        /// The version's id.
        version: String,
    },
}

impl VersionsArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        run(&self.connection, |s| async move {
            match &self.command {
                VersionsCommand::Upload {
                    pack,
                    file,
                    manifest,
                    resume,
                    no_wait,
                    wait_timeout,
                } => {
                    let version = match (pack, resume) {
                        (_, Some(resume)) => resume_upload(&s, resume, file).await?,
                        (Some(pack), None) => {
                            start_upload(&s, pack, file, manifest.as_deref()).await?
                        }
                        (None, None) => bail!("--pack is required (or --resume)"),
                    };
                    let doc = if *no_wait {
                        s.client
                            .get(&format!("/v1/backgroundAssetVersions/{version}"))
                            .await?
                    } else {
                        wait_processed(&s.client, &version, Duration::from_secs(*wait_timeout))
                            .await?
                    };
                    let doc = with_tracks(&s.client, doc).await?;
                    s.show(&doc, version_record);
                }
                VersionsCommand::List { pack } => {
                    let path = format!("/v1/backgroundAssets/{}/versions", path_id("pack", pack)?);
                    let mut versions = Vec::new();
                    for v in s.client.get_all(&path).await? {
                        versions.push(tracks_of(&s.client, v).await?);
                    }
                    s.show_list(versions, versions_table);
                }
                VersionsCommand::Show { version } => {
                    let path = format!(
                        "/v1/backgroundAssetVersions/{}",
                        path_id("version", version)?
                    );
                    let doc = with_tracks(&s.client, s.client.get(&path).await?).await?;
                    s.show(&doc, version_record);
                }
            }
            Ok(())
        })
    }
}

/// The file's size, refusing what cannot be uploaded before anything is created.
fn file_size(file: &Path) -> anyhow::Result<u64> {
    let meta = std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?;
    if !meta.is_file() {
        bail!("{} is not a file", file.display());
    }
    if meta.len() == 0 {
        bail!(
            "{} is empty; a pack archive has at least one file",
            file.display()
        );
    }
    Ok(meta.len())
}

fn file_name(file: &Path) -> String {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pack.tar".to_owned())
}

/// Creates a version and its upload file(s), sends them and commits them; returns the
/// version's id.
async fn start_upload(
    s: &Session,
    pack: &str,
    file: &Path,
    manifest: Option<&Path>,
) -> anyhow::Result<String> {
    let size = file_size(file)?;
    let manifest_size = manifest.map(file_size).transpose()?;
    let body = json!({"data": {"type": "backgroundAssetVersions", "relationships": {
        "backgroundAsset": to_one("backgroundAssets", path_id("pack", pack)?)}}});
    let doc = s.client.post("/v1/backgroundAssetVersions", body).await?;
    let version = id_of(&doc)?;
    let number = cell(&doc["data"]["attributes"]["version"]);
    let reserve = |name: String, size: u64, kind: &'static str| {
        let body = json!({"data": {"type": "backgroundAssetUploadFiles",
            "attributes": {"fileName": name, "fileSize": size, "assetType": kind},
            "relationships": {"backgroundAssetVersion":
                to_one("backgroundAssetVersions", &version)}}});
        s.client.post("/v1/backgroundAssetUploadFiles", body)
    };
    let asset = reserve(file_name(file), size, "ASSET").await?;
    let asset_id = id_of(&asset)?;
    eprintln!(
        "version {number} ({version}): uploading {} bytes as upload file {asset_id}; if this \
         stops, continue with: packyard versions upload --resume {asset_id} {}",
        size,
        file.display()
    );
    if let (Some(path), Some(len)) = (manifest, manifest_size) {
        let doc = reserve(file_name(path), len, "MANIFEST").await?;
        send_and_commit(s, &doc, path, len).await?;
    }
    send_and_commit(s, &asset, file, size).await?;
    Ok(version)
}

/// Continues an upload file's upload; returns its version's id.
async fn resume_upload(s: &Session, upload_file: &str, file: &Path) -> anyhow::Result<String> {
    let size = file_size(file)?;
    let path = format!(
        "/v1/backgroundAssetUploadFiles/{}",
        path_id("upload file", upload_file)?
    );
    let doc = s.client.get(&path).await?;
    let version = doc["data"]["relationships"]["backgroundAssetVersion"]["data"]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("upload file {upload_file} names no version"))?
        .to_owned();
    let state = cell(&doc["data"]["attributes"]["state"]);
    if state != "AWAITING_UPLOAD" {
        eprintln!("upload file {upload_file} is already {state}; nothing to send");
        return Ok(version);
    }
    let expected = doc["data"]["attributes"]["fileSize"].as_u64().unwrap_or(0);
    if expected != size {
        bail!(
            "{} has {size} bytes but upload file {upload_file} was reserved for {expected}; \
             is it the same file?",
            file.display()
        );
    }
    send_and_commit(s, &doc, file, size).await?;
    Ok(version)
}

async fn send_and_commit(
    s: &Session,
    upload_file: &Value,
    file: &Path,
    size: u64,
) -> anyhow::Result<()> {
    let id = id_of(upload_file)?;
    let ops = upload::operations(upload_file)?;
    let sha256 = upload::send(&s.client, file, size, &ops).await?;
    s.client
        .patch(
            &format!("/v1/backgroundAssetUploadFiles/{id}"),
            upload::commit_body(&id, &sha256),
        )
        .await
        .with_context(|| format!("committing {} (SHA-256 {sha256})", file.display()))?;
    eprintln!("committed {} (SHA-256 {sha256})", file.display());
    Ok(())
}

/// Polls the version until processing ends; a FAILED version is an error naming why.
async fn wait_processed(
    client: &AdminClient,
    version: &str,
    timeout: Duration,
) -> anyhow::Result<Value> {
    let started = Instant::now();
    let path = format!("/v1/backgroundAssetVersions/{version}");
    loop {
        let doc = client.get(&path).await?;
        let attributes = &doc["data"]["attributes"];
        match attributes["state"].as_str() {
            Some("COMPLETE") => return Ok(doc),
            Some("FAILED") => {
                let errors: Vec<String> = attributes["stateDetails"]["errors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| format!("{}: {}", cell(&e["code"]), cell(&e["description"])))
                    .collect();
                bail!("version {version} FAILED: {}", errors.join("; "));
            }
            _ if started.elapsed() > timeout => bail!(
                "version {version} is still {} after {}s; see `packyard versions show {version}`",
                cell(&attributes["state"]),
                timeout.as_secs()
            ),
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// The release-track states of a version resource, added as its `meta.tracks`.
async fn tracks_of(client: &AdminClient, mut version: Value) -> anyhow::Result<Value> {
    let id = cell(&version["id"]);
    let mut tracks = serde_json::Map::new();
    for (track, relationship, path) in [
        (
            "internal",
            "internalBetaRelease",
            "backgroundAssetVersionInternalBetaReleases",
        ),
        (
            "external",
            "externalBetaRelease",
            "backgroundAssetVersionExternalBetaReleases",
        ),
        (
            "store",
            "appStoreRelease",
            "backgroundAssetVersionAppStoreReleases",
        ),
    ] {
        let state = if version["relationships"][relationship]["data"].is_null() {
            Value::Null
        } else {
            let doc = client.get(&format!("/v1/{path}/{id}")).await?;
            doc["data"]["attributes"]["state"].clone()
        };
        tracks.insert(track.to_owned(), state);
    }
    version["meta"] = json!({ "tracks": tracks });
    Ok(version)
}

async fn with_tracks(client: &AdminClient, mut doc: Value) -> anyhow::Result<Value> {
    doc["data"] = tracks_of(client, doc["data"].take()).await?;
    Ok(doc)
}

fn id_of(doc: &Value) -> anyhow::Result<String> {
    doc["data"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the answer has no data.id: {doc}"))
}

fn versions_table(doc: &Value) -> Table {
    let mut table = Table::new(&[
        "ID", "VERSION", "STATE", "INTERNAL", "EXTERNAL", "STORE", "SIZE", "LANGUAGE",
    ]);
    for v in doc["data"].as_array().into_iter().flatten() {
        let a = &v["attributes"];
        let t = &v["meta"]["tracks"];
        table.row(vec![
            cell(&v["id"]),
            cell(&a["version"]),
            cell(&a["state"]),
            cell(&t["internal"]),
            cell(&t["external"]),
            cell(&t["store"]),
            cell(&a["size"]),
            cell(&a["locale"]),
        ]);
    }
    table
}

fn version_record(doc: &Value) -> Table {
    let mut table = record(doc);
    let tracks = &doc["data"]["meta"]["tracks"];
    for track in ["internal", "external", "store"] {
        table.row(vec![format!("{track} track"), cell(&tracks[track])]);
    }
    table
}
