//! What an operator sees of the binary itself: server logs readable in a file (no colour
//! codes unless on a terminal) or as JSON lines, shell completions and a man page.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use packyard_net::eventually::{eventually_blocking, within_blocking};

fn packyard(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(args)
        .output()
        .expect("packyard runs")
}

/// `packyard dev` on free ports with its stderr in `log`, logging at `info`.
fn dev(dir: &Path, log: &Path, extra: &[&str]) -> Child {
    let mut args = vec!["dev", "--data", dir.to_str().unwrap()];
    for flag in [
        "--admin-addr",
        "--edge-addr",
        "--upload-addr",
        "--raft-addr",
        "--origin-grpc-addr",
    ] {
        args.extend([flag, "127.0.0.1:0"]);
    }
    args.extend(extra);
    Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(&args)
        .env(
            "PACKYARD_ADMIN_KEY",
            "pyk_operating-test-key-0123456789abcdef",
        )
        .env("PACKYARD_LOG", "info")
        .env_remove("NO_COLOR")
        .env_remove("PACKYARD_LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// The log once it holds `lines` lines (within 60 s), the node killed.
fn log_lines(mut child: Child, log: &Path, lines: usize) -> String {
    let text = within_blocking(Duration::from_secs(60), || {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.lines().count() >= lines {
            return Ok(text);
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("packyard dev exited ({status}):\n{text}");
        }
        Err(text)
    });
    let text = text.unwrap_or_else(|e| panic!("{lines} log lines: {e}"));
    let _ = child.kill();
    let _ = child.wait();
    text
}

#[test]
fn logs_written_to_a_file_carry_no_colour_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("dev.log");
    let text = log_lines(dev(&tmp.path().join("data"), &log, &[]), &log, 3);
    assert!(!text.contains('\u{1b}'), "escape codes in a file:\n{text}");
    assert!(text.contains("INFO"), "{text}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("dev.log");
    let child = dev(&tmp.path().join("data"), &log, &["--log-format", "json"]);
    let text = log_lines(child, &log, 3);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{text}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        assert!(v["fields"].is_object(), "{line}");
    }
}

#[test]
fn completions_and_the_man_page_cover_the_whole_command_tree() {
    let bash = packyard(&["completions", "bash"]);
    assert!(bash.status.success());
    let bash = String::from_utf8(bash.stdout).unwrap();
    assert!(
        bash.contains("_packyard()") && bash.contains("tester-tokens"),
        "{bash}"
    );
    let zsh = String::from_utf8(packyard(&["completions", "zsh"]).stdout).unwrap();
    assert!(zsh.starts_with("#compdef packyard"), "{zsh}");
    let bad = packyard(&["completions", "cmd.exe"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("possible values"));

    let man = packyard(&["man"]);
    assert!(man.status.success());
    let man = String::from_utf8(man.stdout).unwrap();
    assert!(
        man.starts_with(".ie") || man.contains(".TH packyard"),
        "{man}"
    );
    assert!(man.contains("tester\\-tokens"), "{man}");
}

#[test]
fn every_command_is_well_formed() {
    // Building the whole tree runs clap's own checks of every command (a flag named twice,
    // a global flag a subcommand redefines), which parsing one command line does not.
    let help = packyard(&["man"]);
    assert!(
        help.status.success(),
        "{}",
        String::from_utf8_lossy(&help.stderr)
    );
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = packyard(&["completions", shell]);
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_second_dev_node_on_the_same_folder_is_refused_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let log = tmp.path().join("first.log");
    let first = dev(&data, &log, &[]);
    // Once the first holds the folder (it logs its listeners after taking the lock).
    eventually_blocking("the first node listens", Duration::from_secs(60), || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("listening")
    });
    let second = Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(["dev", "--data", data.to_str().unwrap()])
        .args(["--admin-addr", "127.0.0.1:0", "--edge-addr", "127.0.0.1:0"])
        .args(["--upload-addr", "127.0.0.1:0", "--raft-addr", "127.0.0.1:0"])
        .args(["--origin-grpc-addr", "127.0.0.1:0"])
        .env(
            "PACKYARD_ADMIN_KEY",
            "pyk_operating-test-key-0123456789abcdef",
        )
        .output()
        .unwrap();
    let mut first = first;
    let still_running = first.try_wait().unwrap().is_none();
    let _ = first.kill();
    let _ = first.wait();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("another packyard dev is running on") && stderr.contains("--data"),
        "{stderr}"
    );
    assert!(
        second.stdout.is_empty(),
        "no banner: {}",
        String::from_utf8_lossy(&second.stdout)
    );
    assert!(still_running, "the first node is untouched");
}

#[test]
fn each_command_family_reads_its_own_config_variable() {
    // PACKYARD_CONFIG is the operator commands' file (server, key); each server has its own,
    // so one shell can hold both.
    let help = |args: &[&str]| String::from_utf8(packyard(args).stdout).unwrap();
    for (server, variable) in [
        ("control", "PACKYARD_CONTROL_CONFIG"),
        ("origin", "PACKYARD_ORIGIN_CONFIG"),
        ("edge", "PACKYARD_EDGE_CONFIG"),
    ] {
        let text = help(&[server, "--help"]);
        assert!(text.contains(variable), "{server}: {text}");
        assert!(!text.contains("env: PACKYARD_CONFIG"), "{server}: {text}");
    }
    assert!(help(&["apps", "--help"]).contains("env: PACKYARD_CONFIG"));
}

#[test]
fn a_dev_node_starting_up_logs_no_warning_while_its_control_plane_elects_a_leader() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("dev.log");
    let mut child = dev(&tmp.path().join("data"), &log, &["--log-format", "plain"]);
    // Up: the edge registered, which is after the first election.
    let text = eventually_blocking("the edge registers", Duration::from_secs(60), || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("registered with the control plane")
            .then_some(text)
    });
    let _ = child.kill();
    let _ = child.wait();
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    assert!(
        warnings.is_empty(),
        "a normal start warned:\n{}",
        warnings.join("\n")
    );
}
