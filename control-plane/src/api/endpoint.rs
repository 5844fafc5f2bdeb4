//! [`Endpoint`]: a request parsed once from its method, path and query, before any handler
//! runs. Its [`Endpoint::name`] is the span name and metric label.

use axum::http::Method;
use packyard_core::catalog::{
    ApiKeyId, AppId, EdgeId, PackId, ReviewSubmissionId, RolloutId, TesterTokenId, UploadFileId,
    UserId, VersionId, WebhookId,
};
use packyard_core::role::Role;

use super::error::ApiError;
use super::query::{PackListQuery, Query, VersionListQuery};

/// Every request the admin API answers. [`EndpointKind`] names the variants without their
/// ids, and iterates over all of them.
#[derive(Debug, Clone, PartialEq, Eq, strum::EnumDiscriminants)]
#[strum_discriminants(name(EndpointKind), derive(strum::EnumIter, Hash))]
#[strum_discriminants(doc = "An [`Endpoint`] without its ids: every kind of admin API request.")]
pub enum Endpoint {
    /// `GET /healthz`: the process is up.
    Health,
    /// `GET /readyz`: the store answers reads.
    Ready,
    /// `GET /metrics`: the node's metrics in the Prometheus text format.
    Metrics,
    /// `GET /v1/apps`.
    ListApps,
    /// `POST /v1/apps`.
    CreateApp,
    /// `GET /v1/apps/{id}`.
    GetApp(AppId),
    /// `GET /v1/apps/{id}/members`: the app's members and their roles on it.
    ListAppMembers(AppId),
    /// `POST /v1/apps/{id}/members`: an existing user gets a role on the app (rule R14).
    AddAppMember(AppId),
    /// `DELETE /v1/apps/{id}/members/{userId}`: the user loses every role on the app.
    RemoveAppMember(AppId, UserId),
    /// `DELETE /v1/apps/{id}/members/{userId}/roles/{role}`: the user loses one role.
    RemoveAppMemberRole(AppId, UserId, Role),
    /// `POST /v1/builds`.
    CreateBuild,
    /// `POST /v1/users`.
    CreateUser,
    /// `GET /v1/apiKeys`: the keys the caller may see, never their secrets.
    ListApiKeys,
    /// `POST /v1/apiKeys`.
    CreateApiKey,
    /// `DELETE /v1/apiKeys/{id}`.
    DeleteApiKey(ApiKeyId),
    /// `POST /v1/backgroundAssets`.
    CreateBackgroundAsset,
    /// `GET /v1/backgroundAssets/{id}`.
    GetBackgroundAsset(PackId),
    /// `PATCH /v1/backgroundAssets/{id}`.
    PatchBackgroundAsset(PackId),
    /// `GET /v1/apps/{id}/backgroundAssets`.
    ListBackgroundAssets(AppId, PackListQuery),
    /// `POST /v1/backgroundAssetVersions`.
    CreateBackgroundAssetVersion,
    /// `GET /v1/backgroundAssetVersions/{id}`.
    GetBackgroundAssetVersion(VersionId),
    /// `GET /v1/backgroundAssets/{id}/versions`.
    ListBackgroundAssetVersions(PackId, VersionListQuery),
    /// `POST /v1/backgroundAssetUploadFiles`.
    CreateBackgroundAssetUploadFile,
    /// `GET /v1/backgroundAssetUploadFiles/{id}`.
    GetBackgroundAssetUploadFile(UploadFileId),
    /// `PATCH /v1/backgroundAssetUploadFiles/{id}`.
    PatchBackgroundAssetUploadFile(UploadFileId),
    /// `GET /v1/backgroundAssetVersionInternalBetaReleases/{versionId}`.
    GetInternalBetaRelease(VersionId),
    /// `GET /v1/backgroundAssetVersionExternalBetaReleases/{versionId}`.
    GetExternalBetaRelease(VersionId),
    /// `GET /v1/backgroundAssetVersionAppStoreReleases/{versionId}`.
    GetAppStoreRelease(VersionId),
    /// `POST /v1/reviewSubmissions`.
    CreateReviewSubmission,
    /// `GET /v1/reviewSubmissions/{id}`.
    GetReviewSubmission(ReviewSubmissionId),
    /// `PATCH /v1/reviewSubmissions/{id}`.
    PatchReviewSubmission(ReviewSubmissionId),
    /// `POST /v1/rollouts`.
    CreateRollout,
    /// `GET /v1/rollouts/{id}`.
    GetRollout(RolloutId),
    /// `PATCH /v1/rollouts/{id}`.
    PatchRollout(RolloutId),
    /// `POST /v1/webhooks`.
    CreateWebhook,
    /// `POST /v1/webhookPings`: a test event to one webhook.
    CreateWebhookPing,
    /// `POST /v1/testerTokens`
    CreateTesterToken,
    /// `GET /v1/testerTokens/{id}`: a token issued (never the token itself).
    GetTesterToken(TesterTokenId),
    /// `DELETE /v1/testerTokens/{id}`: revokes it.
    RevokeTesterToken(TesterTokenId),
    /// `GET /v1/apps/{id}/testerTokens`: the app's tokens that have not expired.
    ListTesterTokens(AppId),
    /// `GET /v1/apps/{id}/builds`.
    ListBuilds(AppId),
    /// `GET /v1/apps/{id}/reviewSubmissions`.
    ListReviewSubmissions(AppId),
    /// `GET /v1/apps/{id}/rollouts`.
    ListRollouts(AppId),
    /// `GET /v1/me`: the caller's user.
    GetMe,
    /// `POST /v1/testerTokenSecrets`: rotates the key tester tokens are signed with.
    RotateTesterTokenSecret,
    /// `GET /v1/testerTokenKeys`: the public keys tester tokens are checked with.
    ListTesterTokenKeys,
    /// `GET /v1/webhooks/{id}`.
    GetWebhook(WebhookId),
    /// `DELETE /v1/webhooks/{id}`.
    DeleteWebhook(WebhookId),
    /// `GET /v1/webhooks/{id}/deliveries`.
    ListWebhookDeliveries(WebhookId),
    /// `GET /v1/apps/{id}/webhooks`.
    ListWebhooks(AppId),
    /// `GET /v1/edges`.
    ListEdges,
    /// `GET /v1/edges/{id}`.
    GetEdge(EdgeId),
    /// `GET /v1/regions`.
    ListRegions,
}

