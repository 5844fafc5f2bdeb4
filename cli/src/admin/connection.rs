//! Where the operator commands find the admin API and the key: a flag, then the environment,
//! then the config file, then (for the admin key only) the key `packyard dev` wrote in
//! `./packyard-dev`, so a newcomer next to a dev node needs no setup at all.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;
use serde::Deserialize;

use packyard_admin_client::{AdminClient, AdminError};

/// The admin API a command talks to when nothing else says.
const DEFAULT_SERVER: &str = "http://127.0.0.1:7100";

/// The key file `packyard dev` writes with its default `--data`.
const DEV_KEY_FILE: &str = "packyard-dev/control/admin-key";

/// Where a key comes from, said when the API refuses one without saying why.
const KEY_HINT: &str = "pass --key, set PACKYARD_ADMIN_KEY, or put key in the config file";

/// Flags every operator command shares.
#[derive(Debug, Clone, Args)]
pub(crate) struct Connection {
    /// The admin API of any control-plane node [default: http://127.0.0.1:7100].
    #[arg(long, env = "PACKYARD_SERVER", value_name = "URL", global = true)]
    server: Option<String>,
    /// The API key to authenticate with.
    #[arg(
        long,
        env = "PACKYARD_ADMIN_KEY",
        value_name = "KEY",
        global = true,
        hide_env_values = true
    )]
    key: Option<String>,
    /// A CA certificate (PEM) to trust for an https admin API or upload endpoint whose
    /// certificate no public CA issued.
    #[arg(long, env = "PACKYARD_CA_CERT", value_name = "FILE", global = true)]
    ca_cert: Option<PathBuf>,
    /// A TOML file with `server`, and `key` or `key_file`
    /// [default: ~/.config/packyard/config.toml, when it exists].
    #[arg(long, env = "PACKYARD_CONFIG", value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Print the API's JSON documents instead of tables.
    #[arg(long, global = true, conflicts_with = "quiet")]
    pub(crate) json: bool,
    /// Print only ids (of what was created or listed), for scripts.
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,
}

/// The config file's fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    server: Option<String>,
    key: Option<String>,
    key_file: Option<PathBuf>,
}

/// Where the connection settings came from, as `packyard config show` prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The admin API's URL.
    pub(crate) server: String,
    /// Where it came from.
    pub(crate) server_from: String,
    /// The key.
    pub(crate) key: String,
    /// Where it came from.
    pub(crate) key_from: String,
    /// The CA certificate file, if one is given.
    pub(crate) ca_cert: Option<PathBuf>,
    /// The config file read, if one was.
    pub(crate) config: Option<PathBuf>,
}

impl Resolved {
    /// The key as it may be shown: its first characters only.
    pub(crate) fn key_shown(&self) -> String {
        let head: String = self.key.chars().take(8).collect();
        format!("{head}… ({} characters)", self.key.chars().count())
    }
}

impl Connection {
    /// A client for the server and key these flags, the environment and the config file name.
    pub(crate) fn client(&self) -> anyhow::Result<AdminClient> {
        let resolved = self.resolve()?;
        let ca = match &resolved.ca_cert {
            Some(path) => {
                Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
            }
            None => None,
        };
        let client = AdminClient::new(&resolved.server, resolved.key, ca.as_deref()).map_err(
            |e| match e {
                AdminError::CaBundle(source) => anyhow::Error::new(source)
                    .context("the --ca-cert file holds no PEM certificate"),
                other => other.into(),
            },
        )?;
        Ok(client.key_hint(KEY_HINT))
    }

