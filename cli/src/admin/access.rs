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
        let UsersCommand::Create {
            name,
            email,
            roles,
            operator,
        } = &self.command;
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
    /// Create an API key for a user. The secret is shown this once.
    Create {
        /// The user's id.
        #[arg(long)]
        user: String,
    },
    /// Revoke an API key.
    Delete {
        /// The key's id (not the secret).
        key: String,
    },
    /// The keys you may manage (yours; your members', as an Admin; every key, as an
    /// operator), with when each was made and last used. Never a secret.
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
                KeysCommand::Delete { key } => {
                    s.client.revoke_api_key(path_id("key", key)?).await?;
                    if !s.quiet {
                        println!("key {key} revoked");
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
    /// Replace the secret every tester token is signed with (operators only): every token
    /// issued before stops working as soon as the edges hear of it.
    RotateSecret,
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
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BetaChannel {
    Internal,
    External,
}

impl TesterTokensArgs {
    pub(crate) fn run(&self) -> anyhow::Result<()> {
        run(&self.connection, |s| async move {
            let (app, channel, expires_in) = match &self.command {
                TesterTokensCommand::RotateSecret => {
                    let secret = s.client.rotate_tester_token_secret().await?;
                    if s.quiet {
                        println!("{}", secret.id);
                    } else {
                        s.show(&secret.document, record);
                    }
                    return Ok(());
                }
                TesterTokensCommand::Create {
                    app,
                    channel,
                    expires_in,
                } => (app, channel, expires_in),
            };
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
            Ok(())
        })
    }
}

fn key_table(doc: &Value) -> Table {
    let mut table = Table::new(&["ID", "USER", "CREATED", "LAST USED", "REVOKED"]);
    for k in doc["data"].as_array().into_iter().flatten() {
        let a = &k["attributes"];
        table.row(vec![
            cell(&k["id"]),
            cell(&k["relationships"]["user"]["data"]["id"]),
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