impl Endpoint {
    /// Parses a request line. Unknown paths are 404, known paths with another method 405,
    /// bad query parameters 400.
    pub fn parse(method: &Method, path: &str, query: Option<&str>) -> Result<Self, ApiError> {
        let q = Query::parse(query.unwrap_or(""))?;
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        let m = method.as_str();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(ApiError::NoRoute(path.to_owned()));
        }
        let r = RequestLine {
            method: m,
            path,
            query: q,
        };
        match segments.as_slice() {
            ["v1", "apps", ..] => app_route(&r, &segments),
            ["v1", _] => collection_route(&r, &segments),
            ["v1", ..] => resource_route(&r, &segments),
            _ => operations_route(&r, &segments),
        }
    }

    /// The span name and metric label: the variant name, without the ids.
    pub fn name(&self) -> &'static str {
        use Endpoint as E;
        match self {
            E::Health => "Health",
            E::Ready => "Ready",
            E::Metrics => "Metrics",
            E::ListApps => "ListApps",
            E::CreateApp => "CreateApp",
            E::GetApp(_) => "GetApp",
            E::ListAppMembers(_) => "ListAppMembers",
            E::AddAppMember(_) => "AddAppMember",
            E::RemoveAppMember(..) => "RemoveAppMember",
            E::RemoveAppMemberRole(..) => "RemoveAppMemberRole",
            E::CreateBuild => "CreateBuild",
            E::CreateUser => "CreateUser",
            E::ListApiKeys => "ListApiKeys",
            E::CreateApiKey => "CreateApiKey",
            E::DeleteApiKey(_) => "DeleteApiKey",
            E::CreateBackgroundAsset => "CreateBackgroundAsset",
            E::GetBackgroundAsset(_) => "GetBackgroundAsset",
            E::PatchBackgroundAsset(_) => "PatchBackgroundAsset",
            E::ListBackgroundAssets(..) => "ListBackgroundAssets",
            E::CreateBackgroundAssetVersion => "CreateBackgroundAssetVersion",
            E::GetBackgroundAssetVersion(_) => "GetBackgroundAssetVersion",
            E::ListBackgroundAssetVersions(..) => "ListBackgroundAssetVersions",
            E::CreateBackgroundAssetUploadFile => "CreateBackgroundAssetUploadFile",
            E::GetBackgroundAssetUploadFile(_) => "GetBackgroundAssetUploadFile",
            E::PatchBackgroundAssetUploadFile(_) => "PatchBackgroundAssetUploadFile",
            E::GetInternalBetaRelease(_) => "GetInternalBetaRelease",
            E::GetExternalBetaRelease(_) => "GetExternalBetaRelease",
            E::GetAppStoreRelease(_) => "GetAppStoreRelease",
            E::CreateReviewSubmission => "CreateReviewSubmission",
            E::GetReviewSubmission(_) => "GetReviewSubmission",
            E::PatchReviewSubmission(_) => "PatchReviewSubmission",
            E::CreateRollout => "CreateRollout",
            E::GetRollout(_) => "GetRollout",
            E::PatchRollout(_) => "PatchRollout",
            E::CreateWebhook => "CreateWebhook",
            E::CreateWebhookPing => "CreateWebhookPing",
            E::CreateTesterToken => "CreateTesterToken",
            E::RotateTesterTokenSecret => "RotateTesterTokenSecret",
            E::GetTesterToken(_) => "GetTesterToken",
            E::RevokeTesterToken(_) => "RevokeTesterToken",
            E::ListTesterTokens(_) => "ListTesterTokens",
            E::ListTesterTokenKeys => "ListTesterTokenKeys",
            E::GetMe => "GetMe",
            E::ListBuilds(_) => "ListBuilds",
            E::ListReviewSubmissions(_) => "ListReviewSubmissions",
            E::ListRollouts(_) => "ListRollouts",
            E::GetWebhook(_) => "GetWebhook",
            E::DeleteWebhook(_) => "DeleteWebhook",
            E::ListWebhookDeliveries(_) => "ListWebhookDeliveries",
            E::ListWebhooks(_) => "ListWebhooks",
            E::ListEdges => "ListEdges",
            E::GetEdge(_) => "GetEdge",
            E::ListRegions => "ListRegions",
        }
    }

    /// Whether the endpoint changes the catalog (POST, PATCH, DELETE), rather than reading it.
    pub fn writes(&self) -> bool {
        use Endpoint as E;
        match self {
            E::CreateApp
            | E::AddAppMember(_)
            | E::RemoveAppMember(..)
            | E::RemoveAppMemberRole(..)
            | E::CreateBuild
            | E::CreateUser
            | E::CreateApiKey
            | E::DeleteApiKey(_)
            | E::CreateBackgroundAsset
            | E::PatchBackgroundAsset(_)
            | E::CreateBackgroundAssetVersion
            | E::CreateBackgroundAssetUploadFile
            | E::PatchBackgroundAssetUploadFile(_)
            | E::CreateReviewSubmission
            | E::PatchReviewSubmission(_)
            | E::CreateRollout
            | E::PatchRollout(_)
            | E::CreateWebhook
            | E::CreateWebhookPing
            | E::CreateTesterToken
            | E::RotateTesterTokenSecret
            | E::RevokeTesterToken(_)
            | E::DeleteWebhook(_) => true,
            E::Health
            | E::Ready
            | E::Metrics
            | E::ListApps
            | E::GetApp(_)
            | E::ListAppMembers(_)
            | E::ListApiKeys
            | E::GetBackgroundAsset(_)
            | E::ListBackgroundAssets(..)
            | E::GetBackgroundAssetVersion(_)
            | E::ListBackgroundAssetVersions(..)
            | E::GetBackgroundAssetUploadFile(_)
            | E::GetInternalBetaRelease(_)
            | E::GetExternalBetaRelease(_)
            | E::GetAppStoreRelease(_)
            | E::GetReviewSubmission(_)
            | E::GetRollout(_)
            | E::GetWebhook(_)
            | E::ListWebhookDeliveries(_)
            | E::ListWebhooks(_)
            | E::GetTesterToken(_)
            | E::ListTesterTokens(_)
            | E::ListTesterTokenKeys
            | E::GetMe
            | E::ListBuilds(_)
            | E::ListReviewSubmissions(_)
            | E::ListRollouts(_)
            | E::ListEdges
            | E::GetEdge(_)
            | E::ListRegions => false,
        }
    }

    /// Whether the endpoint answers without an API key (probes).
    pub fn is_public(&self) -> bool {
        matches!(self, Endpoint::Health | Endpoint::Ready | Endpoint::Metrics)
    }
}

