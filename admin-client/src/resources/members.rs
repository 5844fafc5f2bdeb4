//! An app's members (rule R14): who holds which role on it, adding an existing user with a
//! role, and taking one role or every role away.

use packyard_core::role::Role;
use serde_json::{Value, json};

use super::resource::User;
use crate::client::AdminClient;
use crate::document::to_one;
use crate::error::AdminError;

impl AdminClient {
    /// `GET /v1/apps/{app}/members`: every member with their roles on this app, all pages.
    pub async fn members(&self, app: &str) -> Result<Vec<Value>, AdminError> {
        self.get_all(&format!("/v1/apps/{app}/members")).await
    }

    /// `POST /v1/apps/{app}/members`: gives the existing user `user` the role `role` on `app`.
    pub async fn add_member(&self, app: &str, user: &str, role: Role) -> Result<User, AdminError> {
        let body = json!({"data": {"type": "appMembers", "attributes": {"role": role},
            "relationships": {"user": to_one("users", user)}}});
        User::from_document(self.post(&format!("/v1/apps/{app}/members"), body).await?)
    }

    /// `DELETE /v1/apps/{app}/members/{user}[/roles/{role}]`: takes `role`, or every role the
    /// user holds on `app` when `None`.
    pub async fn remove_member(
        &self,
        app: &str,
        user: &str,
        role: Option<Role>,
    ) -> Result<(), AdminError> {
        let path = match role {
            Some(role) => {
                let spelled = serde_json::to_value(role)
                    .map_err(|e| AdminError::Malformed(format!("role {role}: {e}")))?;
                let spelled = spelled.as_str().unwrap_or_default().to_owned();
                format!("/v1/apps/{app}/members/{user}/roles/{spelled}")
            }
            None => format!("/v1/apps/{app}/members/{user}"),
        };
        self.delete(&path).await.map(drop)
    }
}
