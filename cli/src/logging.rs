//! Logs for server commands: `RUST_LOG`-style filters (`PACKYARD_LOG`), default `info`.

use tracing_subscriber::EnvFilter;

/// Installs the log subscriber; logs go to stderr so stdout stays for what the user asked.
pub(crate) fn init() {
    let filter = EnvFilter::try_from_env("PACKYARD_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,openraft=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
