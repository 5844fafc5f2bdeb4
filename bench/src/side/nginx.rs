//! [`Nginx`]: nginx serving a directory of files, configured the way a static file CDN node
//! is (sendfile, open_file_cache, long keep-alive, no access log), started by the benchmark as
//! a non-daemon child on a free 127.0.0.1 port with its configuration in a temp directory.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::proc::{ChildProc, free_addr, wait_until};
use crate::error::{BenchError, io_err};

/// The configuration for one worker serving `root` on `addr`, its own files under `dir`.
pub fn nginx_conf(root: &Path, addr: SocketAddr, dir: &Path, http2: bool) -> String {
    conf(root, addr, dir, http2, None)
}

/// [`nginx_conf`], but writing each response's body length (`$body_bytes_sent`, a line a
/// request) to `bytes_log`: what a client fetched, counted by the server.
fn conf(
    root: &Path,
    addr: SocketAddr,
    dir: &Path,
    http2: bool,
    bytes_log: Option<&Path>,
) -> String {
    let d = dir.display();
    let access_log = match bytes_log {
        None => "access_log off;".to_owned(),
        Some(p) => format!(
            "log_format body_bytes '$body_bytes_sent';\n    access_log {} body_bytes;",
            p.display()
        ),
    };
    let listen = if http2 {
        format!("{addr} http2")
    } else {
        addr.to_string()
    };
    // nginx 1.22's HTTP/2 over sendfile stalled every response by ~44 ms here (delayed ACK:
    // 90 req/s on 4 connections, 4,257 with sendfile off), so HTTP/2 runs copy like the edge.
    let sendfile = if http2 { "off" } else { "on" };
    format!(
        "# Written by packyard-bench: one worker, as pinned to the cores the edge gets.
daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log stderr warn;
events {{
    worker_connections 4096;
    multi_accept on;
}}
http {{
    {access_log}
    sendfile {sendfile};
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_errors on;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    default_type application/octet-stream;
    server {{
        listen {listen};
        root {root};
        location / {{ }}
    }}
}}
",
        root = root.display(),
    )
}

/// A running nginx.
#[derive(Debug)]
pub struct Nginx {
    /// Where it listens.
    pub addr: SocketAddr,
    proc: ChildProc,
}

/// `program` when it names a path, else the first match on PATH or in /usr/sbin (Debian's
/// nginx lives there, outside a normal user's PATH).
pub fn find_tool(program: &Path, install_hint: &str) -> Result<PathBuf, BenchError> {
    if program.components().count() > 1 {
        return if program.is_file() {
            Ok(program.to_path_buf())
        } else {
            Err(BenchError::Setup(format!(
                "{} does not exist",
                program.display()
            )))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            BenchError::Setup(format!("{} not found; {install_hint}", program.display()))
        })
}

impl Nginx {
    /// Starts nginx (`bin`) serving `root`, its configuration and logs in `dir`, pinned to
    /// `cpus`; waits until it answers `probe_path`.
    pub async fn start(
        bin: &Path,
        root: &Path,
        dir: &Path,
        cpus: Option<&str>,
        probe_path: &str,
        protocol: crate::load::client::Protocol,
    ) -> Result<Self, BenchError> {
        Self::launch(bin, root, dir, cpus, probe_path, protocol, None).await
    }

    /// Starts nginx serving `root` over HTTP/1.1, logging each response's body length to
    /// `dir/logs/body-bytes.log` (read back with [`Nginx::body_bytes`]).
    pub async fn start_counting(
        bin: &Path,
        root: &Path,
        dir: &Path,
        probe_path: &str,
    ) -> Result<Self, BenchError> {
        let log = dir.join("logs/body-bytes.log");
        Self::launch(
            bin,
            root,
            dir,
            None,
            probe_path,
            crate::load::client::Protocol::Http1,
            Some(&log),
        )
        .await
    }

    /// Bodies sent since start, their bytes and count, from the log
    /// [`start_counting`](Self::start_counting) keeps (nginx writes each line as the
    /// response ends).
    pub fn body_bytes(&self, dir: &Path) -> Result<(u64, u64), BenchError> {
        let log = dir.join("logs/body-bytes.log");
        let text = std::fs::read_to_string(&log).map_err(io_err("read", &log))?;
        let sizes: Vec<u64> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        Ok((sizes.iter().sum(), sizes.len() as u64))
    }

    async fn launch(
        bin: &Path,
        root: &Path,
        dir: &Path,
        cpus: Option<&str>,
        probe_path: &str,
        protocol: crate::load::client::Protocol,
        bytes_log: Option<&Path>,
    ) -> Result<Self, BenchError> {
        let addr = free_addr()?;
        for sub in [
            "tmp/body",
            "tmp/proxy",
            "tmp/fastcgi",
            "tmp/uwsgi",
            "tmp/scgi",
            "logs",
        ] {
            let p = dir.join(sub);
            std::fs::create_dir_all(&p).map_err(io_err("create", &p))?;
        }
        let conf_path = dir.join("nginx.conf");
        std::fs::write(
            &conf_path,
            conf(
                root,
                addr,
                dir,
                protocol == crate::load::client::Protocol::Http2,
                bytes_log,
            ),
        )
        .map_err(io_err("write", &conf_path))?;
        let args: Vec<OsString> = vec![
            "-p".into(),
            dir.as_os_str().to_owned(),
            "-c".into(),
            conf_path.as_os_str().to_owned(),
            "-e".into(),
            "stderr".into(),
        ];
        let mut proc = ChildProc::spawn("nginx", bin, &args, &[], cpus, dir)?;
        let server = crate::load::client::Server {
            addr,
            authority: addr.to_string(),
        };
        let paths = [probe_path.to_owned()];
        wait_until(
            "nginx answers",
            Duration::from_secs(20),
            &mut [&mut proc],
            || async {
                crate::load::target::probe_sizes(&server, &paths, protocol, &[])
                    .await
                    .is_ok()
            },
        )
        .await?;
        Ok(Self { addr, proc })
    }

    /// The master's process id.
    pub fn pid(&self) -> Option<u32> {
        self.proc.pid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_serves_files_the_way_a_cdn_node_does() {
        let conf = nginx_conf(
            Path::new("/srv/www"),
            "127.0.0.1:8080".parse().expect("addr"),
            Path::new("/tmp/n"),
            false,
        );
        for line in [
            "daemon off;",
            "worker_processes 1;",
            "sendfile on;",
            "open_file_cache max=1000 inactive=60s;",
            "keepalive_requests 1000000;",
            "access_log off;",
            "listen 127.0.0.1:8080;",
            "root /srv/www;",
            "pid /tmp/n/nginx.pid;",
        ] {
            assert!(conf.contains(line), "{line} missing from\n{conf}");
        }
        let h2 = nginx_conf(
            Path::new("/w"),
            "127.0.0.1:1".parse().expect("addr"),
            Path::new("/t"),
            true,
        );
        assert!(h2.contains("listen 127.0.0.1:1 http2;"));
        assert!(h2.contains("sendfile off;"));
    }
}
