//! [`Cut`]: iptables rules in Docker's `DOCKER-USER` chain that cut containers off from each
//! other, for the container fault tests (`support/containers.rs`).

#![allow(dead_code, reason = "each test uses a part of it")]

use std::process::Command;

use super::compose::{run_ok, text};

/// iptables rules dropping traffic between containers; removed by [`Cut::heal`] or on drop.
pub(crate) struct Cut {
    rules: Vec<(String, String)>,
    comment: String,
}

impl Cut {
    /// No rules yet; each will carry `comment` (the project's name).
    pub(crate) fn new(comment: &str) -> Self {
        Self {
            rules: Vec::new(),
            comment: comment.to_owned(),
        }
    }

    fn spec<'a>(&'a self, from: &'a str, to: &'a str) -> [&'a str; 10] {
        [
            "DOCKER-USER",
            "-s",
            from,
            "-d",
            to,
            "-m",
            "comment",
            "--comment",
            &self.comment,
            "-j",
        ]
    }

    /// Drops packets from `from` to `to` (container addresses).
    pub(crate) fn add(&mut self, from: &str, to: &str) {
        let mut args = vec!["-I"];
        args.extend(self.spec(from, to));
        args.push("DROP");
        run_ok("iptables", &args);
        self.rules.push((from.to_owned(), to.to_owned()));
    }

    fn remove_all(&mut self) -> Vec<String> {
        let mut failures = Vec::new();
        for (from, to) in std::mem::take(&mut self.rules) {
            let mut args = vec!["-D"];
            args.extend(self.spec(&from, &to));
            args.push("DROP");
            match Command::new("iptables").args(&args).output() {
                Ok(out) if out.status.success() => {}
                Ok(out) => failures.push(format!("{from} -> {to}: {}", text(&out.stderr))),
                Err(e) => failures.push(format!("{from} -> {to}: {e}")),
            }
        }
        failures
    }

    /// Removes the rules: traffic flows again.
    pub(crate) fn heal(mut self) {
        let failures = self.remove_all();
        assert!(failures.is_empty(), "removing iptables rules: {failures:?}");
        eprintln!("healed");
    }
}

impl Drop for Cut {
    fn drop(&mut self) {
        for failure in self.remove_all() {
            eprintln!("removing an iptables rule failed: {failure}");
        }
    }
}
