//! [`Processor`]: turns one version's committed upload files into stored chunks and a
//! report: complete (chunk list and manifest metadata) or failed (with reasons).

use std::io::{self, Read};
use std::sync::Arc;
use std::time::Duration;

use packyard_chunk_store::{ChunkStore, ChunkStoreError};
use packyard_core::Blake3Hash;
use packyard_core::archive::MAX_PREFIX_LEN;
use packyard_core::catalog::{AssetType, CommittedFile, Sha256Digest, VersionContent};
use packyard_core::manifest::MAX_MANIFEST_BYTES;
use sha2::{Digest, Sha256};
use tonic::Code;

use super::metadata::{codes, failed, version_metadata};
use super::store_io::{ChunksReader, IN_FLIGHT, Writers, still_there};
use crate::control::{self, ControlPlane, Failure, Outcome, ProcessingVersion, UploadInfo};
use crate::ingest::{ChunkingParams, IngestError, Ingested, ingest};
use crate::staging::{PartLayout, Staging};
use crate::upload::chunks::{ChunkListBody, Listed};
use packyard_catalog_client::Stop;

/// Hooks for tests that need processing to fail or wait at a chosen point.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessHooks {
    /// Stop processing (as a crash would: no report, nothing cleaned up) once this many
    /// chunks of a version are stored.
    pub stop_after_chunks: Option<usize>,
    /// Hold processing, part-way, once this many chunks of a version are stored: the
    /// version waits there (no report) until the origin stops, so a test can kill the
    /// process in the middle of processing however fast the machine is.
    pub hold_after_chunks: Option<usize>,
}

/// Why a version was not settled by this attempt.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The origin is stopping (or a test hook stopped it); the version is processed again
    /// after the next start.
    #[error("processing was stopped")]
    Stopped,
    /// The origin's own disk, the store or the control plane failed; worth another try
    /// later.
    #[error("{0}")]
    Local(String),
    /// Another origin holds the version's processing lease: it is processing it.
    #[error("{0}")]
    Elsewhere(String),
}

/// How long a processing lease lasts unless renewed; it is renewed every third of it.
const LEASE_TTL: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
enum SinkError {
    #[error("stopped")]
    Stopped,
    #[error(transparent)]
    Store(ChunkStoreError),
}

/// Processes versions: one instance per origin, shared by the processing tasks.
#[derive(Debug)]
pub struct Processor<S> {
    /// Where the parts are.
    pub staging: Arc<Staging>,
    /// Where the chunks go.
    pub store: Arc<S>,
    /// Whom to ask and report to.
    pub control: ControlPlane,
    /// How archives are chunked.
    pub params: ChunkingParams,
    /// Test hooks; default none.
    pub hooks: ProcessHooks,
    /// The origin's shutdown signal.
    pub stop: Stop,
    /// Where outcomes and processing times are counted.
    pub metrics: crate::metrics::OriginMetrics,
    /// Whether other origins share the store (a bucket): their garbage collection may
    /// remove a chunk found present before the version naming it is reported, so every
    /// such chunk is looked for again before the report.
    pub shared_store: bool,
}

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

