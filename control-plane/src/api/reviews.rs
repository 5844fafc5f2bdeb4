//! `reviewSubmissions`: submit a version for review (rules R2, R4, R6) and let a Reviewer
//! start and decide it (R5). An accepted store version is then rolled out (`rollouts.rs`).

use axum::response::Response;
use packyard_core::catalog::{
    Actor, Command, DecideReview, ResourceType, ReviewSubmissionId, ReviewTrack, SubmitForReview,
    VersionId,
};
use serde::Deserialize;

use super::context::{Api, new_id};
use super::document::{Nothing, Rel, parse};
use super::error::ApiError;
use super::packs::check_id;
use super::versions::visible_version;
use super::{not_found, render};
use crate::store::CatalogStore;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitAttributes {
    track: ReviewTrack,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct VersionRelationship {
    background_asset_version: Rel,
}

impl VersionRelationship {
    fn version(&self) -> Result<VersionId, ApiError> {
        let id = self
            .background_asset_version
            .id("backgroundAssetVersion", "backgroundAssetVersions")?;
        Ok(VersionId::new(id))
    }
}

/// `POST /v1/reviewSubmissions`: the version's record on `track` goes WAITING_FOR_REVIEW.
pub(crate) async fn submit<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<SubmitAttributes, VersionRelationship>(body, "reviewSubmissions")?;
    let id = ReviewSubmissionId::new(new_id()?);
    let command = Command::SubmitForReview(SubmitForReview {
        id: id.clone(),
        version: input.relationships.version()?,
        track: input.attributes.track,
    });
    api.propose(actor, command).await?;
    let doc = api
        .read(move |c| c.submission(&id).map(|s| render::submission(c, s)))
        .await?;
    super::document::respond_created(doc, "review submission")
}

/// `GET /v1/reviewSubmissions/{id}`: with the reviewer's reasons, readable by the app's
/// members (rule R5) and its Reviewers.
pub(crate) async fn get<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: ReviewSubmissionId,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    api.show(move |c| {
        let s = c
            .submission(&id)
            .ok_or_else(|| not_found(ResourceType::ReviewSubmissions, &id))?;
        visible_version(c, &actor, &s.version)?;
        Ok(render::submission(c, s))
    })
    .await
}

/// `GET /v1/apps/{id}/reviewSubmissions`: every submission of the app's versions, in id
/// order, with who submitted and decided each, for its members (rule R5).
pub(crate) async fn list<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    app: packyard_core::catalog::AppId,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    api.list(format!("/v1/apps/{app}/reviewSubmissions"), move |c| {
        c.may_read(&actor, &app, ResourceType::ReviewSubmissions)?;
        Ok(c.app_submissions(&app)
            .map(|s| render::submission(c, s))
            .collect())
    })
    .await
}

/// The states a Reviewer may move a submission to.
#[derive(Deserialize)]
enum Decision {
    #[serde(rename = "IN_REVIEW")]
    InReview,
    #[serde(rename = "ACCEPTED")]
    Accepted,
    #[serde(rename = "REJECTED")]
    Rejected,
    #[serde(rename = "WITHDRAWN")]
    Withdrawn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideAttributes {
    state: Decision,
    #[serde(default)]
    reasons: Vec<String>,
}

/// `PATCH /v1/reviewSubmissions/{id}` (Reviewer): `IN_REVIEW`, then `ACCEPTED` or `REJECTED`
/// with `reasons`; or (whoever may submit) `WITHDRAWN` while no reviewer has picked it up.
///
/// Accepting an external beta submission also makes the version the one external testers get,
/// in the same command (see `Catalog::apply`'s `DecideReview`).
pub(crate) async fn decide<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: ReviewSubmissionId,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<DecideAttributes, Nothing>(body, "reviewSubmissions")?;
    check_id(input.id.as_deref(), id.as_str())?;
    let a = input.attributes;
    let command = match a.state {
        Decision::InReview => Command::StartReview {
            submission: id.clone(),
        },
        Decision::Withdrawn => Command::WithdrawSubmission {
            submission: id.clone(),
        },
        Decision::Accepted | Decision::Rejected => Command::DecideReview(DecideReview {
            submission: id.clone(),
            accepted: matches!(a.state, Decision::Accepted),
            reasons: a.reasons,
        }),
    };
    api.propose(actor, command).await?;
    get(api, actor, id).await
}
