//! The operator commands: the release workflow against any cluster's admin API. The calls,
//! uploads and waits are `packyard-admin-client`'s; these files turn flags into its requests
//! and its answers into tables.
//!
//! # Layout
//!
//! - `connection.rs`: `--server`, `--key`, `--config`, `--json`, `--quiet`, and how they resolve.
//! - `output.rs`: tables for people, JSON for scripts.
//! - `progress.rs`: an upload's progress bar.
//! - `apps.rs` (apps, builds), `packs.rs`, `versions.rs`, `review.rs` (review, release),
//!   `access.rs` (users, keys, tester tokens), `rollout.rs` (per-region rollouts),
//!   `whoami.rs` (whoami, config show), `fleet.rs` (edges, regions), `webhooks.rs`: one
//!   command family each.

mod access;
mod apps;
mod connection;
mod fleet;
mod output;
mod packs;
mod progress;
mod review;
mod rollout;
mod versions;
mod webhooks;
mod whoami;

use anyhow::Context as _;
use serde_json::Value;

pub(crate) use access::{KeysArgs, TesterTokensArgs, UsersArgs};
pub(crate) use apps::{AppsArgs, BuildsArgs};
pub(crate) use fleet::{EdgesArgs, RegionsArgs};
pub(crate) use packs::PacksArgs;
pub(crate) use review::{ReleaseArgs, ReviewArgs};
pub(crate) use rollout::{RolloutArgs, run as run_rollout};
pub(crate) use versions::VersionsArgs;
pub(crate) use webhooks::WebhooksArgs;
pub(crate) use whoami::{ConfigArgs, WhoamiArgs};

use connection::Connection;
use packyard_admin_client::AdminClient;

/// What every command runs with: the client and how to print.
pub(crate) struct Session {
    client: AdminClient,
    json: bool,
    quiet: bool,
}

impl Session {
    /// Prints a created or fetched document: its id alone with `--quiet`, its JSON with
    /// `--json`, else the table `table` makes.
    fn show(&self, doc: &Value, table: impl FnOnce(&Value) -> output::Table) {
        if self.quiet {
            println!("{}", output::cell(&doc["data"]["id"]));
        } else {
            output::emit(self.json, doc, table);
        }
    }

    /// Prints a list: ids one per line with `--quiet`, else JSON or the table.
    fn show_list(&self, items: Vec<Value>, table: impl FnOnce(&Value) -> output::Table) {
        if self.quiet {
            for item in &items {
                println!("{}", output::cell(&item["id"]));
            }
        } else {
            output::emit(self.json, &serde_json::json!({ "data": items }), table);
        }
    }
}

/// Runs one operator command on a fresh runtime.
fn run<F, Fut>(connection: &Connection, body: F) -> anyhow::Result<()>
where
    F: FnOnce(Session) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let session = Session {
        client: connection.client()?,
        json: connection.json,
        quiet: connection.quiet,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(body(session))
}

/// Asks before something that cannot be undone: `y` on a terminal goes on; anything else, or
/// no terminal (a script that did not pass `--yes`), stops with an error saying how to go on.
fn confirm(question: &str) -> anyhow::Result<()> {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("{question}\nThis cannot be undone; pass --yes to do it without asking");
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if !matches!(answer.trim(), "y" | "Y" | "yes") {
        anyhow::bail!("not done");
    }
    Ok(())
}

/// An id given on the command line, refused when it could not be one (before any request).
fn path_id<'a>(what: &str, id: &'a str) -> anyhow::Result<&'a str> {
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        anyhow::bail!("{what} {id:?} is not an id: expected letters, digits, '-' or '_'");
    }
    Ok(id)
}
