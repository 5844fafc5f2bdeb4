//! How an upload shows its progress: what it is about to send, on stderr, and a bar while it
//! reads and sends (only when stderr is a terminal).

use std::io::IsTerminal as _;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use packyard_admin_client::{Progress, SendPlan};

/// The terminal's view of one file's upload.
pub(crate) struct Bar<'a> {
    file: &'a Path,
    bar: Option<ProgressBar>,
}

impl<'a> Bar<'a> {
    pub(crate) fn new(file: &'a Path) -> Self {
        Self { file, bar: None }
    }
}

impl Progress for Bar<'_> {
    fn sending(&mut self, plan: &SendPlan) {
        eprintln!(
            "sending {} of {} parts ({} of {} bytes) of {}",
            plan.missing_parts,
            plan.parts,
            plan.missing_bytes,
            plan.size,
            self.file.display()
        );
        self.bar = progress_bar(plan.size, self.file);
    }

    fn advanced(&mut self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    fn finished(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn progress_bar(size: u64, file: &Path) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(size);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    Some(bar)
}
