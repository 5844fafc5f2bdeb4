//! [`AccessLog`]: one JSON line per device request, written off the request path.
//!
//! The request hands its line to a bounded queue and goes on; one task writes the queue to the
//! file through a buffer, flushing whenever the queue runs dry. A queue that is full (a disk
//! slower than the traffic) drops the line and counts it rather than slow a download. Lines
//! carry the path without its query, so no tester token (`?token=`) is ever written.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;

/// Lines waiting for the writer at most.
const QUEUE: usize = 16_384;

/// One request, as its log line says it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry<'a> {
    /// When it was answered, RFC 3339 in UTC with milliseconds.
    pub time: String,
    /// The method.
    pub method: &'a str,
    /// The path, without its query.
    pub path: &'a str,
    /// The endpoint it was for (`pack`, `manifest`, …), as the metrics label it.
    pub endpoint: &'a str,
    /// The status answered.
    pub status: u16,
    /// The body's length as answered (`Content-Length`; a range's bytes for a 206), 0 for
    /// none.
    pub bytes: u64,
    /// Microseconds to the response head.
    pub micros: u64,
    /// The `Range` asked for, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<&'a str>,
    /// `http` or `https`.
    pub scheme: &'static str,
}

/// Where request lines go.
#[derive(Debug, Clone)]
pub struct AccessLog {
    lines: mpsc::Sender<String>,
    dropped: Arc<AtomicU64>,
}

impl AccessLog {
    /// Appends to the file at `path` (made if missing); the writer task ends when every
    /// [`AccessLog`] handle is dropped, after writing what is queued.
    pub async fn open(path: &Path) -> std::io::Result<(Self, tokio::task::JoinHandle<()>)> {
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = tokio::spawn(write(rx, file, path.to_path_buf()));
        Ok((
            Self {
                lines: tx,
                dropped: Arc::new(AtomicU64::new(0)),
            },
            writer,
        ))
    }

    /// Queues `entry`'s line; drops it (and counts it) when the queue is full.
    pub fn record(&self, entry: &Entry<'_>) {
        let Ok(mut line) = serde_json::to_string(entry) else {
            return;
        };
        line.push('\n');
        if self.lines.try_send(line).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Lines dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

async fn write(mut rx: mpsc::Receiver<String>, file: tokio::fs::File, path: PathBuf) {
    let mut out = tokio::io::BufWriter::with_capacity(64 << 10, file);
    while let Some(line) = rx.recv().await {
        let mut result = out.write_all(line.as_bytes()).await;
        while result.is_ok()
            && let Ok(more) = rx.try_recv()
        {
            result = out.write_all(more.as_bytes()).await;
        }
        if let Err(e) = result.and(out.flush().await) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the access log");
        }
    }
    let _ = out.flush().await;
}
