//! Who may do what: users with roles per app (R8), their API keys (the secret shown once),
//! and tester tokens for the beta channels.

use packyard_core::role::Role;
pub use packyard_core::tester_token::BetaChannel;
use serde_json::{Value, json};

use super::resource::{Resource, User};
use crate::client::AdminClient;
use crate::document::{id_of, to_one};
use crate::error::AdminError;

/// `POST /v1/users`: a user with roles on apps.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The user's name.
    pub name: String,
    /// The user's email address, unique.
    pub email: String,
    /// `(app, role)` grants, the role as the API spells it (`REVIEWER` …).
    pub roles: Vec<(String, String)>,
    /// A cluster operator (may create apps and users).
    pub operator: bool,
}

impl NewUser {
    /// A user without roles.
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            email: email.into(),
            roles: Vec::new(),
            operator: false,
        }
    }

    /// With `role` on `app`.
    pub fn role(self, app: impl Into<String>, role: Role) -> Self {
        self.role_named(app, role_name(role))
    }

    /// With the role spelled `role` on `app`, passed on unchecked (the API names a bad one).
    pub fn role_named(mut self, app: impl Into<String>, role: impl Into<String>) -> Self {
        self.roles.push((app.into(), role.into()));
        self
    }

    /// The request document.
    pub fn document(&self) -> Value {
        let roles: Vec<Value> = self
            .roles
            .iter()
            .map(|(app, role)| json!({"app": app, "role": role}))
            .collect();
        json!({"data": {"type": "users", "attributes": {"name": self.name,
            "email": self.email, "roles": roles, "operator": self.operator}}})
    }
}

fn role_name(role: Role) -> String {
    serde_json::to_value(role)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A new API key: its id, and the secret, shown this once.
#[derive(Debug, Clone)]
pub struct ApiKey {
    /// `data.id` (not the secret).
    pub id: String,
    /// `attributes.key`: what a client authenticates with.
    pub secret: String,
    /// The document the API answered.
    pub document: Value,
}

/// `POST /v1/testerTokens`: a signed, expiring token for one app's beta channel.
#[derive(Debug, Clone)]
pub struct NewTesterToken {
    /// The app's id.
    pub app: String,
    /// The channel it opens.
    pub channel: BetaChannel,
    /// Its lifetime; the API's default when `None`.
    pub expires_in_seconds: Option<u64>,
}

impl NewTesterToken {
    /// The request document.
    pub fn document(&self) -> Value {
        let mut attributes = json!({ "channel": self.channel.as_str() });
        if let Some(seconds) = self.expires_in_seconds {
            attributes["expiresInSeconds"] = json!(seconds);
        }
        json!({"data": {"type": "testerTokens", "attributes": attributes,
            "relationships": {"app": to_one("apps", &self.app)}}})
    }
}

/// A tester token, and the document it came in (channel, expiry).
#[derive(Debug, Clone)]
pub struct TesterToken {
    /// `attributes.token`: what a device sends.
    pub token: String,
    /// The document the API answered.
    pub document: Value,
}

fn attribute_text(doc: &Value, name: &str) -> Result<String, AdminError> {
    doc["data"]["attributes"][name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| AdminError::Malformed(format!("the answer has no attributes.{name}: {doc}")))
}

impl AdminClient {
    /// Creates a user.
    pub async fn create_user(&self, user: &NewUser) -> Result<User, AdminError> {
        User::from_document(self.post("/v1/users", user.document()).await?)
    }

    /// Creates an API key for `user`.
    pub async fn create_api_key(&self, user: &str) -> Result<ApiKey, AdminError> {
        let body = json!({"data": {"type": "apiKeys", "relationships": {
            "user": to_one("users", user)}}});
        let document = self.post("/v1/apiKeys", body).await?;
        Ok(ApiKey {
            id: id_of(&document)?,
            secret: attribute_text(&document, "key")?,
            document,
        })
    }

    /// A user with `role` on `app`, and a client under a new key of theirs.
    pub async fn member(
        &self,
        app: &str,
        role: Role,
        name: &str,
        email: &str,
    ) -> Result<AdminClient, AdminError> {
        let user = self
            .create_user(&NewUser::new(name, email).role(app, role))
            .await?;
        let key = self.create_api_key(&user.id).await?;
        Ok(self.with_key(key.secret))
    }

    /// The keys this key may manage (the document; never a secret).
    pub async fn api_keys(&self) -> Result<Value, AdminError> {
        self.get("/v1/apiKeys").await
    }

    /// Revokes an API key.
    pub async fn revoke_api_key(&self, id: &str) -> Result<(), AdminError> {
        self.delete(&format!("/v1/apiKeys/{id}")).await.map(drop)
    }

    /// Issues a tester token.
    pub async fn create_tester_token(
        &self,
        token: &NewTesterToken,
    ) -> Result<TesterToken, AdminError> {
        let document = self.post("/v1/testerTokens", token.document()).await?;
        Ok(TesterToken {
            token: attribute_text(&document, "token")?,
            document,
        })
    }

    /// The user this client's key belongs to, with every role they hold (the document).
    pub async fn me(&self) -> Result<Value, AdminError> {
        self.get("/v1/me").await
    }

    /// The tester tokens of `app` the caller may issue (the document; never a token).
    pub async fn tester_tokens(&self, app: &str) -> Result<Value, AdminError> {
        self.get(&format!("/v1/apps/{app}/testerTokens")).await
    }

    /// Revokes a tester token by its id: every edge refuses it from then on.
    pub async fn revoke_tester_token(&self, id: &str) -> Result<(), AdminError> {
        self.delete(&format!("/v1/testerTokens/{id}"))
            .await
            .map(drop)
    }

    /// The public keys tester tokens are checked with (the document).
    pub async fn tester_token_keys(&self) -> Result<Value, AdminError> {
        self.get("/v1/testerTokenKeys").await
    }

    /// Rotates the key tester tokens are signed with (operators only); `retire_previous`
    /// also stops the earlier keys checking the tokens they signed.
    pub async fn rotate_tester_token_key(
        &self,
        retire_previous: bool,
    ) -> Result<Resource, AdminError> {
        let body = json!({"data": {"type": "testerTokenSecrets",
            "attributes": {"retirePrevious": retire_previous}}});
        Resource::from_document(self.post("/v1/testerTokenSecrets", body).await?)
    }
}
