//! `packyard rollout`: start, watch and steer per-region rollouts through the admin API
//! (`/v1/rollouts`). Table output by default, the API's JSON with `--json`.
//!
//! The HTTP calls sit in [`AdminCall`], a small private helper, until the CLI has one shared
//! admin client.

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// `packyard rollout …`
#[derive(Debug, Args)]
pub(crate) struct RolloutArgs {
    /// The admin API of any control-plane node.
    #[arg(
        long,
        env = "PACKYARD_SERVER",
        global = true,
        default_value = "http://127.0.0.1:7100"
    )]
    server: String,
    /// An API key of a user who may roll out (Account Holder, Admin or App Manager).
    #[arg(
        long,
        env = "PACKYARD_ADMIN_KEY",
        global = true,
        hide_env_values = true
    )]
    key: Option<String>,
    /// Print the API's JSON document instead of a table.
    #[arg(long, global = true)]
    json: bool,
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
}

/// Runs a rollout command and prints the rollout that results.
pub(crate) fn run(args: &RolloutArgs) -> anyhow::Result<()> {
    let key = args
        .key
        .clone()
        .context("an API key is needed: pass --key or set PACKYARD_ADMIN_KEY")?;
    let api = AdminCall::new(&args.server, key)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let doc = runtime.block_on(async {
        match &args.command {
            RolloutCommand::Start {
                version,
                stages,
                soak_seconds,
            } => {
                let mut attributes = json!({});
                if !stages.is_empty() {
                    let stages = stages
                        .iter()
                        .map(|s| parse_stage(s))
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    attributes["stages"] = Value::Array(stages);
                }
                if let Some(soak) = soak_seconds {
                    attributes["soakSeconds"] = json!(soak);
                }
                let body = json!({"data": {"type": "rollouts", "attributes": attributes,
                    "relationships": {"backgroundAssetVersion": {
                        "data": {"type": "backgroundAssetVersions", "id": version}}}}});
                api.send(reqwest::Method::POST, "/v1/rollouts", Some(body))
                    .await
            }
            RolloutCommand::Status { id } => {
                api.send(reqwest::Method::GET, &format!("/v1/rollouts/{id}"), None)
                    .await
            }
            RolloutCommand::Advance { id } => api.act(id, "ADVANCE").await,
            RolloutCommand::Pause { id } => api.act(id, "PAUSE").await,
            RolloutCommand::Resume { id } => api.act(id, "RESUME").await,
            RolloutCommand::Rollback { id } => api.act(id, "ROLL_BACK").await,
        }
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", table(&doc["data"]));
    }
    Ok(())
}

/// `eu,us=50` → `{"regions": ["eu", "us"], "percentage": 50}`.
fn parse_stage(spec: &str) -> anyhow::Result<Value> {
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
    Ok(json!({"regions": regions, "percentage": percentage}))
}

/// A rollout document as a short summary and a table of regions.
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

/// One admin API call at a time: a bearer key, JSON:API documents in and out, and errors
/// turned into the API's own words.
struct AdminCall {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl AdminCall {
    fn new(server: &str, key: String) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base: server.trim_end_matches('/').to_owned(),
            key,
        })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url).bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the admin API at {}", self.base))?;
        let status = response.status();
        let doc: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(doc);
        }
        let details: Vec<String> = doc["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["detail"].as_str().unwrap_or("").to_owned())
            .collect();
        bail!("{status}: {}", details.join("; "))
    }

    async fn act(&self, id: &str, action: &str) -> anyhow::Result<Value> {
        let body =
            json!({"data": {"type": "rollouts", "id": id, "attributes": {"action": action}}});
        self.send(
            reqwest::Method::PATCH,
            &format!("/v1/rollouts/{id}"),
            Some(body),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn stages_parse_from_regions_and_a_percentage() {
        assert_eq!(
            parse_stage("eu,us=50").unwrap(),
            json!({"regions": ["eu", "us"], "percentage": 50})
        );
        assert_eq!(
            parse_stage("*=100").unwrap(),
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