    /// The server, key and CA these flags, the environment and the config file name, and
    /// where each came from.
    pub(crate) fn resolve(&self) -> anyhow::Result<Resolved> {
        let (file, config) = self.config_file()?;
        let from_file = |what: &str| match &config {
            Some(path) => format!("{what} in {}", path.display()),
            None => what.to_owned(),
        };
        let (server, server_from) = match (self.server.clone(), file.server) {
            (Some(s), _) => (s, "--server or PACKYARD_SERVER".to_owned()),
            (None, Some(s)) => (s, from_file("`server`")),
            (None, None) => (DEFAULT_SERVER.to_owned(), "the default".to_owned()),
        };
        if !server.starts_with("http://") && !server.starts_with("https://") {
            bail!(
                "--server {server:?} is not a URL; expected http://HOST:PORT or https://HOST:PORT"
            );
        }
        let (key, key_from) = match (
            self.key.clone().filter(|k| !k.is_empty()),
            file.key,
            file.key_file,
        ) {
            (Some(key), _, _) => (key, "--key or PACKYARD_ADMIN_KEY".to_owned()),
            (None, Some(key), _) => (key, from_file("`key`")),
            (None, None, Some(path)) => {
                let from = format!("{} (`key_file`)", path.display());
                (read_key(&path)?, from)
            }
            (None, None, None) if Path::new(DEV_KEY_FILE).exists() => (
                read_key(Path::new(DEV_KEY_FILE))?,
                format!("{DEV_KEY_FILE}, the key packyard dev wrote here"),
            ),
            (None, None, None) => bail!(
                "no API key: pass --key, set PACKYARD_ADMIN_KEY, or put `key` or `key_file` in \
                 the config file (--config)"
            ),
        };
        Ok(Resolved {
            server,
            server_from,
            key,
            key_from,
            ca_cert: self.ca_cert.clone(),
            config,
        })
    }

    /// The config file's settings, and its path when one was read.
    fn config_file(&self) -> anyhow::Result<(ConfigFile, Option<PathBuf>)> {
        let (path, required) = match &self.config {
            Some(path) => (path.clone(), true),
            None => match default_config_path() {
                Some(path) => (path, false),
                None => return Ok((ConfigFile::default(), None)),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((ConfigFile::default(), None));
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let file = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid config file", path.display()))?;
        Ok((file, Some(path)))
    }
}

fn default_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("packyard").join("config.toml"))
}

fn read_key(path: &Path) -> anyhow::Result<String> {
    let key = std::fs::read_to_string(path)
        .with_context(|| format!("reading the API key from {}", path.display()))?;
    let key = key.trim().to_owned();
    if key.is_empty() {
        bail!("{} is empty; expected an API key", path.display());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(config: &Path, key: Option<&str>, server: Option<&str>) -> Connection {
        Connection {
            server: server.map(str::to_owned),
            key: key.map(str::to_owned),
            ca_cert: None,
            config: Some(config.to_owned()),
            json: false,
            quiet: false,
        }
    }

    #[test]
    fn the_config_file_gives_server_and_key_file_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, "pyk_from_file\n").unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "server = \"http://10.0.0.1:7100\"\nkey_file = {:?}\n",
                key_file.to_str().unwrap()
            ),
        )
        .unwrap();
        assert!(connection(&config, None, None).client().is_ok());
        let (file, _) = connection(&config, None, None).config_file().unwrap();
        assert_eq!(file.server.as_deref(), Some("http://10.0.0.1:7100"));
        assert_eq!(read_key(&file.key_file.unwrap()).unwrap(), "pyk_from_file");
    }

    #[test]
    fn bad_settings_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(&config, "sever = \"http://x\"\n").unwrap();
        let e = format!(
            "{:#}",
            connection(&config, Some("k"), None).client().err().unwrap()
        );
        assert!(e.contains("config.toml") && e.contains("sever"), "{e}");

        std::fs::write(&config, "key_file = \"/nonexistent/key\"\n").unwrap();
        let e = format!(
            "{:#}",
            connection(&config, None, None).client().err().unwrap()
        );
        assert!(e.contains("/nonexistent/key"), "{e}");

        std::fs::write(&config, "").unwrap();
        let e = format!(
            "{:#}",
            connection(&config, Some("k"), Some("10.0.0.1:7100"))
                .client()
                .err()
                .unwrap()
        );
        assert!(e.contains("not a URL"), "{e}");

        let missing = dir.path().join("missing.toml");
        let e = format!(
            "{:#}",
            connection(&missing, Some("k"), None)
                .client()
                .err()
                .unwrap()
        );
        assert!(e.contains("missing.toml"), "{e}");
    }
}
