//! `packyard webhooks …`: subscribe an endpoint to an app's events, read what was sent to it,
//! and delete it (the app's Account Holder and Admins).

use clap::{Args, Subcommand};
use packyard_admin_client::NewWebhook;
use serde_json::Value;

use super::connection::Connection;
use super::output::{Table, cell, list_cell, record};
use super::{path_id, run};

/// `packyard webhooks …`
#[derive(Debug, Args)]
pub(crate) struct WebhooksArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: WebhooksCommand,
}

#[derive(Debug, Subcommand)]
enum WebhooksCommand {
    /// Send the app's events to URL, each signed with a secret shown this once (receivers
    /// check `X-Packyard-Signature` with it). `--quiet` prints the secret alone.
    Create {
        /// The app's id.
        #[arg(long)]
        app: String,
        /// The http(s) URL events are POSTed to.
        #[arg(long)]
        url: String,
        /// An event type to send (`BACKGROUND_ASSET_ARCHIVED`, `ROLLOUT_STATE_UPDATED` …);
        /// repeat for several; none for every type.
        #[arg(long = "event")]
        events: Vec<String>,
    },
    /// The app's webhooks.
    List {
        /// The app's id.
        #[arg(long)]
        app: String,
    },
    /// One webhook (never its secret).
    Show {
        /// The webhook's id.
        id: String,
    },
    /// What was sent to a webhook, newest first: each delivery's event, state and attempts.
    Deliveries {
        /// The webhook's id.
        id: String,
    },
    /// Send a webhook, and only it, a test event (`WEBHOOK_PING`), delivered and logged like
    /// any other: see it arrive, then `webhooks deliveries`.
    Test {
        /// The webhook's id.
        id: String,
    },
    /// Stop sending to a webhook; its delivery log goes with it.
    Delete {
        /// The webhook's id.
        id: String,
    },
}

impl WebhooksArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        run(&self.connection, |s| async move {
            match &self.command {
                WebhooksCommand::Create { app, url, events } => {
                    let webhook = NewWebhook {
                        app: path_id("app", app)?.to_owned(),
                        url: url.clone(),
                        event_types: events.clone(),
                    };
                    let doc = s.client.create_webhook(&webhook).await?;
                    if s.quiet {
                        println!("{}", cell(&doc["data"]["attributes"]["secret"]));
                    } else {
                        s.show(&doc, record);
                    }
                }
                WebhooksCommand::List { app } => {
                    let list = s.client.webhooks(path_id("app", app)?).await?;
                    s.show_list(list, webhooks_table);
                }
                WebhooksCommand::Show { id } => {
                    let doc = s.client.webhook(path_id("webhook", id)?).await?;
                    s.show(&doc, record);
                }
                WebhooksCommand::Deliveries { id } => {
                    let log = s.client.webhook_deliveries(path_id("webhook", id)?).await?;
                    s.show_list(log, deliveries_table);
                }
                WebhooksCommand::Test { id } => {
                    let id = path_id("webhook", id)?;
                    let doc = s.client.ping_webhook(id).await?;
                    if s.quiet {
                        println!("{}", cell(&doc["data"]["id"]));
                    } else if !s.json {
                        println!(
                            "test event {} queued for webhook {id}; `packyard webhooks \
                             deliveries {id}` shows how it went",
                            cell(&doc["data"]["id"])
                        );
                    } else {
                        s.show(&doc, record);
                    }
                }
                WebhooksCommand::Delete { id } => {
                    let id = path_id("webhook", id)?;
                    s.client.delete_webhook(id).await?;
                    if !s.quiet {
                        println!("deleted webhook {id}");
                    }
                }
            }
            Ok(())
        })
    }
}

fn webhooks_table(doc: &Value) -> Table {
    let mut table = Table::new(&["ID", "URL", "EVENTS", "CREATED"]);
    for w in doc["data"].as_array().into_iter().flatten() {
        let a = &w["attributes"];
        table.row(vec![
            cell(&w["id"]),
            cell(&a["url"]),
            list_cell(&a["eventTypes"], "every event"),
            cell(&a["createdDate"]),
        ]);
    }
    table
}

fn deliveries_table(doc: &Value) -> Table {
    let mut table = Table::new(&["ID", "EVENT", "EVENT DATE", "STATE", "ATTEMPTS", "LAST"]);
    for d in doc["data"].as_array().into_iter().flatten() {
        let a = &d["attributes"];
        let attempts = a["attempts"].as_array().map_or(0, Vec::len);
        let last = a["attempts"]
            .as_array()
            .and_then(|list| list.last())
            .map_or_else(
                || "-".to_owned(),
                |at| match (at["status"].as_u64(), at["error"].as_str()) {
                    (Some(status), _) => format!("{} {status}", cell(&at["result"])),
                    (None, Some(error)) => format!("{}: {error}", cell(&at["result"])),
                    (None, None) => cell(&at["result"]),
                },
            );
        table.row(vec![
            cell(&d["id"]),
            cell(&a["eventType"]),
            cell(&a["eventDate"]),
            cell(&a["state"]),
            attempts.to_string(),
            last,
        ]);
    }
    table
}
