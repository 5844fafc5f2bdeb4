//! [`zsync_update`]: the peer of a device's delta update. zsync 0.6.2 (Debian's), seeded with
//! version N of a pack, builds version N+1 from nginx, the way a download site offers delta
//! updates of an opaque file: `zsyncmake` writes the control file beside the archive, and
//! zsync fetches that file and the ranges its seed lacks. nginx counts what it sent (every
//! response body: the control file and the ranges, multipart framing included), the same
//! measure the device client reports for itself.

use std::path::Path;
use std::process::Command;

use serde::Serialize;

use crate::error::{BenchError, io_err};
use crate::side::nginx::{Nginx, find_tool};

const HINT: &str = "scripts/install-bench-deps.sh installs nginx; scripts/install-deps.sh zsync";

/// What zsync fetched to turn version N into N+1.
#[derive(Debug, Clone, Serialize)]
pub struct ZsyncRun {
    /// The control file's size (`zsyncmake`'s output, fetched first).
    pub control_bytes: u64,
    /// Every body nginx sent for the update: the control file and the ranges.
    pub fetched_bytes: u64,
    /// Requests zsync sent.
    pub requests: u64,
    /// `fetched_bytes` as a percentage of version N+1.
    pub percent_of_pack: f64,
}

/// Runs zsync seeded with `old` to build `new` served by nginx; checks the result byte for
/// byte. `dir` holds the web root, nginx's files and zsync's output.
pub async fn zsync_update(old: &Path, new: &Path, dir: &Path) -> Result<ZsyncRun, BenchError> {
    let (zsync, zsyncmake, nginx_bin) = (
        find_tool(Path::new("zsync"), HINT)?,
        find_tool(Path::new("zsyncmake"), HINT)?,
        find_tool(Path::new("nginx"), HINT)?,
    );
    let root = dir.join("zsync-www");
    std::fs::create_dir_all(&root).map_err(io_err("create", &root))?;
    let served = root.join("pack.tar");
    std::fs::copy(new, &served).map_err(io_err("copy", new))?;
    let control = root.join("pack.tar.zsync");
    // A relative URL: zsync resolves it against the control file's.
    run(
        Command::new(&zsyncmake)
            .arg("-u")
            .arg("pack.tar")
            .arg("-o")
            .arg(&control)
            .arg(&served),
        "zsyncmake",
    )?;
    let control_bytes = std::fs::metadata(&control)
        .map_err(io_err("read", &control))?
        .len();
    let nginx_dir = dir.join("zsync-nginx");
    let nginx = Nginx::start_counting(&nginx_bin, &root, &nginx_dir, "/pack.tar").await?;
    let (before, requests_before) = nginx.body_bytes(&nginx_dir)?;
    let out = dir.join("zsync-built.tar");
    let url = format!("http://{}/pack.tar.zsync", nginx.addr);
    let (old, out_arg) = (old.to_path_buf(), out.clone());
    tokio::task::spawn_blocking(move || {
        run(
            Command::new(&zsync)
                .arg("-q")
                .arg("-i")
                .arg(&old)
                .arg("-o")
                .arg(&out_arg)
                .arg(&url),
            "zsync",
        )
    })
    .await
    .map_err(|e| BenchError::Setup(format!("the zsync task failed: {e}")))??;
    let (after, requests_after) = nginx.body_bytes(&nginx_dir)?;
    let built = std::fs::read(&out).map_err(io_err("read", &out))?;
    let wanted = std::fs::read(new).map_err(io_err("read", new))?;
    if built != wanted {
        return Err(BenchError::Peer {
            tool: "zsync".into(),
            reason: "what it built is not version N+1".into(),
        });
    }
    let fetched_bytes = after - before;
    Ok(ZsyncRun {
        control_bytes,
        fetched_bytes,
        requests: requests_after - requests_before,
        percent_of_pack: fetched_bytes as f64 * 100.0 / wanted.len().max(1) as f64,
    })
}

fn run(command: &mut Command, tool: &str) -> Result<(), BenchError> {
    let out = command.output().map_err(|e| BenchError::Peer {
        tool: tool.into(),
        reason: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(BenchError::Peer {
            tool: tool.into(),
            reason: format!(
                "{}: {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    Ok(())
}
