//! `packyard review …` (submit, start, approve, reject, show) and `packyard release`.

use clap::{Args, Subcommand, ValueEnum};
use packyard_admin_client::{NewRollout, Submission, SubmissionState};

use super::connection::Connection;
use super::output::record;
use super::{Session, path_id, run};

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
        #[arg(long, value_enum, ignore_case = true)]
        track: ReviewTrack,
    },
    /// Take back a submission no reviewer has picked up (whoever may submit): the version
    /// may be submitted again, and no longer stops its pack being archived.
    Withdraw {
        /// The submission's id.
        submission: String,
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
    /// Every submission of the app's versions: track, state, who submitted and decided.
    List {
        /// The app's id.
        #[arg(long)]
        app: String,
    },
}

/// Spelled as the API and every table spell it (`EXTERNAL_BETA`, `APP_STORE`), in any case;
/// `external` and `store` are kept as the short forms.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReviewTrack {
    /// External beta testing.
    #[value(name = "EXTERNAL_BETA", alias = "external")]
    External,
    /// The app store.
    #[value(name = "APP_STORE", alias = "store")]
    Store,
}

impl ReviewArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        run(&self.connection, |s| async move {
            let submission = match &self.command {
                ReviewCommand::Submit { version, track } => {
                    let track = match track {
                        ReviewTrack::External => packyard_admin_client::ReviewTrack::ExternalBeta,
                        ReviewTrack::Store => packyard_admin_client::ReviewTrack::AppStore,
                    };
                    s.client
                        .submit_review(path_id("version", version)?, track)
                        .await?
                }
                ReviewCommand::Withdraw { submission } => {
                    decide(&s, submission, SubmissionState::Withdrawn, &[]).await?
                }
                ReviewCommand::Start { submission } => {
                    decide(&s, submission, SubmissionState::InReview, &[]).await?
                }
                ReviewCommand::Approve { submission } => {
                    into_review(&s, submission).await?;
                    decide(&s, submission, SubmissionState::Accepted, &[]).await?
                }
                ReviewCommand::Reject {
                    submission,
                    reasons,
                } => {
                    into_review(&s, submission).await?;
                    decide(&s, submission, SubmissionState::Rejected, reasons).await?
                }
                ReviewCommand::Show { submission } => {
                    s.client
                        .submission(path_id("submission", submission)?)
                        .await?
                }
                ReviewCommand::List { app } => {
                    let list = s.client.submissions(path_id("app", app)?).await?;
                    s.show_list(list, submissions_table);
                    return Ok(());
                }
            };
            s.show(&submission.document, record);
            Ok(())
        })
    }
}

/// Takes a submission still waiting into review, so a decision can follow.
async fn into_review(s: &Session, submission: &str) -> anyhow::Result<()> {
    let current = s
        .client
        .submission(path_id("submission", submission)?)
        .await?;
    if current.state == SubmissionState::WaitingForReview {
        decide(s, submission, SubmissionState::InReview, &[]).await?;
    }
    Ok(())
}

async fn decide(
    s: &Session,
    submission: &str,
    state: SubmissionState,
    reasons: &[String],
) -> anyhow::Result<Submission> {
    let submission = path_id("submission", submission)?;
    Ok(s.client.decide(submission, state, reasons).await?)
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
            let release = NewRollout::everywhere(path_id("version", &self.version)?);
            let rollout = s.client.create_rollout(&release).await?;
            s.show(&rollout.document, record);
            Ok(())
        })
    }
}

fn submissions_table(doc: &serde_json::Value) -> super::output::Table {
    use super::output::cell;
    let mut table = super::output::Table::new(&[
        "ID",
        "VERSION",
        "TRACK",
        "STATE",
        "SUBMITTED BY",
        "SUBMITTED",
        "DECIDED BY",
    ]);
    for sub in doc["data"].as_array().into_iter().flatten() {
        let (a, m) = (&sub["attributes"], &sub["meta"]);
        table.row(vec![
            cell(&sub["id"]),
            cell(&m["versionNumber"]),
            cell(&a["track"]),
            cell(&a["state"]),
            cell(&m["submittedByName"]),
            cell(&a["submittedDate"]),
            cell(&m["decidedByName"]),
        ]);
    }
    table
}
