//! `packyard rollout`: start, watch and steer per-region rollouts through the admin API
//! (`/v1/rollouts`). Table output by default, the API's JSON with `--json`, the id with `-q`.

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use packyard_admin_client::{NewRollout, Rollout, RolloutAction, Stage};
use serde_json::Value;

use super::connection::Connection;
use super::{Session, path_id, run as run_command};

/// `packyard rollout …`
#[derive(Debug, Args)]
pub(crate) struct RolloutArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: RolloutCommand,
}

#[derive(Debug, Subcommand)]
enum RolloutCommand {
    /// Start rolling out an ACCEPTED store version. Without `--stage`, it is released to
    /// every region at 100 % at once.
    Start {
        /// The version's id (`backgroundAssetVersions`).
        #[arg(long = "version", value_name = "VERSION_ID")]
        version: String,
        /// A stage, in order: regions (comma-separated, `*` for every region) and the share of
        /// their devices, e.g. `--stage eu=10 --stage eu,us=50 --stage '*=100'`. The last
        /// stage must be every region at 100.
        #[arg(long = "stage", value_name = "REGIONS=PERCENT")]
        stages: Vec<String>,
        /// Seconds each stage runs before it advances by itself; without it, stages advance
        /// only with `packyard rollout advance`.
        #[arg(long = "soak", value_name = "SECONDS")]
        soak_seconds: Option<u64>,
    },
    /// Show a rollout and its status per region.
    Status {
        /// The rollout's id.
        id: String,
    },
    /// Move to the next stage (the last one completes the rollout).
    Advance {
        /// The rollout's id.
        id: String,
    },
    /// Keep the current stage in force and stop automatic advance.
    Pause {
        /// The rollout's id.
        id: String,
    },
    /// Run a paused rollout again; its soak time starts over.
    Resume {
        /// The rollout's id.
        id: String,
    },
    /// Abandon the rollout: every device gets the previous version again.
    Rollback {
        /// The rollout's id.
        id: String,
    },
    /// The app's rollouts, active and finished: pack, versions, stage and state.
    List {
        /// The app's id.
        #[arg(long)]
        app: String,
    },
}

/// Runs a rollout command and prints the rollout that results.
pub(crate) fn run(args: &RolloutArgs) -> anyhow::Result<()> {
    run_command(&args.connection, |s| async move {
        let rollout = match &args.command {
            RolloutCommand::Start {
                version,
                stages,
                soak_seconds,
            } => {
                let stages = stages
                    .iter()
                    .map(|s| parse_stage(s))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let rollout = NewRollout {
                    version: path_id("version", version)?.to_owned(),
                    stages,
                    soak_seconds: *soak_seconds,
                };
                s.client.create_rollout(&rollout).await?
            }
            RolloutCommand::Status { id } => s.client.rollout(path_id("rollout", id)?).await?,
            RolloutCommand::Advance { id } => act(&s, id, RolloutAction::Advance).await?,
            RolloutCommand::Pause { id } => act(&s, id, RolloutAction::Pause).await?,
            RolloutCommand::Resume { id } => act(&s, id, RolloutAction::Resume).await?,
            RolloutCommand::Rollback { id } => act(&s, id, RolloutAction::RollBack).await?,
            RolloutCommand::List { app } => {
                let list = s.client.rollouts(path_id("app", app)?).await?;
                s.show_list(list, list_table);
                return Ok(());
            }
        };
        let doc = rollout.document;
        if s.quiet {
            println!("{}", super::output::cell(&doc["data"]["id"]));
        } else if s.json {
            println!("{}", serde_json::to_string_pretty(&doc)?);
        } else {
            print!("{}", table(&doc["data"]));
        }
        Ok(())
    })
}

async fn act(s: &Session, id: &str, action: RolloutAction) -> anyhow::Result<Rollout> {
    Ok(s.client
        .steer_rollout(path_id("rollout", id)?, action)
        .await?)
}

/// `eu,us=50` → `{"regions": ["eu", "us"], "percentage": 50}`.
fn parse_stage(spec: &str) -> anyhow::Result<Stage> {
    let Some((regions, percent)) = spec.rsplit_once('=') else {
        bail!("--stage {spec:?}: write REGIONS=PERCENT, such as eu,us=50 or '*=100'");
    };
    let regions: Vec<&str> = regions
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .collect();
    if regions.is_empty() {
        bail!("--stage {spec:?}: name at least one region, or * for every region");
    }
    let percentage: u32 = percent.trim().parse().with_context(|| {
        format!("--stage {spec:?}: the percentage {percent:?} is not a whole number")
    })?;
    Ok(Stage::new(regions, percentage))
}

