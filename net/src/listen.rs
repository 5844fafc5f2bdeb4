//! Binding a node's listeners and saying where they are.
//!
//! A listener may be given port 0 (the kernel picks a free one). Whoever started the process
//! learns the port from the log line each bound listener writes, and, when the environment
//! names a file in [`LISTEN_FILE_ENV`], from a line `{listener} {address}` appended to it: a
//! test harness or supervisor starts a node on port 0 and reads where it listens, so no port
//! is chosen by one process and bound by another.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use tokio::net::TcpListener;

/// The environment variable naming the file bound addresses are appended to.
pub const LISTEN_FILE_ENV: &str = "PACKYARD_LISTEN_FILE";

/// A listener that could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} ({listener}): {source}")]
pub struct BindError {
    /// Which listener (`admin`, `raft`, `upload`, …).
    pub listener: &'static str,
    /// The address asked for.
    pub addr: SocketAddr,
    /// Why not.
    #[source]
    pub source: std::io::Error,
}

/// Binds `addr` for the listener named `listener` and says where it listens (see the module
/// doc).
pub async fn bind(listener: &'static str, addr: SocketAddr) -> Result<TcpListener, BindError> {
    let bound = TcpListener::bind(addr).await.map_err(|source| BindError {
        listener,
        addr,
        source,
    })?;
    let local = bound.local_addr().map_err(|source| BindError {
        listener,
        addr,
        source,
    })?;
    announce(listener, local);
    Ok(bound)
}

/// Says that `listener` listens on `addr`: a log line, and a line in the listen file when
/// the environment names one. A listen file that cannot be written is logged, not fatal.
pub fn announce(listener: &str, addr: SocketAddr) {
    tracing::info!(listener, %addr, "listening");
    if let Some(path) = std::env::var_os(LISTEN_FILE_ENV).filter(|p| !p.is_empty())
        && let Err(e) = append(Path::new(&path), listener, addr)
    {
        let path = Path::new(&path).display();
        tracing::warn!(%path, error = %e, "cannot write the listen file");
    }
}

/// One line per listener, written with a single `write` to a file opened for appending, so
/// lines from listeners bound at once never interleave.
fn append(path: &Path, listener: &str, addr: SocketAddr) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(format!("{listener} {addr}\n").as_bytes())
}

/// The addresses a listen file names, by listener; a later line for a listener wins (a
/// restarted process appends again).
pub fn read_listen_file(text: &str) -> std::collections::BTreeMap<String, SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let (name, addr) = line.split_once(' ')?;
            Some((name.to_owned(), addr.trim().parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listen_file_gives_each_listener_its_latest_address() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("listen");
        append(&file, "admin", "127.0.0.1:9".parse().unwrap()).unwrap();
        append(&file, "raft", "127.0.0.1:10".parse().unwrap()).unwrap();
        append(&file, "admin", "127.0.0.1:11".parse().unwrap()).unwrap();
        let read = read_listen_file(&std::fs::read_to_string(&file).unwrap());
        assert_eq!(read.len(), 2);
        assert_eq!(
            read["admin"],
            "127.0.0.1:11".parse().unwrap(),
            "the later line wins"
        );
        assert_eq!(read["raft"], "127.0.0.1:10".parse().unwrap());
    }
}
