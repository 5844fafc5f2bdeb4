//! `packyard edges …` and `packyard regions …`: the edge fleet as the control plane sees it
//! (operators and those who may view the fleet).

use clap::{Args, Subcommand};
use serde_json::Value;

use super::connection::Connection;
use super::output::{self, Table, cell};
use super::{path_id, run};

/// `packyard edges …`
#[derive(Debug, Args)]
pub(crate) struct EdgesArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: EdgesCommand,
}

#[derive(Debug, Subcommand)]
enum EdgesCommand {
    /// Every edge: region, state (UP while its heartbeats arrive), lag and cache.
    List,
    /// One edge, with the versions it holds ready and what it served.
    Show {
        /// The edge's id.
        id: String,
    },
}

impl EdgesArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        run(&self.connection, |s| async move {
            match &self.command {
                EdgesCommand::List => {
                    let edges = s.client.edges().await?;
                    s.show_list(edges, edges_table);
                }
                EdgesCommand::Show { id } => {
                    let doc = s.client.edge(path_id("edge", id)?).await?;
                    s.show(&doc, output::record);
                }
            }
            Ok(())
        })
    }
}

/// A size in a document, in binary units.
fn human(bytes: &Value) -> String {
    bytes
        .as_u64()
        .map_or_else(|| cell(bytes), crate::units::bytes)
}

fn edges_table(doc: &Value) -> Table {
    let mut table = Table::new(&[
        "ID",
        "REGION",
        "STATE",
        "LAG",
        "CACHED",
        "CAPACITY",
        "LAST HEARTBEAT",
    ]);
    for e in doc["data"].as_array().into_iter().flatten() {
        let a = &e["attributes"];
        table.row(vec![
            cell(&e["id"]),
            cell(&a["region"]),
            cell(&a["state"]),
            cell(&a["lagEntries"]),
            human(&a["cachedBytes"]),
            human(&a["capacityBytes"]),
            cell(&a["lastHeartbeatDate"]),
        ]);
    }
    table
}

/// `packyard regions …`
#[derive(Debug, Args)]
pub(crate) struct RegionsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: RegionsCommand,
}

#[derive(Debug, Subcommand)]
enum RegionsCommand {
    /// Every region the edges serve, with how many of its edges are up.
    List,
}

impl RegionsArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        run(&self.connection, |s| async move {
            let RegionsCommand::List = self.command;
            let regions = s.client.regions().await?;
            s.show_list(regions, regions_table);
            Ok(())
        })
    }
}

fn regions_table(doc: &Value) -> Table {
    let mut table = Table::new(&["REGION", "UP", "DOWN"]);
    for r in doc["data"].as_array().into_iter().flatten() {
        let a = &r["attributes"];
        table.row(vec![
            cell(&r["id"]),
            cell(&a["upCount"]),
            cell(&a["downCount"]),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_documents_are_shown_in_binary_units() {
        assert_eq!(human(&Value::from(1536u64)), "1.5 KiB");
        assert_eq!(human(&Value::Null), "-");
    }
}