/// A role named in a path, as the admin API spells it (`APP_MANAGER`); anything else is a 400
/// listing the roles.
fn role_in_path(segment: &str) -> Result<Role, ApiError> {
    Role::ALL
        .into_iter()
        .find(|r| serde_json::to_value(r).is_ok_and(|v| v == segment))
        .ok_or_else(|| {
            ApiError::parameter(
                "role",
                format!(
                    "{segment:?} is not a role; use ACCOUNT_HOLDER, ADMIN, APP_MANAGER, DEVELOPER \
                     or REVIEWER"
                ),
            )
        })
}

/// One request's method, path and query, for the route tables below.
struct RequestLine<'a> {
    method: &'a str,
    path: &'a str,
    query: Query,
}

impl RequestLine<'_> {
    /// 404: nothing is at this path.
    fn no_route(&self) -> ApiError {
        ApiError::NoRoute(self.path.to_owned())
    }

    /// 405: something is at this path, answering only `allowed`.
    fn wrong(&self, allowed: &'static str) -> ApiError {
        ApiError::MethodNotAllowed {
            method: self.method.to_owned(),
            path: self.path.to_owned(),
            allowed,
        }
    }
}

/// The probes and metrics.
fn operations_route(r: &RequestLine<'_>, segments: &[&str]) -> Result<Endpoint, ApiError> {
    use Endpoint as E;
    let m = r.method;
    let endpoint = match (m, segments) {
        ("GET", ["healthz"]) => E::Health,
        ("GET", ["readyz"]) => E::Ready,
        ("GET", ["metrics"]) => E::Metrics,
        (_, ["healthz" | "readyz" | "metrics"]) => return Err(r.wrong("GET")),
        _ => return Err(r.no_route()),
    };
    Ok(endpoint)
}

