//! The admin API's flows as one call each, for benchmarks and tests that need a pack
//! version on the edge rather than a look at each step.

use std::time::Duration;

use packyard_core::catalog::ReviewTrack;

use crate::client::AdminClient;
use crate::error::AdminError;
use crate::resources::rollouts::NewRollout;
use crate::resources::upload_files::NewUploadFile;
use crate::resources::versions::Version;
use crate::upload::NoProgress;

impl AdminClient {
    /// Creates a version of `pack`, reserves `bytes` as its archive `file_name`, sends every
    /// part and commits with their SHA-256; returns the version as created (the origin is
    /// processing it now).
    pub async fn upload_archive(
        &self,
        pack: &str,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<Version, AdminError> {
        let version = self.create_version(pack).await?;
        let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        let file = self
            .reserve_upload(&NewUploadFile::asset(&version.id, file_name, size))
            .await?;
        let sha256 = self
            .send_bytes(bytes, file_name, &file, &mut NoProgress)
            .await?;
        self.commit_upload(&file.id, &sha256).await?;
        Ok(version)
    }

    /// [`AdminClient::upload_archive`], then waits until the version is COMPLETE (a FAILED
    /// one is an error naming why); returns it.
    pub async fn upload_complete(
        &self,
        pack: &str,
        file_name: &str,
        bytes: &[u8],
        timeout: Duration,
    ) -> Result<Version, AdminError> {
        let version = self.upload_archive(pack, file_name, bytes).await?;
        self.wait_processed(&version.id, timeout).await
    }

    /// Creates a version of `pack` and sends `file` as its archive in chunks (`list`, cut as
    /// the origin cuts, with the file's SHA-256 `sha256` in hex): only those the store lacks,
    /// `in_flight` at once; commits and waits until the version is COMPLETE. Returns it and
    /// what was sent.
    pub async fn upload_chunks_complete(
        &self,
        pack: &str,
        file: &std::path::Path,
        list: &[crate::upload::ChunkEntry],
        sha256: &str,
        in_flight: usize,
        timeout: Duration,
    ) -> Result<(Version, crate::upload::SentChunks), AdminError> {
        let version = self.create_version(pack).await?;
        let size = list.iter().map(|(_, len)| u64::from(*len)).sum();
        let name = file
            .file_name()
            .map_or_else(|| "pack.tar".into(), |n| n.to_string_lossy());
        let upload = self
            .reserve_upload(&NewUploadFile::asset(&version.id, name.as_ref(), size))
            .await?;
        let sent = self
            .send_missing_chunks(&upload, list, file, in_flight)
            .await?;
        self.commit_upload(&upload.id, sha256).await?;
        Ok((self.wait_processed(&version.id, timeout).await?, sent))
    }

    /// Takes a COMPLETE `version` through store review (the Reviewer's steps by `reviewer`)
    /// and releases it to every region at once.
    pub async fn release_to_store(
        &self,
        reviewer: &AdminClient,
        version: &str,
    ) -> Result<(), AdminError> {
        self.accept(reviewer, version, ReviewTrack::AppStore)
            .await?;
        self.create_rollout(&NewRollout::everywhere(version))
            .await?;
        Ok(())
    }
}
