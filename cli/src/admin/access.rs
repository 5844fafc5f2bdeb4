//! `packyard users …`, `packyard keys …` and `packyard tester-tokens …`: who may do what, and
//! the tokens beta testers' devices download with.

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use packyard_admin_client::{NewTesterToken, NewUser};
use serde_json::Value;

use super::connection::Connection;
use super::output::{Table, cell, record};
use super::{Session, path_id, run};

/// `packyard users …`
#[derive(Debug, Args)]
pub(crate) struct UsersArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: UsersCommand,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Create a user with roles on apps; give them a key with `packyard keys create`.
    Create {
        /// The user's name.
        #[arg(long)]
        name: String,
        /// The user's email address (unique).
        #[arg(long)]
        email: String,
        /// A role on an app, `APP:ROLE` (roles: ACCOUNT_HOLDER, ADMIN, APP_MANAGER,
        /// DEVELOPER, REVIEWER); repeat for several.
        #[arg(long = "role", value_name = "APP:ROLE")]
        roles: Vec<String>,
        /// A cluster operator (may create apps and users).
        #[arg(long)]
        operator: bool,
    },
    /// Give an existing user a role on an app (Account Holders and Admins grant roles below
    /// their own; only operators grant REVIEWER).
    Add {
        /// The app's id.
        #[arg(long)]
        app: String,
        /// The user's id.
        #[arg(long)]
        user: String,
        /// The role: ACCOUNT_HOLDER, ADMIN, APP_MANAGER, DEVELOPER or REVIEWER.
        #[arg(long)]
        role: String,
    },
    /// Take a user off an app: every role they hold there, or only `--role`.
    Remove {
        /// The app's id.
        #[arg(long)]
        app: String,
        /// The user's id.
        #[arg(long)]
        user: String,
        /// Only this role.
        #[arg(long)]
        role: Option<String>,
    },
    /// An app's members and their roles on it.
    List {
        /// The app's id.
        #[arg(long)]
        app: String,
    },
}

/// A role as the API spells it (case ignored).
fn role(text: &str) -> anyhow::Result<packyard_core::role::Role> {
    let spelled = serde_json::Value::String(text.to_ascii_uppercase());
    serde_json::from_value(spelled).map_err(|_| {
        anyhow::anyhow!(
            "--role {text:?} is not a role; use ACCOUNT_HOLDER, ADMIN, APP_MANAGER, DEVELOPER \
             or REVIEWER"
        )
    })
}

/// `APP:ROLE` as the API's role grant, `(app, ROLE)`.
fn role_grant(text: &str) -> anyhow::Result<(String, String)> {
    let Some((app, role)) = text.split_once(':') else {
        bail!("--role {text:?} should be APP:ROLE, for example a1:DEVELOPER");
    };
    let app = path_id("app", app)?;
    Ok((app.to_owned(), role.to_ascii_uppercase()))
}

impl UsersArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        match &self.command {
            UsersCommand::Create {
                name,
                email,
                roles,
                operator,
            } => {
                let roles = roles
                    .iter()
                    .map(|r| role_grant(r))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                run(&self.connection, |s| async move {
                    let user = NewUser {
                        name: name.clone(),
                        email: email.clone(),
                        roles,
                        operator: *operator,
                    };
                    let user = s.client.create_user(&user).await?;
                    s.show(&user.document, record);
                    Ok(())
                })
            }
            UsersCommand::Add { app, user, role: r } => {
                let r = role(r)?;
                run(&self.connection, |s| async move {
                    let app = path_id("app", app)?;
                    let member = s.client.add_member(app, path_id("user", user)?, r).await?;
                    s.show(&member.document, record);
                    Ok(())
                })
            }
            UsersCommand::Remove { app, user, role: r } => {
                let r = r.as_deref().map(role).transpose()?;
                run(&self.connection, |s| async move {
                    let (app, user) = (path_id("app", app)?, path_id("user", user)?);
                    s.client.remove_member(app, user, r).await?;
                    if !s.quiet {
                        match r {
                            Some(r) => println!("user {user} no longer holds {r} on app {app}"),
                            None => println!("user {user} is no longer a member of app {app}"),
                        }
                    }
                    Ok(())
                })
            }
            UsersCommand::List { app } => run(&self.connection, |s| async move {
                let members = s.client.members(path_id("app", app)?).await?;
                let doc = serde_json::json!({ "data": members });
                s.show(&doc, member_table);
                Ok(())
            }),
        }
    }
}