/// `/v1/apps/…`: an app and what it holds.
fn app_route(r: &RequestLine<'_>, segments: &[&str]) -> Result<Endpoint, ApiError> {
    use Endpoint as E;
    let (m, q) = (r.method, &r.query);
    let endpoint = match (m, segments) {
        ("GET", ["v1", "apps"]) => E::ListApps,
        ("POST", ["v1", "apps"]) => E::CreateApp,
        (_, ["v1", "apps"]) => return Err(r.wrong("GET, POST")),
        ("GET", ["v1", "apps", id]) => E::GetApp(AppId::from(*id)),
        (_, ["v1", "apps", _]) => return Err(r.wrong("GET")),
        ("GET", ["v1", "apps", id, "backgroundAssets"]) => {
            E::ListBackgroundAssets(AppId::from(*id), PackListQuery::from_query(q)?)
        }
        (_, ["v1", "apps", _, "backgroundAssets"]) => return Err(r.wrong("GET")),
        ("GET", ["v1", "apps", id, "members"]) => E::ListAppMembers(AppId::from(*id)),
        ("POST", ["v1", "apps", id, "members"]) => E::AddAppMember(AppId::from(*id)),
        (_, ["v1", "apps", _, "members"]) => return Err(r.wrong("GET, POST")),
        ("DELETE", ["v1", "apps", id, "members", user]) => {
            E::RemoveAppMember(AppId::from(*id), UserId::from(*user))
        }
        (_, ["v1", "apps", _, "members", _]) => return Err(r.wrong("DELETE")),
        ("DELETE", ["v1", "apps", id, "members", user, "roles", role]) => {
            E::RemoveAppMemberRole(AppId::from(*id), UserId::from(*user), role_in_path(role)?)
        }
        (_, ["v1", "apps", _, "members", _, "roles", _]) => return Err(r.wrong("DELETE")),
        ("GET", ["v1", "apps", id, "testerTokens"]) => E::ListTesterTokens(AppId::from(*id)),
        (_, ["v1", "apps", _, "testerTokens"]) => return Err(r.wrong("GET")),
        ("GET", ["v1", "apps", id, "builds"]) => E::ListBuilds(AppId::from(*id)),
        ("GET", ["v1", "apps", id, "reviewSubmissions"]) => {
            E::ListReviewSubmissions(AppId::from(*id))
        }
        ("GET", ["v1", "apps", id, "rollouts"]) => E::ListRollouts(AppId::from(*id)),
        (_, ["v1", "apps", _, "builds" | "reviewSubmissions" | "rollouts"]) => {
            return Err(r.wrong("GET"));
        }
        ("GET", ["v1", "apps", id, "webhooks"]) => E::ListWebhooks(AppId::from(*id)),
        (_, ["v1", "apps", _, "webhooks"]) => return Err(r.wrong("GET")),
        _ => return Err(r.no_route()),
    };
    Ok(endpoint)
}

