//! Logs for server commands: `RUST_LOG`-style filters (`PACKYARD_LOG`), default `info`, to
//! stderr, so stdout stays for what the user asked.
//!
//! Three formats (`--log-format`, or `PACKYARD_LOG_FORMAT`): `auto` (the default) writes text,
//! coloured only when stderr is a terminal and `NO_COLOR` is unset, so a log redirected to a
//! file holds no escape codes; `plain` writes text without colour; `json` writes one JSON
//! object per line (`timestamp`, `level`, `target`, `fields`, and the span it happened in),
//! for log collectors.

use std::io::IsTerminal as _;
use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;

/// How server logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Text, coloured on a terminal unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Text without colour.
    Plain,
    /// One JSON object per line.
    Json,
}

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Chooses the format before any server command starts logging.
pub(crate) fn set_format(format: LogFormat) {
    let _ = FORMAT.set(format);
}

/// Whether text logs are coloured: `auto` on a terminal, with no `NO_COLOR` (any value,
/// <https://no-color.org>).
fn colour(format: LogFormat) -> bool {
    format == LogFormat::Auto
        && std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none()
}

/// Installs the log subscriber.
pub(crate) fn init() {
    let filter = EnvFilter::try_from_env("PACKYARD_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,openraft=warn"));
    let format = FORMAT.get().copied().unwrap_or_default();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
        LogFormat::Auto | LogFormat::Plain => builder.with_ansi(colour(format)).try_init(),
    };
}