/// An app's members: id, name, email and their roles on it.
fn member_table(doc: &Value) -> Table {
    let mut table = Table::new(&["ID", "NAME", "EMAIL", "ROLES"]);
    for m in doc["data"].as_array().into_iter().flatten() {
        let a = &m["attributes"];
        let roles: Vec<&str> = a["roles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["role"].as_str())
            .collect();
        table.row(vec![
            cell(&m["id"]),
            cell(&a["name"]),
            cell(&a["email"]),
            roles.join(", "),
        ]);
    }
    table
}

/// `packyard keys …`
#[derive(Debug, Args)]
pub(crate) struct KeysArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create an API key for a user: yourself (an operator for anyone). The secret is shown
    /// this once.
    Create {
        /// The user's id.
        #[arg(long)]
        user: String,
    },
    /// Revoke an API key (yours; an operator revokes anyone's).
    Delete {
        /// The key's id (not the secret).
        #[arg(value_name = "KEY_ID")]
        id: String,
    },
    /// The keys you may see (yours; those of the members below you, as an Account Holder or
    /// Admin; every key, as an operator), with when each was made and last used. Never a
    /// secret.
    List,
}

impl KeysArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        run(&self.connection, |s: Session| async move {
            match &self.command {
                KeysCommand::Create { user } => {
                    let key = s.client.create_api_key(path_id("user", user)?).await?;
                    if s.quiet {
                        // The secret is what a script needs from a new key.
                        println!("{}", key.secret);
                    } else {
                        s.show(&key.document, record);
                    }
                }
                KeysCommand::List => {
                    let doc = s.client.api_keys().await?;
                    s.show(&doc, key_table);
                }
                KeysCommand::Delete { id } => {
                    s.client.revoke_api_key(path_id("key", id)?).await?;
                    if !s.quiet {
                        println!("key {id} revoked");
                    }
                }
            }
            Ok(())
        })
    }
}

/// `packyard tester-tokens …`
#[derive(Debug, Args)]
pub(crate) struct TesterTokensArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: TesterTokensCommand,
}