/// `/v1/{resources}`: the collections other than apps.
fn collection_route(r: &RequestLine<'_>, segments: &[&str]) -> Result<Endpoint, ApiError> {
    use Endpoint as E;
    let m = r.method;
    let endpoint = match (m, segments) {
        ("GET", ["v1", "testerTokenKeys"]) => E::ListTesterTokenKeys,
        ("GET", ["v1", "me"]) => E::GetMe,
        (_, ["v1", "me"]) => return Err(r.wrong("GET")),
        (_, ["v1", "testerTokenKeys"]) => return Err(r.wrong("GET")),
        ("POST", ["v1", "builds"]) => E::CreateBuild,
        ("POST", ["v1", "users"]) => E::CreateUser,
        ("POST", ["v1", "apiKeys"]) => E::CreateApiKey,
        ("GET", ["v1", "apiKeys"]) => E::ListApiKeys,
        (_, ["v1", "apiKeys"]) => return Err(r.wrong("GET, POST")),
        ("POST", ["v1", "backgroundAssets"]) => E::CreateBackgroundAsset,
        ("POST", ["v1", "backgroundAssetVersions"]) => E::CreateBackgroundAssetVersion,
        ("POST", ["v1", "backgroundAssetUploadFiles"]) => E::CreateBackgroundAssetUploadFile,
        ("POST", ["v1", "reviewSubmissions"]) => E::CreateReviewSubmission,
        ("POST", ["v1", "rollouts"]) => E::CreateRollout,
        ("POST", ["v1", "webhooks"]) => E::CreateWebhook,
        ("POST", ["v1", "webhookPings"]) => E::CreateWebhookPing,
        (_, ["v1", "webhookPings"]) => return Err(r.wrong("POST")),
        ("POST", ["v1", "testerTokens"]) => E::CreateTesterToken,
        ("POST", ["v1", "testerTokenSecrets"]) => E::RotateTesterTokenSecret,
        (_, ["v1", "testerTokenSecrets"]) => return Err(r.wrong("POST")),
        ("GET", ["v1", "edges"]) => E::ListEdges,
        (_, ["v1", "edges" | "regions"]) if m != "GET" => return Err(r.wrong("GET")),
        ("GET", ["v1", "regions"]) => E::ListRegions,
        (_, ["v1", "testerTokens"]) => return Err(r.wrong("POST")),
        (
            _,
            [
                "v1",
                "builds"
                | "users"
                | "backgroundAssets"
                | "backgroundAssetVersions"
                | "backgroundAssetUploadFiles"
                | "reviewSubmissions"
                | "rollouts"
                | "webhooks",
            ],
        ) => return Err(r.wrong("POST")),
        _ => return Err(r.no_route()),
    };
    Ok(endpoint)
}