impl<S: ChunkStore + 'static> Processor<S> {
    /// Processes `v` and reports the outcome; once the control plane has it, deletes the
    /// version's staged parts. An error means nothing was reported.
    ///
    /// The version is processed under the lease `processing/{versionId}`, renewed while it
    /// runs and let go after the report, so two origins never process one version; while
    /// another origin holds it, the answer is [`ProcessError::Elsewhere`].
    pub async fn run(&self, v: &ProcessingVersion) -> Result<(), ProcessError> {
        let lease = format!("processing/{}", v.version);
        self.claim(&lease).await?;
        let renewing = AbortOnDrop(tokio::spawn(renew(
            self.control.clone(),
            lease.clone(),
            self.stop.clone(),
        )));
        let result = self.claimed(v).await;
        drop(renewing);
        if let Err(e) = self.control.release_lease(&lease).await {
            tracing::debug!(lease, error = %e, "cannot let the lease go; it runs out by itself");
        }
        result
    }

    /// Takes the lease, waiting out a control plane that cannot answer.
    async fn claim(&self, lease: &str) -> Result<(), ProcessError> {
        let mut delays = packyard_net::backoff(BACKOFF_START, BACKOFF_MAX);
        loop {
            match self.control.acquire_lease(lease, LEASE_TTL).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(held)) => return Err(ProcessError::Elsewhere(held)),
                Err(s) if control::is_transient(&s) => {}
                Err(s) => return Err(ProcessError::Local(format!("taking {lease}: {s}"))),
            }
            if !self.stop.sleep(delays.next().unwrap_or(BACKOFF_MAX)).await {
                return Err(ProcessError::Stopped);
            }
        }
    }

    async fn claimed(&self, v: &ProcessingVersion) -> Result<(), ProcessError> {
        let started = std::time::Instant::now();
        let outcome = self.outcome(v).await?;
        let name = match &outcome {
            Outcome::Completed(_) => "complete",
            Outcome::Failed(_) => "failed",
        };
        self.metrics.processed(name, started.elapsed());
        match &outcome {
            Outcome::Completed(content) => tracing::info!(
                version = %v.version, chunks = content.chunk_list.chunks().len(), "version processed"
            ),
            Outcome::Failed(Failure { errors, .. }) => {
                let reason: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.code, e.description))
                    .collect();
                tracing::info!(
                    version = %v.version, reason = %reason.join("; "), "version failed processing"
                );
            }
        }
        self.report(v, &outcome).await?;
        for f in &v.files {
            let (staging, id) = (self.staging.clone(), f.id.to_string());
            let removed = tokio::task::spawn_blocking(move || staging.remove(&id)).await;
            if let Ok(Err(e)) = removed {
                tracing::warn!(file = %f.id, error = %e, "cannot delete staged parts");
            }
        }
        Ok(())
    }

    /// Retries `ReportProcessed` while the control plane is unavailable. A refusal because
    /// the version is already settled (complete or failed) counts as delivered.
    async fn report(&self, v: &ProcessingVersion, outcome: &Outcome) -> Result<(), ProcessError> {
        let mut delays = packyard_net::backoff(BACKOFF_START, BACKOFF_MAX);
        loop {
            match self.control.report(&v.version, outcome).await {
                Ok(()) => return Ok(()),
                Err(s) if s.code() == Code::FailedPrecondition => {
                    tracing::info!(version = %v.version, reason = s.message(), "version already settled");
                    return Ok(());
                }
                Err(s) if control::is_transient(&s) => {
                    tracing::warn!(version = %v.version, error = %s, "reporting failed; retrying");
                }
                Err(s) => {
                    // The control plane refused the report itself: retrying cannot help.
                    tracing::error!(version = %v.version, error = %s, "the control plane refused the report");
                    return Ok(());
                }
            }
            if !self.stop.sleep(delays.next().unwrap_or(BACKOFF_MAX)).await {
                return Err(ProcessError::Stopped);
            }
        }
    }

    async fn describe(&self, f: &CommittedFile) -> Result<Option<UploadInfo>, ProcessError> {
        let mut delays = packyard_net::backoff(BACKOFF_START, BACKOFF_MAX);
        loop {
            match self.control.describe_upload(f.id.as_str()).await {
                Ok(info) => return Ok(info),
                Err(s) if control::is_transient(&s) => {}
                Err(s) => return Err(ProcessError::Local(format!("describing {}: {s}", f.id))),
            }
            if !self.stop.sleep(delays.next().unwrap_or(BACKOFF_MAX)).await {
                return Err(ProcessError::Stopped);
            }
        }
    }

    /// Every check, in the order an uploader would want to hear about problems: missing
    /// parts, then the bytes against their checksum, then the manifest.
    async fn outcome(&self, v: &ProcessingVersion) -> Result<Outcome, ProcessError> {
        let asset = v.files.iter().find(|f| f.asset_type == AssetType::Asset);
        let manifest = v.files.iter().find(|f| f.asset_type == AssetType::Manifest);
        let Some(asset) = asset else {
            return Ok(Outcome::Failed(failed(
                None,
                codes::UPLOAD_INCOMPLETE,
                "the version has no ASSET file; reserve and upload the archive".into(),
            )));
        };
        let source = match self.asset_source(asset).await? {
            Ok(source) => source,
            Err(failure) => return Ok(Outcome::Failed(failure)),
        };
        let manifest_bytes = match manifest {
            None => None,
            Some(m) => match self.read_manifest(m).await? {
                Ok(bytes) => Some(bytes),
                Err(failure) => return Ok(Outcome::Failed(failure)),
            },
        };

        let (ingested, prefix) = match self.ingest(asset, source).await? {
            Ok(ingested) => ingested,
            Err(failure) => return Ok(Outcome::Failed(failure)),
        };
        if ingested.sha256 != asset.sha256.0 {
            return Ok(Outcome::Failed(mismatch(asset, &ingested.sha256)));
        }
        let manifest_file = manifest
            .zip(manifest_bytes.as_deref())
            .map(|(m, b)| (&m.id, b));
        match version_metadata(manifest_file, &asset.id, &prefix) {
            Ok(metadata) => Ok(Outcome::Completed(VersionContent {
                size: ingested.size,
                chunk_list: ingested.chunk_list,
                metadata,
            })),
            Err(failure) => Ok(Outcome::Failed(failure)),
        }
    }

    /// Where the archive's bytes are: its chunk list, if it was sent as chunks (a chunk
    /// missing from the store shows while they are read); else its parts, if every one is
    /// staged; else the failure that says what is missing.
    async fn asset_source(
        &self,
        f: &CommittedFile,
    ) -> Result<Result<Source, Failure>, ProcessError> {
        let (staging, id) = (self.staging.clone(), f.id.to_string());
        let recipe = tokio::task::spawn_blocking(move || staging.recipe(&id))
            .await
            .map_err(|e| ProcessError::Local(e.to_string()))?
            .map_err(|e| ProcessError::Local(format!("reading the chunk list of {}: {e}", f.id)))?;
        let Some(recipe) = recipe else {
            return Ok(self.complete_layout(f).await?.map(Source::Parts));
        };
        let list = ChunkListBody::parse(&recipe)
            .map_err(|e| ProcessError::Local(format!("the chunk list of {}: {e}", f.id)))?;
        Ok(Ok(Source::Chunks(list.chunks)))
    }

    /// The file's layout if every part is staged, else the failure that says which are not.
    async fn complete_layout(
        &self,
        f: &CommittedFile,
    ) -> Result<Result<PartLayout, Failure>, ProcessError> {
        let layout = match self.describe(f).await? {
            Some(info) => PartLayout::new(f.size, info.layout.part_bytes),
            None => {
                return Ok(Err(failed(
                    Some(&f.id),
                    codes::UPLOAD_INCOMPLETE,
                    format!("upload file {} is unknown to the control plane", f.id),
                )));
            }
        };
        let (staging, id) = (self.staging.clone(), f.id.to_string());
        let stored = tokio::task::spawn_blocking(move || staging.parts(&id))
            .await
            .map_err(|e| ProcessError::Local(e.to_string()))?
            .map_err(|e| ProcessError::Local(format!("listing the parts of {}: {e}", f.id)))?;
        let missing = layout.missing(&stored);
        if missing.is_empty() {
            return Ok(Ok(layout));
        }
        let list: Vec<String> = missing.iter().map(u64::to_string).collect();
        Ok(Err(failed(
            Some(&f.id),
            codes::UPLOAD_INCOMPLETE,
            format!(
                "upload file {} was committed without part{} {} of {}; upload every part \
                 before committing",
                f.id,
                if missing.len() == 1 { "" } else { "s" },
                list.join(", "),
                layout.count()
            ),
        )))
    }

    /// The MANIFEST file's bytes, checked for completeness, size and checksum.
    async fn read_manifest(
        &self,
        f: &CommittedFile,
    ) -> Result<Result<Vec<u8>, Failure>, ProcessError> {
        let layout = match self.complete_layout(f).await? {
            Ok(layout) => layout,
            Err(failure) => return Ok(Err(failure)),
        };
        if f.size > MAX_MANIFEST_BYTES as u64 {
            return Ok(Err(failed(
                Some(&f.id),
                codes::MANIFEST_INVALID,
                format!(
                    "the MANIFEST file is {} bytes; a manifest may have at most {MAX_MANIFEST_BYTES}",
                    f.size
                ),
            )));
        }
        let reader = self.staging.reader(f.id.as_str(), &layout);
        let bytes = tokio::task::spawn_blocking(move || {
            let mut bytes = Vec::new();
            reader
                .take(MAX_MANIFEST_BYTES as u64)
                .read_to_end(&mut bytes)
                .map(|_| bytes)
        })
        .await
        .map_err(|e| ProcessError::Local(e.to_string()))?
        .map_err(|e| ProcessError::Local(format!("reading {}: {e}", f.id)))?;
        let sha256: [u8; 32] = Sha256::digest(&bytes).into();
        if sha256 != f.sha256.0 {
            return Ok(Err(mismatch(f, &sha256)));
        }
        Ok(Ok(bytes))
    }

    /// Chunks the archive into the store; returns what ingest learned and the archive's
    /// first bytes (where an embedded manifest would be), or the failure of an archive sent
    /// as chunks that names one nobody sent.
    async fn ingest(
        &self,
        f: &CommittedFile,
        source: Source,
    ) -> Result<Result<(Ingested, Vec<u8>), Failure>, ProcessError> {
        // A bucket answers each request after a round trip: keep several in flight.
        let window = if self.shared_store { IN_FLIGHT } else { 1 };
        // Chunks read back from the store (each verified) need not be put there again.
        let held: std::collections::HashSet<Blake3Hash> = match &source {
            Source::Chunks(chunks) => chunks.iter().map(|c| c.id).collect(),
            Source::Parts(_) => std::collections::HashSet::new(),
        };
        let mut absent = None;
        let inner: Box<dyn Read + Send> = match source {
            Source::Parts(layout) => Box::new(self.staging.reader(f.id.as_str(), &layout)),
            Source::Chunks(chunks) => {
                let reader = ChunksReader::new(self.store.clone(), chunks, window);
                absent = Some(reader.absent());
                Box::new(reader)
            }
        };
        let mut reader = Prefix {
            inner,
            prefix: Vec::new(),
        };
        let store = self.store.clone();
        let params = self.params;
        let stop = self.stop.clone();
        let limit = self.hooks.stop_after_chunks;
        let hold = self.hooks.hold_after_chunks;
        let file = f.id.clone();
        let shared = self.shared_store;
        let (result, prefix, present) = tokio::task::spawn_blocking(move || {
            let mut stored = 0usize;
            let mut writers = Writers::new(store, window).holding(held);
            let mut sink = |id: Blake3Hash, bytes: &[u8]| -> Result<(), SinkError> {
                if hold.is_some_and(|n| stored >= n) {
                    while !stop.is_stopped() {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
                if stop.is_stopped() || limit.is_some_and(|n| stored >= n) {
                    return Err(SinkError::Stopped);
                }
                writers.put(id, bytes).map_err(SinkError::Store)?;
                stored += 1;
                Ok(())
            };
            let result = ingest(&mut reader, &params, &mut sink);
            // Every put must be done before the version counts as stored.
            let present = writers.finish();
            (result, reader.prefix, present)
        })
        .await
        .map_err(|e| ProcessError::Local(e.to_string()))?;
        match result {
            Ok(ingested) => {
                let present = present.map_err(|e| {
                    ProcessError::Local(format!("ingesting {file}: storing its chunks: {e}"))
                })?;
                // Only a shared store's garbage collection runs on another origin.
                let present = if shared { present } else { Vec::new() };
                let store = self.store.clone();
                tokio::task::spawn_blocking(move || still_there(&*store, &present))
                    .await
                    .map_err(|e| ProcessError::Local(e.to_string()))?
                    .map_err(|e| ProcessError::Local(format!("processing {file}: {e}")))?;
                Ok(Ok((ingested, prefix)))
            }
            Err(_)
                if let Some(id) = absent
                    .as_ref()
                    .and_then(|a| *a.lock().unwrap_or_else(std::sync::PoisonError::into_inner)) =>
            {
                Ok(Err(failed(
                    Some(&file),
                    codes::UPLOAD_INCOMPLETE,
                    format!(
                        "upload file {file} was committed as chunks, but chunk {id} was never \
                         sent; send the chunks the store lacks before committing"
                    ),
                )))
            }
            Err(IngestError::Sink {
                source: SinkError::Stopped,
                ..
            }) => Err(ProcessError::Stopped),
            Err(e) => {
                let detail = std::error::Error::source(&e)
                    .map(|s| format!("{e}: {s}"))
                    .unwrap_or_else(|| e.to_string());
                Err(ProcessError::Local(format!("ingesting {file}: {detail}")))
            }
        }
    }
}

/// Aborts the task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Renews `lease` every third of its lifetime until aborted or the origin stops.
async fn renew(control: ControlPlane, lease: String, stop: Stop) {
    while stop.sleep(LEASE_TTL / 3).await {
        match control.acquire_lease(&lease, LEASE_TTL).await {
            Ok(Ok(())) => {}
            Ok(Err(held)) => {
                tracing::warn!(
                    lease,
                    held,
                    "the processing lease was lost; another origin may process the version too"
                );
                return;
            }
            Err(e) => tracing::warn!(lease, error = %e, "cannot renew the processing lease"),
        }
    }
}

fn mismatch(f: &CommittedFile, actual: &[u8; 32]) -> Failure {
    failed(
        Some(&f.id),
        codes::CHECKSUM_MISMATCH,
        format!(
            "the uploaded bytes of {} have SHA-256 {}, but the file was committed with {}; \
             upload the file again",
            f.id,
            Sha256Digest(*actual).to_hex(),
            f.sha256.to_hex()
        ),
    )
}

/// Where an archive's bytes are read from.
enum Source {
    /// Its staged parts.
    Parts(PartLayout),
    /// The chunks its chunk list names, from the store.
    Chunks(Vec<Listed>),
}

/// A reader that keeps a copy of the first [`MAX_PREFIX_LEN`] bytes it passes on.
struct Prefix<R> {
    inner: R,
    prefix: Vec<u8>,
}

impl<R: Read> Read for Prefix<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let room = MAX_PREFIX_LEN.saturating_sub(self.prefix.len());
        self.prefix.extend_from_slice(&buf[..n.min(room)]);
        Ok(n)
    }
}
