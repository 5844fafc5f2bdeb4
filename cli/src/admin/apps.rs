//! `packyard apps …` and `packyard builds …`.

use clap::{Args, Subcommand, ValueEnum};
use packyard_admin_client::{NewApp, NewBuild};
use serde_json::Value;

use super::connection::Connection;
use super::output::{Table, cell, list_cell, record, size_cell};
use super::{Session, path_id, run};

/// `packyard apps …`
#[derive(Debug, Args)]
pub(crate) struct AppsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: AppsCommand,
}

#[derive(Debug, Subcommand)]
enum AppsCommand {
    /// The apps this key may see.
    List,
    /// Create an app; the key's user becomes its Account Holder.
    Create {
        /// The app's name.
        #[arg(long)]
        name: String,
        /// The app's bundle id, unique in the cluster (`com.example.game`).
        #[arg(long)]
        bundle_id: String,
        /// The app's primary language (BCP-47): devices fall back to packs in it.
        #[arg(long, default_value = "en-US")]
        primary_language: String,
    },
    /// One app, with the bytes its packs use.
    Show {
        /// The app's id.
        app: String,
    },
}

impl AppsArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        run(&self.connection, |s| async move {
            match &self.command {
                AppsCommand::List => {
                    let apps = s.client.apps().await?;
                    s.show_list(apps, apps_table);
                }
                AppsCommand::Create {
                    name,
                    bundle_id,
                    primary_language,
                } => {
                    let app = NewApp::new(name, bundle_id).primary_language(primary_language);
                    let app = s.client.create_app(&app).await?;
                    s.show(&app.document, record);
                }
                AppsCommand::Show { app } => {
                    let app = s.client.app(path_id("app", app)?).await?;
                    s.show(&app.document, record);
                }
            }
            Ok(())
        })
    }
}

fn apps_table(doc: &Value) -> Table {
    let mut table = Table::new(&["ID", "NAME", "BUNDLE ID", "LANGUAGE", "USED"]);
    for app in doc["data"].as_array().into_iter().flatten() {
        let a = &app["attributes"];
        table.row(vec![
            cell(&app["id"]),
            cell(&a["name"]),
            cell(&a["bundleId"]),
            cell(&a["primaryLanguage"]),
            size_cell(&a["usedBytes"]),
        ]);
    }
    table
}

/// `packyard builds …`
#[derive(Debug, Args)]
pub(crate) struct BuildsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: BuildsCommand,
}

#[derive(Debug, Subcommand)]
enum BuildsCommand {
    /// Register a build of an app for some channels; an external build lets the app's packs
    /// enter external review (rule R4).
    Create {
        /// The app's id.
        #[arg(long)]
        app: String,
        /// The build number (`100`, `1.2.3`).
        #[arg(long)]
        number: String,
        /// A channel the build is available on; repeat for several.
        #[arg(long = "channel", required = true, value_enum)]
        channels: Vec<BuildChannel>,
    },
    /// The app's builds, with the channels each is available on.
    List {
        /// The app's id.
        #[arg(long)]
        app: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BuildChannel {
    Internal,
    External,
    Store,
}

impl BuildChannel {
    fn api(self) -> packyard_admin_client::BuildChannel {
        use packyard_admin_client::BuildChannel as Api;
        match self {
            Self::Internal => Api::Internal,
            Self::External => Api::External,
            Self::Store => Api::AppStore,
        }
    }
}

impl BuildsArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        run(&self.connection, |s: Session| async move {
            let (app, number, channels) = match &self.command {
                BuildsCommand::Create {
                    app,
                    number,
                    channels,
                } => (app, number, channels),
                BuildsCommand::List { app } => {
                    let builds = s.client.builds(path_id("app", app)?).await?;
                    s.show_list(builds, builds_table);
                    return Ok(());
                }
            };
            let build = NewBuild {
                app: path_id("app", app)?.to_owned(),
                number: number.clone(),
                channels: channels.iter().map(|c| c.api()).collect(),
            };
            let build = s.client.create_build(&build).await?;
            s.show(&build.document, record);
            Ok(())
        })
    }
}

fn builds_table(doc: &Value) -> Table {
    let mut table = Table::new(&["ID", "NUMBER", "CHANNELS", "CREATED"]);
    for b in doc["data"].as_array().into_iter().flatten() {
        let a = &b["attributes"];
        table.row(vec![
            cell(&b["id"]),
            cell(&a["buildNumber"]),
            list_cell(&a["channels"], "-"),
            cell(&a["createdDate"]),
        ]);
    }
    table
}
