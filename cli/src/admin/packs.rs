//! `packyard packs …`: create, list, show and archive asset packs.

use clap::{Args, Subcommand};
use packyard_admin_client::NewPack;
use serde_json::Value;

use super::connection::Connection;
use super::output::{Table, cell, record, size_cell};
use super::{path_id, run};

/// `packyard packs …`
#[derive(Debug, Args)]
pub(crate) struct PacksArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: PacksCommand,
}

#[derive(Debug, Subcommand)]
enum PacksCommand {
    /// Create a pack in an app.
    Create {
        /// The app's id.
        #[arg(long)]
        app: String,
        /// The pack's identifier, as the app and the packaging manifest name it (`level-2`).
        identifier: String,
    },
    /// An app's packs, with the version each channel serves.
    List {
        /// The app's id.
        #[arg(long)]
        app: String,
        /// Archived packs only (live ones only without it).
        #[arg(long)]
        archived: bool,
    },
    /// One pack.
    Show {
        /// The pack's id.
        pack: String,
    },
    /// Archive a pack: every version leaves every channel, the quota is freed, and the
    /// identifier can never be used again in the app. Cannot be undone.
    Archive {
        /// The pack's id.
        pack: String,
        /// Archive without asking (needed when not on a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

impl PacksArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        run(&self.connection, |s| async move {
            match &self.command {
                PacksCommand::Create { app, identifier } => {
                    let pack = NewPack::new(path_id("app", app)?, identifier);
                    let pack = s.client.create_pack(&pack).await?;
                    s.show(&pack.document, record);
                }
                PacksCommand::List { app, archived } => {
                    let packs = s.client.packs(path_id("app", app)?, *archived).await?;
                    s.show_list(packs, packs_table);
                }
                PacksCommand::Show { pack } => {
                    let pack = s.client.pack(path_id("pack", pack)?).await?;
                    s.show(&pack.document, pack_record);
                }
                PacksCommand::Archive { pack, yes } => {
                    let id = path_id("pack", pack)?;
                    if !yes {
                        let shown = s.client.pack(id).await?;
                        let identifier =
                            cell(&shown.document["data"]["attributes"]["assetPackIdentifier"]);
                        super::confirm(&format!(
                            "Archive pack {id} ({identifier})? Every version leaves every \
                             channel and the identifier can never be used again in the app."
                        ))?;
                    }
                    let pack = s.client.archive_pack(id).await?;
                    s.show(&pack.document, pack_record);
                }
            }
            Ok(())
        })
    }
}

/// The version id a pack's channel relationship names, or `-`.
/// The number of the version a channel serves (the pack's `meta`), `-` for none.
fn serving(pack: &Value, relationship: &str) -> String {
    cell(&pack["meta"][format!("{relationship}Number")])
}

fn packs_table(doc: &Value) -> Table {
    let mut table = Table::new(&[
        "ID",
        "IDENTIFIER",
        "ARCHIVED",
        "USED",
        "INTERNAL",
        "EXTERNAL",
        "STORE",
    ]);
    for pack in doc["data"].as_array().into_iter().flatten() {
        let a = &pack["attributes"];
        table.row(vec![
            cell(&pack["id"]),
            cell(&a["assetPackIdentifier"]),
            cell(&a["archived"]),
            size_cell(&a["usedBytes"]),
            serving(pack, "internalBetaVersion"),
            serving(pack, "externalBetaVersion"),
            serving(pack, "appStoreVersion"),
        ]);
    }
    table
}

fn pack_record(doc: &Value) -> Table {
    let mut table = record(doc);
    let pack = &doc["data"];
    for (name, relationship) in [
        ("internal version", "internalBetaVersion"),
        ("external version", "externalBetaVersion"),
        ("store version", "appStoreVersion"),
    ] {
        table.row(vec![name.to_owned(), serving(pack, relationship)]);
    }
    table
}
