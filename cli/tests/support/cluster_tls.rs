#![allow(dead_code, reason = "each test binary uses a part of it")]

//! The cluster certificates a process test needs, made the way an operator makes them: with
//! `packyard cluster ca init` and `packyard cluster cert issue`, into one folder that every
//! process is pointed at (`PACKYARD_CLUSTER_TLS_DIR`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Makes a CA in `dir/cluster-tls` and a certificate for each `(role, id)`; returns the
/// folder.
pub(crate) fn issue(dir: &Path, nodes: &[(&str, &str)]) -> PathBuf {
    let tls = dir.join("cluster-tls");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_packyard"))
            .args(args)
            .output()
            .expect("packyard runs");
        assert!(
            out.status.success(),
            "packyard {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let tls_arg = tls.to_str().expect("a UTF-8 path");
    run(&["cluster", "ca", "init", "--dir", tls_arg]);
    for (role, id) in nodes {
        run(&[
            "cluster", "cert", "issue", "--ca-dir", tls_arg, "--role", role, "--id", id,
        ]);
    }
    tls
}