/// A rollout document as a short summary and a table of regions.
fn list_table(doc: &Value) -> super::output::Table {
    use super::output::cell;
    let mut table =
        super::output::Table::new(&["ID", "PACK", "FROM", "TO", "STAGE", "STATE", "UPDATED"]);
    for r in doc["data"].as_array().into_iter().flatten() {
        let a = &r["attributes"];
        table.row(vec![
            cell(&r["id"]),
            cell(&r["relationships"]["backgroundAsset"]["data"]["id"]),
            cell(&a["fromVersion"]),
            cell(&a["toVersion"]),
            format!("{} of {}", cell(&a["currentStage"]), cell(&a["stageCount"])),
            cell(&a["state"]),
            cell(&a["updatedDate"]),
        ]);
    }
    table
}

fn table(r: &Value) -> String {
    let a = &r["attributes"];
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    };
    let from = text(&a["fromVersion"]);
    let to = text(&a["toVersion"]);
    let stage = a["stages"]
        .as_array()
        .and_then(|s| {
            let i = usize::try_from(a["currentStage"].as_u64()?.checked_sub(1)?).ok()?;
            s.get(i)
        })
        .map(|s| {
            let regions: Vec<String> = s["regions"]
                .as_array()
                .map(|r| r.iter().map(text).collect())
                .unwrap_or_default();
            format!("{} at {} %", regions.join(", "), text(&s["percentage"]))
        })
        .unwrap_or_default();
    let mut out = format!(
        "rollout {}  {}  stage {} of {} ({stage})  version {from} -> {to}\n",
        text(&r["id"]),
        text(&a["state"]),
        text(&a["currentStage"]),
        text(&a["stageCount"]),
    );
    if !a["soakSeconds"].is_null() {
        out.push_str(&format!(
            "soak {} s per stage; next advance {}\n",
            text(&a["soakSeconds"]),
            text(&a["nextAdvanceDate"])
        ));
    }
    let mut rows = vec![[
        "REGION".to_owned(),
        "IN STAGE".to_owned(),
        "SHARE".to_owned(),
        "EDGES UP".to_owned(),
        "WITH CHUNKS".to_owned(),
        format!("DEVICES v{from}"),
        format!("DEVICES v{to}"),
    ]];
    for region in a["regions"].as_array().into_iter().flatten() {
        let served = |version: &str| {
            region["served"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|s| text(&s["version"]) == version)
                .map_or_else(|| "-".to_owned(), |s| text(&s["devices"]))
        };
        let holding = region["edgesWithChunks"].as_array().map_or(0, Vec::len);
        rows.push([
            text(&region["region"]),
            if region["inStage"] == true {
                "yes"
            } else {
                "no"
            }
            .to_owned(),
            format!("{} %", text(&region["percentage"])),
            format!("{}/{}", text(&region["edgesUp"]), text(&region["edges"])),
            holding.to_string(),
            served(&from),
            served(&to),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn stages_parse_from_regions_and_a_percentage() {
        assert_eq!(
            parse_stage("eu,us=50").unwrap().document(),
            json!({"regions": ["eu", "us"], "percentage": 50})
        );
        assert_eq!(
            parse_stage("*=100").unwrap().document(),
            json!({"regions": ["*"], "percentage": 100})
        );
        for bad in ["eu", "=10", "eu=ten", "eu=-1"] {
            assert!(parse_stage(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_table_shows_each_region() {
        let doc = json!({"id": "r1", "attributes": {
            "state": "RUNNING", "currentStage": 2, "stageCount": 3, "fromVersion": 1, "toVersion": 2,
            "soakSeconds": null,
            "stages": [{"regions": ["eu"], "percentage": 10}, {"regions": ["eu", "us"], "percentage": 50},
                       {"regions": ["*"], "percentage": 100}],
            "regions": [{"region": "eu", "inStage": true, "percentage": 50, "edges": 2, "edgesUp": 2,
                         "edgesWithChunks": ["e1", "e2"],
                         "served": [{"version": 1, "devices": 170, "requests": 200},
                                    {"version": 2, "devices": 22, "requests": 30}]}]}});
        let t = table(&doc);
        assert!(
            t.starts_with("rollout r1  RUNNING  stage 2 of 3 (eu, us at 50 %)  version 1 -> 2"),
            "{t}"
        );
        let row = t.lines().last().unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            cells,
            ["eu", "yes", "50", "%", "2/2", "2", "170", "22"],
            "{t}"
        );
    }
}
