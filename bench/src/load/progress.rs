//! [`Progress`]: a live line on stderr while a run goes, only when stderr is a terminal.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Counters the workers bump and the progress line reads.
#[derive(Debug, Default)]
pub struct Counters {
    /// Correct answers so far (warm-up included).
    pub ok: AtomicU64,
    /// Failures so far.
    pub errors: AtomicU64,
    /// Body bytes so far.
    pub bytes: AtomicU64,
}

/// The progress line's task; it ends when dropped.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Starts a line labelled `label` when `wanted` and stderr is a terminal.
    pub fn start(label: &str, wanted: bool, counters: Arc<Counters>) -> Self {
        if !wanted || !std::io::stderr().is_terminal() {
            return Self {
                bar: None,
                task: None,
            };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(label.to_owned());
        let line = bar.clone();
        let task = tokio::spawn(async move {
            let start = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                let secs = start.elapsed().as_secs_f64().max(1e-3);
                let ok = counters.ok.load(Ordering::Relaxed);
                let bytes = counters.bytes.load(Ordering::Relaxed);
                line.set_message(format!(
                    "{ok} ok ({:.0} req/s, {:.1} MB/s), {} errors",
                    ok as f64 / secs,
                    bytes as f64 / secs / 1e6,
                    counters.errors.load(Ordering::Relaxed)
                ));
                line.tick();
            }
        });
        Self {
            bar: Some(bar),
            task: Some(task),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