#[derive(Debug, Subcommand)]
enum TesterTokensCommand {
    /// A signed, expiring token for one app's beta channel; `--quiet` prints the token alone.
    Create {
        /// The app's id.
        #[arg(long)]
        app: String,
        /// The beta channel.
        #[arg(long, value_enum)]
        channel: BetaChannel,
        /// Lifetime in seconds.
        #[arg(long, value_name = "SECONDS")]
        expires_in: Option<u64>,
    },
    /// The app's tokens that have not expired, of the channels you may issue for (never the
    /// tokens themselves); `--quiet` prints their ids.
    List {
        /// The app's id.
        #[arg(long)]
        app: String,
    },
    /// Revoke a token, given its id or the token itself: every edge refuses it from then on.
    Revoke {
        /// The token's id (`tt-…`) or the whole token (`v4.public.…`).
        token: String,
    },
    /// The public keys tokens are checked with, in PASERK form (`k4.public.…`), for any
    /// PASETO library to verify a token.
    Keys,
    /// Rotate the key tokens are signed with (operators only). Tokens signed before keep
    /// working until they expire, unless `--retire-previous` (for a key that may have
    /// leaked), which closes them all as soon as the edges hear of it.
    #[command(alias = "rotate-secret")]
    RotateKey {
        /// Stop the earlier keys checking the tokens they signed.
        #[arg(long)]
        retire_previous: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BetaChannel {
    Internal,
    External,
}

impl TesterTokensArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        run(&self.connection, |s| async move {
            match &self.command {
                TesterTokensCommand::Create {
                    app,
                    channel,
                    expires_in,
                } => {
                    let token = NewTesterToken {
                        app: path_id("app", app)?.to_owned(),
                        channel: match channel {
                            BetaChannel::Internal => packyard_admin_client::BetaChannel::Internal,
                            BetaChannel::External => packyard_admin_client::BetaChannel::External,
                        },
                        expires_in_seconds: *expires_in,
                    };
                    let token = s.client.create_tester_token(&token).await?;
                    if s.quiet {
                        println!("{}", token.token);
                    } else {
                        s.show(&token.document, token_table);
                    }
                }
                TesterTokensCommand::List { app } => {
                    let doc = s.client.tester_tokens(path_id("app", app)?).await?;
                    if s.quiet {
                        for t in doc["data"].as_array().into_iter().flatten() {
                            println!("{}", t["id"].as_str().unwrap_or_default());
                        }
                    } else {
                        s.show(&doc, tokens_table);
                    }
                }
                TesterTokensCommand::Revoke { token } => {
                    let id = if token.starts_with("v4.public.") {
                        packyard_core::tester_token::unverified_id(token).ok_or_else(|| {
                            anyhow::anyhow!("this is not a tester token this cluster issued")
                        })?
                    } else {
                        path_id("token", token)?.to_owned()
                    };
                    s.client.revoke_tester_token(&id).await?;
                    if !s.quiet {
                        println!("revoked tester token {id}");
                    }
                }
                TesterTokensCommand::Keys => {
                    let doc = s.client.tester_token_keys().await?;
                    if s.quiet {
                        for k in doc["data"].as_array().into_iter().flatten() {
                            println!("{}", k["attributes"]["paserk"].as_str().unwrap_or_default());
                        }
                    } else {
                        s.show(&doc, keys_table);
                    }
                }
                TesterTokensCommand::RotateKey { retire_previous } => {
                    let key = s.client.rotate_tester_token_key(*retire_previous).await?;
                    if s.quiet {
                        println!("{}", key.id);
                    } else {
                        s.show(&key.document, record);
                    }
                }
            }
            Ok(())
        })
    }
}

fn tokens_table(doc: &Value) -> Table {
    let mut table = Table::new(&["ID", "CHANNEL", "ISSUED BY", "ISSUED", "EXPIRES", "REVOKED"]);
    for t in doc["data"].as_array().into_iter().flatten() {
        let a = &t["attributes"];
        table.row(vec![
            cell(&t["id"]),
            cell(&a["channel"]),
            cell(&t["meta"]["issuedByName"]),
            cell(&a["issuedDate"]),
            cell(&a["expirationDate"]),
            cell(&a["revokedDate"]),
        ]);
    }
    table
}

fn keys_table(doc: &Value) -> Table {
    let mut table = Table::new(&["GENERATION", "PUBLIC KEY (PASERK)"]);
    for k in doc["data"].as_array().into_iter().flatten() {
        table.row(vec![cell(&k["id"]), cell(&k["attributes"]["paserk"])]);
    }
    table
}

fn key_table(doc: &Value) -> Table {
    let mut table = Table::new(&["ID", "USER", "CREATED", "LAST USED", "REVOKED"]);
    for k in doc["data"].as_array().into_iter().flatten() {
        let a = &k["attributes"];
        table.row(vec![
            cell(&k["id"]),
            cell(&k["meta"]["userName"]),
            cell(&a["createdDate"]),
            cell(&a["lastUsedDate"]),
            cell(&a["revokedDate"]),
        ]);
    }
    table
}

fn token_table(doc: &Value) -> Table {
    let a = &doc["data"]["attributes"];
    let mut table = Table::new(&["FIELD", "VALUE"]);
    table.row(vec!["id".to_owned(), cell(&doc["data"]["id"])]);
    for name in ["channel", "expirationDate", "token"] {
        table.row(vec![name.to_owned(), cell(&a[name])]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_grants_name_what_is_wrong() {
        assert_eq!(
            role_grant("a1:reviewer").unwrap(),
            ("a1".to_owned(), "REVIEWER".to_owned())
        );
        assert!(
            role_grant("a1")
                .unwrap_err()
                .to_string()
                .contains("APP:ROLE")
        );
        assert!(
            role_grant("a/1:ADMIN")
                .unwrap_err()
                .to_string()
                .contains("not an id")
        );
    }
}
