//! `packyard versions …`: upload a version (resumable), list a pack's versions with their
//! state on every release track, show one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use packyard_admin_client::{
    AdminClient, AdminError, AssetType, NewUploadFile, Track, UploadFile, Version,
};
use packyard_core::catalog::Sha256Digest;
use serde_json::{Value, json};

use super::connection::Connection;
use super::output::{Table, cell, record, size_cell};
use super::progress::Bar;
use super::{Session, path_id, run};

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
    /// Upload a pack archive as a new version: create the version, send it, commit with the
    /// SHA-256, and wait until the origin has processed it. The archive is cut into chunks as
    /// the origin cuts them and only the chunks the store lacks for this pack are sent (so a
    /// version that changes a few files sends little); `--whole` sends every byte in parts.
    /// After a break, run it again with `--resume UPLOAD_FILE` to send only what is missing.
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
        /// Send every byte of the archive in parts, not only the chunks the store lacks.
        #[arg(long)]
        whole: bool,
        /// How long to wait for processing, in seconds.
        #[arg(long, default_value_t = 600, value_name = "SECONDS")]
        wait_timeout: u64,
        /// Send to this origin (`http[s]://HOST[:PORT]`) rather than the one the control
        /// plane names: any origin of the cluster takes any upload, so an upload whose
        /// origin went down resumes through another.
        #[arg(long, value_name = "URL")]
        origin: Option<String>,
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
                    whole,
                    wait_timeout,
                    origin,
                } => {
                    let how = How {
                        whole: *whole,
                        origin: origin.clone(),
                    };
                    let version = match (pack, resume) {
                        (_, Some(resume)) => resume_upload(&s, resume, file, &how).await?,
                        (Some(pack), None) => {
                            start_upload(&s, pack, file, manifest.as_deref(), &how).await?
                        }
                        (None, None) => bail!("--pack is required (or --resume)"),
                    };
                    let version = if *no_wait {
                        s.client.version(&version).await?
                    } else {
                        wait_processed(&s.client, &version, Duration::from_secs(*wait_timeout))
                            .await?
                    };
                    let doc = with_tracks(&s.client, version.document).await?;
                    s.show(&doc, version_record);
                }
                VersionsCommand::List { pack } => {
                    let mut versions = Vec::new();
                    for v in s.client.versions(path_id("pack", pack)?).await? {
                        versions.push(tracks_of(&s.client, v).await?);
                    }
                    s.show_list(versions, versions_table);
                }
                VersionsCommand::Show { version } => {
                    let version = s.client.version(path_id("version", version)?).await?;
                    let doc = with_tracks(&s.client, version.document).await?;
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

/// How an upload sends its bytes.
struct How {
    /// In parts, every byte (else as chunks, only those the store lacks).
    whole: bool,
    /// Through this origin rather than the control plane's.
    origin: Option<String>,
}

impl How {
    /// The flags that send the same way again, for the resume hint.
    fn flags(&self) -> String {
        let mut flags = String::new();
        if self.whole {
            flags.push_str(" --whole");
        }
        if let Some(origin) = &self.origin {
            flags.push_str(" --origin ");
            flags.push_str(origin);
        }
        flags
    }
}

/// Creates a version and its upload file(s), sends them and commits them; returns the
/// version's id.
async fn start_upload(
    s: &Session,
    pack: &str,
    file: &Path,
    manifest: Option<&Path>,
    how: &How,
) -> anyhow::Result<String> {
    let size = file_size(file)?;
    let manifest_size = manifest.map(file_size).transpose()?;
    let version = s.client.create_version(path_id("pack", pack)?).await?;
    let reserve = |name: String, size: u64, asset_type: AssetType| {
        let file = NewUploadFile {
            version: version.id.clone(),
            file_name: name,
            file_size: size,
            asset_type,
        };
        async move { s.client.reserve_upload(&file).await }
    };
    let asset = reserve(file_name(file), size, AssetType::Asset).await?;
    eprintln!(
        "version {} ({}): uploading {} bytes as upload file {}; if this stops, continue \
         with: packyard versions upload --resume {} {}{}",
        version.number,
        version.id,
        size,
        asset.id,
        asset.id,
        file.display(),
        how.flags()
    );
    if let (Some(path), Some(len)) = (manifest, manifest_size) {
        let manifest_file = reserve(file_name(path), len, AssetType::Manifest).await?;
        let manifest_how = How {
            whole: true,
            origin: how.origin.clone(),
        };
        send_and_commit(s, manifest_file, path, len, &manifest_how).await?;
    }
    send_and_commit(s, asset, file, size, how).await?;
    Ok(version.id)
}

/// Continues an upload file's upload; returns its version's id.
async fn resume_upload(
    s: &Session,
    upload_file: &str,
    file: &Path,
    how: &How,
) -> anyhow::Result<String> {
    let size = file_size(file)?;
    let reserved = s
        .client
        .upload_file(path_id("upload file", upload_file)?)
        .await?;
    if !reserved.state.takes_parts() {
        eprintln!(
            "upload file {upload_file} is already {}; nothing to send",
            reserved.state
        );
        return Ok(reserved.version);
    }
    if reserved.file_size != size {
        bail!(
            "{} has {size} bytes but upload file {upload_file} was reserved for {}; \
             is it the same file?",
            file.display(),
            reserved.file_size
        );
    }
    let version = reserved.version.clone();
    send_and_commit(s, reserved, file, size, how).await?;
    Ok(version)
}

async fn send_and_commit(
    s: &Session,
    upload_file: UploadFile,
    file: &Path,
    size: u64,
    how: &How,
) -> anyhow::Result<()> {
    let upload_file = &match &how.origin {
        Some(origin) => upload_file.through_origin(origin)?,
        None => upload_file,
    };
    let as_chunks = !how.whole
        && upload_file.chunks_url.is_some()
        && upload_file.document["data"]["attributes"]["assetType"] == "ASSET";
    let sent = if as_chunks {
        Ok(send_as_chunks(s, upload_file, file, size).await?)
    } else {
        s.client
            .send_file(file, size, upload_file, &mut Bar::new(file))
            .await
    };
    let sha256 = match sent {
        Err(e @ AdminError::PartFailed { .. }) => {
            bail!("{e}; run the same command with --resume to send only the missing parts")
        }
        other => other?,
    };
    s.client
        .commit_upload(&upload_file.id, &sha256)
        .await
        .with_context(|| format!("committing {} (SHA-256 {sha256})", file.display()))?;
    eprintln!("committed {} (SHA-256 {sha256})", file.display());
    Ok(())
}

/// Chunks sent at once: each waits a round trip to the origin and its store.
const CHUNKS_IN_FLIGHT: usize = 8;

/// Sends `file` as chunks: cuts it as the origin cuts archives, sends the chunk list, then
/// the chunks the store lacks, each once. Returns the file's SHA-256, hex.
async fn send_as_chunks(
    s: &Session,
    upload: &UploadFile,
    file: &Path,
    size: u64,
) -> anyhow::Result<String> {
    let path = file.to_owned();
    let cut = tokio::task::spawn_blocking(move || packyard_origin::ingest::cut_file(&path))
        .await?
        .with_context(|| format!("cutting {} into chunks", file.display()))?;
    let (list, sha256) = (cut.chunks, Sha256Digest(cut.sha256).to_hex());
    let sent = s
        .client
        .send_missing_chunks(upload, &list, file, CHUNKS_IN_FLIGHT)
        .await
        .map_err(|e| {
            anyhow::anyhow!("{e}; run the same command with --resume to send only what is missing")
        })?;
    eprintln!(
        "sent {} of {size} bytes ({} of {} chunks); the store held the rest",
        sent.bytes,
        sent.chunks,
        list.len()
    );
    Ok(sha256)
}

/// Waits until processing ends, saying so (a spinner on a terminal, a line otherwise, and
/// how long it took); a FAILED version is an error naming why.
async fn wait_processed(
    client: &AdminClient,
    version: &str,
    timeout: Duration,
) -> anyhow::Result<Version> {
    use std::io::IsTerminal as _;
    let started = std::time::Instant::now();
    let spinner = if std::io::stderr().is_terminal() {
        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.set_message("processing on the origin: chunking and hashing…");
        spinner.enable_steady_tick(Duration::from_millis(120));
        Some(spinner)
    } else {
        eprintln!(
            "processing on the origin: chunking and hashing (waiting up to {} s)…",
            timeout.as_secs()
        );
        None
    };
    let result = client.wait_processed(version, timeout).await;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    match result {
        Err(e @ AdminError::StillProcessing { .. }) => {
            bail!("{e}; see `packyard versions show {version}`")
        }
        Ok(v) => {
            eprintln!(
                "processed in {:.1} s: version {} is {}",
                started.elapsed().as_secs_f64(),
                v.number,
                v.state.as_str()
            );
            Ok(v)
        }
        Err(e) => Err(e.into()),
    }
}

/// The release-track states of a version resource, added as its `meta.tracks`.
async fn tracks_of(client: &AdminClient, mut version: Value) -> anyhow::Result<Value> {
    let id = cell(&version["id"]);
    let mut tracks = serde_json::Map::new();
    for (name, track) in ["internal", "external", "store"]
        .into_iter()
        .zip(Track::ALL)
    {
        let state = if version["relationships"][track.relationship()]["data"].is_null() {
            Value::Null
        } else {
            let doc = client.release(track, &id).await?;
            doc["data"]["attributes"]["state"].clone()
        };
        tracks.insert(name.to_owned(), state);
    }
    version["meta"] = json!({ "tracks": tracks });
    Ok(version)
}

async fn with_tracks(client: &AdminClient, mut doc: Value) -> anyhow::Result<Value> {
    doc["data"] = tracks_of(client, doc["data"].take()).await?;
    Ok(doc)
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
            size_cell(&a["size"]),
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
