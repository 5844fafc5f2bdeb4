//! `packyard whoami` and `packyard config show`: which server and key the operator commands
//! use, where each setting came from, and who the key belongs to.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::connection::Connection;
use super::output::{self, Table, cell};
use super::run;

/// `packyard whoami`
#[derive(Debug, Args)]
pub(crate) struct WhoamiArgs {
    #[command(flatten)]
    connection: Connection,
}

impl WhoamiArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        let resolved = self.connection.resolve()?;
        run(&self.connection, |s| async move {
            let doc = s.client.me().await?;
            if s.quiet {
                println!("{}", cell(&doc["data"]["id"]));
            } else {
                output::emit(s.json, &doc, |doc| whoami_table(doc, &resolved.server));
            }
            Ok(())
        })
    }
}

fn whoami_table(doc: &Value, server: &str) -> Table {
    let a = &doc["data"]["attributes"];
    let mut table = Table::new(&["FIELD", "VALUE"]);
    table.row(vec!["user".into(), cell(&doc["data"]["id"])]);
    table.row(vec!["name".into(), cell(&a["name"])]);
    table.row(vec!["email".into(), cell(&a["email"])]);
    table.row(vec!["operator".into(), cell(&a["operator"])]);
    let roles: Vec<String> = a["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| format!("{}:{}", cell(&r["app"]), cell(&r["role"])))
        .collect();
    table.row(vec![
        "roles".into(),
        if roles.is_empty() {
            "-".into()
        } else {
            roles.join(", ")
        },
    ]);
    table.row(vec!["server".into(), server.to_owned()]);
    table
}

/// `packyard config …`
#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// The server, key (its first characters) and CA the operator commands use, and where
    /// each came from: a flag, the environment, the config file or packyard dev's key file.
    /// Sends nothing.
    Show,
}

impl ConfigArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        match self.command {
            ConfigCommand::Show => {
                let r = self.connection.resolve()?;
                let doc = json!({
                    "server": r.server,
                    "serverFrom": r.server_from,
                    "key": r.key_shown(),
                    "keyFrom": r.key_from,
                    "caCert": r.ca_cert.as_ref().map(|p| p.display().to_string()),
                    "configFile": r.config.as_ref().map(|p| p.display().to_string()),
                });
                output::emit(self.connection.json, &doc, |doc| {
                    let mut table = Table::new(&["SETTING", "VALUE", "FROM"]);
                    table.row(vec![
                        "server".into(),
                        cell(&doc["server"]),
                        cell(&doc["serverFrom"]),
                    ]);
                    table.row(vec!["key".into(), cell(&doc["key"]), cell(&doc["keyFrom"])]);
                    table.row(vec![
                        "ca cert".into(),
                        cell(&doc["caCert"]),
                        "--ca-cert or PACKYARD_CA_CERT".into(),
                    ]);
                    table.row(vec![
                        "config file".into(),
                        cell(&doc["configFile"]),
                        "--config, PACKYARD_CONFIG or ~/.config/packyard/config.toml".into(),
                    ]);
                    table
                });
                Ok(())
            }
        }
    }
}
