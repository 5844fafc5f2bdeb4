//! `packyard review …` (submit, start, approve, reject, show) and `packyard release`.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use super::connection::Connection;
use super::output::record;
use super::{Session, path_id, run, to_one};

/// `packyard review …`
#[derive(Debug, Args)]
pub(crate) struct ReviewArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: ReviewCommand,
}

#[derive(Debug, Subcommand)]
enum ReviewCommand {
    /// Submit a COMPLETE version for external-testing or store review (App Manager, Admin,
    /// Account Holder). Prints the submission's id.
    Submit {
        /// The version's id.
        version: String,
        /// Which review.
        #[arg(long, value_enum)]
        track: ReviewTrack,
    },
    /// Take a waiting submission into review (Reviewer).
    Start {
        /// The submission's id.
        submission: String,
    },
    /// Approve a submission (Reviewer); one still waiting is taken into review first.
    Approve {
        /// The submission's id.
        submission: String,
    },
    /// Reject a submission with reasons the app's members can read (Reviewer).
    Reject {
        /// The submission's id.
        submission: String,
        /// Why; repeat for several.
        #[arg(long = "reason", required = true)]
        reasons: Vec<String>,
    },
    /// One submission, with its state and reasons.
    Show {
        /// The submission's id.
        submission: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReviewTrack {
    /// External beta testing.
    External,
    /// The app store.
    Store,
}

impl ReviewArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        run(&self.connection, |s| async move {
            let doc = match &self.command {
                ReviewCommand::Submit { version, track } => {
                    let track = match track {
                        ReviewTrack::External => "EXTERNAL_BETA",
                        ReviewTrack::Store => "APP_STORE",
                    };
                    let body = json!({"data": {"type": "reviewSubmissions",
                        "attributes": {"track": track},
                        "relationships": {"backgroundAssetVersion":
                            to_one("backgroundAssetVersions", path_id("version", version)?)}}});
                    s.client.post("/v1/reviewSubmissions", body).await?
                }
                ReviewCommand::Start { submission } => {
                    decide(&s, submission, json!({"state": "IN_REVIEW"})).await?
                }
                ReviewCommand::Approve { submission } => {
                    into_review(&s, submission).await?;
                    decide(&s, submission, json!({"state": "ACCEPTED"})).await?
                }
                ReviewCommand::Reject {
                    submission,
                    reasons,
                } => {
                    into_review(&s, submission).await?;
                    decide(
                        &s,
                        submission,
                        json!({"state": "REJECTED", "reasons": reasons}),
                    )
                    .await?
                }
                ReviewCommand::Show { submission } => {
                    let path = format!(
                        "/v1/reviewSubmissions/{}",
                        path_id("submission", submission)?
                    );
                    s.client.get(&path).await?
                }
            };
            s.show(&doc, record);
            Ok(())
        })
    }
}

/// Takes a submission still waiting into review, so a decision can follow.
async fn into_review(s: &Session, submission: &str) -> anyhow::Result<()> {
    let path = format!(
        "/v1/reviewSubmissions/{}",
        path_id("submission", submission)?
    );
    let current = s.client.get(&path).await?;
    if current["data"]["attributes"]["state"] == "WAITING_FOR_REVIEW" {
        decide(s, submission, json!({"state": "IN_REVIEW"})).await?;
    }
    Ok(())
}

async fn decide(s: &Session, submission: &str, attributes: Value) -> anyhow::Result<Value> {
    let submission = path_id("submission", submission)?;
    let body = json!({"data": {"type": "reviewSubmissions", "id": submission,
        "attributes": attributes}});
    s.client
        .patch(&format!("/v1/reviewSubmissions/{submission}"), body)
        .await
}

/// `packyard release VERSION`: release a store-approved version to every device.
#[derive(Debug, Args)]
pub(crate) struct ReleaseArgs {
    #[command(flatten)]
    connection: Connection,
    /// The version's id (approved for the store).
    version: String,
}

impl ReleaseArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        run(&self.connection, |s| async move {
            let body = json!({"data": {"type": "rollouts", "relationships": {
                "backgroundAssetVersion":
                    to_one("backgroundAssetVersions", path_id("version", &self.version)?)}}});
            let doc = s.client.post("/v1/rollouts", body).await?;
            s.show(&doc, record);
            Ok(())
        })
    }
}
