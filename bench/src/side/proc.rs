//! [`ChildProc`]: a server the benchmark starts (nginx, etcd, packyard), pinned to cores with
//! `taskset`, its output kept in a log file, stopped when dropped; and small helpers around it.

use std::ffi::OsString;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{BenchError, io_err};

/// A child process, stopped (SIGTERM, then SIGKILL after 5 s) when dropped.
#[derive(Debug)]
pub struct ChildProc {
    name: String,
    log: PathBuf,
    child: Option<Child>,
}

impl ChildProc {
    /// Starts `program args…`, under `taskset -c cpus` when `cpus` is given, with `envs` added
    /// and stdout + stderr appended to `log_dir/<name>.log` (a restarted server adds to the
    /// log of its earlier lives).
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[OsString],
        envs: &[(&str, &str)],
        cpus: Option<&str>,
        log_dir: &Path,
    ) -> Result<Self, BenchError> {
        let log = log_dir.join(format!("{name}.log"));
        let out = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(io_err("create", &log))?;
        let err = out.try_clone().map_err(io_err("open", &log))?;
        let mut command = match cpus {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpus).arg(program);
                c
            }
            None => Command::new(program),
        };
        command
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = command.spawn().map_err(|e| BenchError::Peer {
            tool: program.display().to_string(),
            reason: format!("could not start: {e}"),
        })?;
        Ok(Self {
            name: name.to_owned(),
            log,
            child: Some(child),
        })
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(30);
        format!(
            "--- {} ({}):\n{}",
            self.name,
            self.log.display(),
            lines[from..].join("\n")
        )
    }

    /// An error if the process has exited.
    pub fn check_alive(&mut self) -> Result<(), BenchError> {
        if let Some(child) = &mut self.child
            && let Ok(Some(status)) = child.try_wait()
        {
            return Err(BenchError::Peer {
                tool: self.name.clone(),
                reason: format!("exited ({status})\n{}", self.log_tail()),
            });
        }
        Ok(())
    }

    /// Kills the process with SIGKILL and reaps it: no shutdown code runs, as when its machine
    /// dies. Nothing happens if it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the process was started and not stopped or killed since.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Stops the process: SIGTERM so it can shut down cleanly (nginx's master stops its
    /// workers), SIGKILL if it is still there after 5 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; servers bind it right after).
pub fn free_addr() -> Result<SocketAddr, BenchError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| BenchError::Peer {
        tool: "bind".into(),
        reason: e.to_string(),
    })?;
    listener.local_addr().map_err(|e| BenchError::Peer {
        tool: "bind".into(),
        reason: e.to_string(),
    })
}

/// Pins every thread of this process to `cpus` (a `taskset` list such as `0` or `0-1`). Call
/// it before starting the Tokio runtime, so that the runtime sizes itself to those cores.
pub fn pin_self(cpus: &str) -> Result<(), BenchError> {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| BenchError::Peer {
            tool: "taskset".into(),
            reason: format!("{e}; install util-linux (scripts/install-bench-deps.sh)"),
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(BenchError::Peer {
            tool: "taskset".into(),
            reason: format!("could not pin to CPUs {cpus} ({status})"),
        })
    }
}

/// Polls `check` every 50 ms until it holds; an error naming `what` after `limit`, or as soon
/// as one of `procs` has exited.
pub async fn wait_until<F, Fut>(
    what: &str,
    limit: Duration,
    procs: &mut [&mut ChildProc],
    mut check: F,
) -> Result<(), BenchError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return Ok(());
        }
        for p in procs.iter_mut() {
            p.check_alive()?;
        }
        if Instant::now() > deadline {
            let logs: String = procs
                .iter()
                .map(|p| p.log_tail())
                .collect::<Vec<_>>()
                .join("\n");
            return Err(BenchError::Setup(format!(
                "{what}: not after {limit:?}\n{logs}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