/// `/v1/{resources}/{id}…`: a resource other than an app, by its id.
fn resource_route(r: &RequestLine<'_>, segments: &[&str]) -> Result<Endpoint, ApiError> {
    use Endpoint as E;
    let (m, q) = (r.method, &r.query);
    let endpoint = match (m, segments) {
        ("GET", ["v1", "testerTokens", id]) => E::GetTesterToken(TesterTokenId::from(*id)),
        ("DELETE", ["v1", "testerTokens", id]) => E::RevokeTesterToken(TesterTokenId::from(*id)),
        (_, ["v1", "testerTokens", _]) => return Err(r.wrong("GET, DELETE")),
        ("GET", ["v1", "edges", id]) => E::GetEdge(EdgeId::from(*id)),
        (_, ["v1", "edges", _]) => return Err(r.wrong("GET")),
        ("GET", ["v1", "webhooks", id]) => E::GetWebhook(WebhookId::from(*id)),
        ("DELETE", ["v1", "webhooks", id]) => E::DeleteWebhook(WebhookId::from(*id)),
        (_, ["v1", "webhooks", _]) => return Err(r.wrong("GET, DELETE")),
        ("GET", ["v1", "webhooks", id, "deliveries"]) => {
            E::ListWebhookDeliveries(WebhookId::from(*id))
        }
        (_, ["v1", "webhooks", _, "deliveries"]) => return Err(r.wrong("GET")),
        ("DELETE", ["v1", "apiKeys", id]) => E::DeleteApiKey(ApiKeyId::from(*id)),
        (_, ["v1", "apiKeys", _]) => return Err(r.wrong("DELETE")),
        ("GET", ["v1", "backgroundAssets", id]) => E::GetBackgroundAsset(PackId::from(*id)),
        ("PATCH", ["v1", "backgroundAssets", id]) => E::PatchBackgroundAsset(PackId::from(*id)),
        ("GET", ["v1", "backgroundAssets", id, "versions"]) => {
            E::ListBackgroundAssetVersions(PackId::from(*id), VersionListQuery::from_query(q)?)
        }
        (_, ["v1", "backgroundAssets", _, "versions"]) => return Err(r.wrong("GET")),
        ("GET", ["v1", "backgroundAssetVersions", id]) => {
            E::GetBackgroundAssetVersion(VersionId::from(*id))
        }
        ("GET", ["v1", "backgroundAssetUploadFiles", id]) => {
            E::GetBackgroundAssetUploadFile(UploadFileId::from(*id))
        }
        ("PATCH", ["v1", "backgroundAssetUploadFiles", id]) => {
            E::PatchBackgroundAssetUploadFile(UploadFileId::from(*id))
        }
        ("GET", ["v1", "reviewSubmissions", id]) => {
            E::GetReviewSubmission(ReviewSubmissionId::from(*id))
        }
        ("PATCH", ["v1", "reviewSubmissions", id]) => {
            E::PatchReviewSubmission(ReviewSubmissionId::from(*id))
        }
        ("GET", ["v1", "rollouts", id]) => E::GetRollout(RolloutId::from(*id)),
        ("PATCH", ["v1", "rollouts", id]) => E::PatchRollout(RolloutId::from(*id)),
        (
            _,
            [
                "v1",
                "backgroundAssets"
                | "backgroundAssetUploadFiles"
                | "reviewSubmissions"
                | "rollouts",
                _,
            ],
        ) => {
            return Err(r.wrong("GET, PATCH"));
        }
        ("GET", ["v1", "backgroundAssetVersionInternalBetaReleases", id]) => {
            E::GetInternalBetaRelease(VersionId::from(*id))
        }
        ("GET", ["v1", "backgroundAssetVersionExternalBetaReleases", id]) => {
            E::GetExternalBetaRelease(VersionId::from(*id))
        }
        ("GET", ["v1", "backgroundAssetVersionAppStoreReleases", id]) => {
            E::GetAppStoreRelease(VersionId::from(*id))
        }
        (
            _,
            [
                "v1",
                "backgroundAssetVersions"
                | "backgroundAssetVersionInternalBetaReleases"
                | "backgroundAssetVersionExternalBetaReleases"
                | "backgroundAssetVersionAppStoreReleases",
                _,
            ],
        ) => return Err(r.wrong("GET")),

        _ => return Err(r.no_route()),
    };
    Ok(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_into_endpoints_and_wrong_methods_are_405() {
        let e = Endpoint::parse(&Method::GET, "/v1/apps/a1/backgroundAssets", None).unwrap();
        assert_eq!(e.name(), "ListBackgroundAssets");
        let e = Endpoint::parse(&Method::PATCH, "/v1/reviewSubmissions/s1", None).unwrap();
        assert_eq!(e, Endpoint::PatchReviewSubmission("s1".into()));
        let err = Endpoint::parse(&Method::PUT, "/v1/apps", None).unwrap_err();
        assert_eq!(err.status(), 405);
        let err = Endpoint::parse(&Method::GET, "/v1/nothing", None).unwrap_err();
        assert_eq!(err.status(), 404);
        let err = Endpoint::parse(&Method::GET, "/v1//apps", None).unwrap_err();
        assert_eq!(err.status(), 404);
        let e = Endpoint::parse(&Method::GET, "/v1/webhooks/w1/deliveries", None).unwrap();
        assert_eq!(e, Endpoint::ListWebhookDeliveries("w1".into()));
        let e = Endpoint::parse(&Method::DELETE, "/v1/webhooks/w1", None).unwrap();
        assert_eq!(e.name(), "DeleteWebhook");
        let err = Endpoint::parse(&Method::PATCH, "/v1/webhooks/w1", None).unwrap_err();
        assert_eq!(err.status(), 405);
        let e = Endpoint::parse(&Method::PATCH, "/v1/rollouts/r1", None).unwrap();
        assert_eq!(e, Endpoint::PatchRollout("r1".into()));
        let err = Endpoint::parse(&Method::DELETE, "/v1/rollouts/r1", None).unwrap_err();
        assert_eq!(err.status(), 405);
        let e = Endpoint::parse(&Method::GET, "/v1/edges/edge-1", None).unwrap();
        assert_eq!(e, Endpoint::GetEdge("edge-1".into()));
        assert_eq!(
            Endpoint::parse(&Method::GET, "/v1/regions", None).unwrap(),
            Endpoint::ListRegions
        );
        let e = Endpoint::parse(&Method::DELETE, "/v1/apps/a1/members/u1/roles/ADMIN", None);
        assert_eq!(
            e.unwrap(),
            Endpoint::RemoveAppMemberRole("a1".into(), "u1".into(), Role::Admin)
        );
        let err = Endpoint::parse(&Method::DELETE, "/v1/apps/a1/members/u1/roles/admin", None);
        assert_eq!(err.unwrap_err().status(), 400);
        let err = Endpoint::parse(&Method::PUT, "/v1/apps/a1/members", None).unwrap_err();
        assert_eq!(err.status(), 405);
        for path in ["/v1/edges", "/v1/edges/e1", "/v1/regions"] {
            let err = Endpoint::parse(&Method::POST, path, None).unwrap_err();
            assert_eq!(err.status(), 405, "{path}");
        }
    }
}
