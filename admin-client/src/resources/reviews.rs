//! Review submissions (`reviewSubmissions`): submit a version for external-testing or store
//! review, and a Reviewer's decisions.

use packyard_core::catalog::{ReviewTrack, SubmissionState};
use serde_json::{Value, json};

use super::resource::Stateful;
use crate::client::AdminClient;
use crate::document::to_one;
use crate::error::AdminError;

/// A review submission, with its state.
pub type Submission = Stateful<SubmissionState>;

/// The body of `POST /v1/reviewSubmissions`.
pub fn submission_document(version: &str, track: ReviewTrack) -> Value {
    json!({"data": {"type": "reviewSubmissions",
        "attributes": {"track": track.as_str()},
        "relationships": {"backgroundAssetVersion":
            to_one("backgroundAssetVersions", version)}}})
}

impl AdminClient {
    /// Submits a COMPLETE version for review on `track`.
    pub async fn submit_review(
        &self,
        version: &str,
        track: ReviewTrack,
    ) -> Result<Submission, AdminError> {
        let doc = self
            .post("/v1/reviewSubmissions", submission_document(version, track))
            .await?;
        Submission::from_document(doc)
    }

    /// The review submissions of an app's versions (each a resource object).
    pub async fn submissions(&self, app: &str) -> Result<Vec<Value>, AdminError> {
        self.get_all(&format!("/v1/apps/{app}/reviewSubmissions"))
            .await
    }

    /// A review submission.
    pub async fn submission(&self, id: &str) -> Result<Submission, AdminError> {
        Submission::from_document(self.get(&format!("/v1/reviewSubmissions/{id}")).await?)
    }

    /// A Reviewer's step: into review, or a decision (`reasons` go with a rejection).
    pub async fn decide(
        &self,
        id: &str,
        state: SubmissionState,
        reasons: &[String],
    ) -> Result<Submission, AdminError> {
        let mut attributes = json!({ "state": state.as_str() });
        if state == SubmissionState::Rejected {
            attributes["reasons"] = json!(reasons);
        }
        let body = json!({"data": {"type": "reviewSubmissions", "id": id,
            "attributes": attributes}});
        Submission::from_document(
            self.patch(&format!("/v1/reviewSubmissions/{id}"), body)
                .await?,
        )
    }

    /// Takes `version` through `track`'s review to ACCEPTED, the Reviewer's steps made with
    /// `reviewer` (a client under a Reviewer's key).
    pub async fn accept(
        &self,
        reviewer: &AdminClient,
        version: &str,
        track: ReviewTrack,
    ) -> Result<Submission, AdminError> {
        let submission = self.submit_review(version, track).await?;
        reviewer
            .decide(&submission.id, SubmissionState::InReview, &[])
            .await?;
        reviewer
            .decide(&submission.id, SubmissionState::Accepted, &[])
            .await
    }
}
