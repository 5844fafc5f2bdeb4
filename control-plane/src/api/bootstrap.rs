//! The first operator: on a catalog without one, [`bootstrap`] creates the operator user and
//! an API key for it, so the very first admin API call has a key to send.

use std::io::Write;
use std::path::Path;

use packyard_core::Blake3Hash;
use packyard_core::catalog::{Actor, ApiKeyId, Command, Envelope, TesterTokenSecret, UserId};

use super::context::{new_id, now, random_bytes};
use super::error::ApiError;
use super::users::generate_key;
use crate::store::CatalogStore;

/// The id of the operator that bootstrap creates.
pub const OPERATOR_ID: &str = "operator";

/// What [`bootstrap`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrapped {
    /// The operator and a key existed already (the given key, if any, among them).
    AlreadyDone,
    /// The operator or its key was created. `key` is the secret: the one given, or a new one
    /// when none was given, for `main` to print once or write with [`write_key_file`].
    Created {
        /// The operator.
        user: UserId,
        /// The API key's secret.
        key: String,
        /// Whether `key` was generated here rather than given.
        generated: bool,
    },
}

/// Creates the operator user (id [`OPERATOR_ID`]) on a catalog that has none, with an API key:
/// `admin_key` (for example from `PACKYARD_ADMIN_KEY`) or a new random one. Idempotent: run at
/// every start, it registers a given key that is not known yet and otherwise does nothing.
pub async fn bootstrap<S: CatalogStore>(
    store: &S,
    admin_key: Option<&str>,
) -> Result<Bootstrapped, ApiError> {
    let user = UserId::from(OPERATOR_ID);
    let hash = admin_key.map(|k| Blake3Hash::of(k.as_bytes()));
    let probe = user.clone();
    let (exists, key_known, has_secret) = store
        .read(move |c| {
            let exists = c.user(&probe).is_some();
            let known = hash.is_some_and(|h| c.user_by_key_hash(&h).is_some());
            (exists, known, c.tester_token_key().is_some())
        })
        .await?;
    if !has_secret {
        // Tester tokens need a cluster-wide signing secret; the catalog refuses a second one,
        // so racing bootstraps agree on the first.
        let secret = TesterTokenSecret(random_bytes::<32>()?);
        match write(store, Command::SetTesterTokenSecret { secret }).await {
            Ok(()) | Err(ApiError::Refused(_)) => {}
            Err(e) => return Err(e),
        }
    }
    if exists && (admin_key.is_none() || key_known) {
        return Ok(Bootstrapped::AlreadyDone);
    }
    if !exists {
        write(
            store,
            Command::CreateUser {
                id: user.clone(),
                name: "Operator".into(),
                email: "operator@packyard.invalid".into(),
                roles: Vec::new(),
                operator: true,
            },
        )
        .await?;
    }
    let (key, generated) = match admin_key {
        Some(k) => (k.to_owned(), false),
        None => (generate_key()?, true),
    };
    write(
        store,
        Command::CreateApiKey {
            id: ApiKeyId::new(new_id()?),
            user: user.clone(),
            key_hash: Blake3Hash::of(key.as_bytes()),
        },
    )
    .await?;
    Ok(Bootstrapped::Created {
        user,
        key,
        generated,
    })
}

async fn write<S: CatalogStore>(store: &S, command: Command) -> Result<(), ApiError> {
    let envelope = Envelope {
        actor: Actor::System,
        at: now(),
        command,
    };
    store.write(envelope).await??;
    Ok(())
}

/// Writes `key` to `path`, readable and writable by its owner only (mode 0600 on Unix), so a
/// generated operator key is not left in logs or readable by other local users.
pub fn write_key_file(path: &Path, key: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut file = options.open(path)?;
        // A file that existed keeps its old mode through open(); narrow it too.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        writeln!(file, "{key}")?;
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path)?;
        writeln!(file, "{key}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use packyard_core::catalog::Catalog;
    use packyard_core::quota::QuotaLimits;

    use super::*;
    use crate::MemoryStore;

    #[tokio::test]
    async fn bootstrap_creates_the_operator_once_and_accepts_a_given_key() {
        let store = MemoryStore::new(Catalog::new(QuotaLimits::default()));
        let first = bootstrap(&store, None).await.unwrap();
        let Bootstrapped::Created { key, generated, .. } = first else {
            panic!("expected a new operator, got {first:?}");
        };
        assert!(generated && key.starts_with("pyk_"));
        assert_eq!(
            bootstrap(&store, None).await.unwrap(),
            Bootstrapped::AlreadyDone
        );
        let given = bootstrap(&store, Some("my-key")).await.unwrap();
        assert!(matches!(
            given,
            Bootstrapped::Created {
                generated: false,
                ..
            }
        ));
        assert_eq!(
            bootstrap(&store, Some("my-key")).await.unwrap(),
            Bootstrapped::AlreadyDone
        );
        let hash = Blake3Hash::of(b"my-key");
        let op = store
            .read(move |c| c.user_by_key_hash(&hash).map(|u| u.operator))
            .await
            .unwrap();
        assert_eq!(op, Some(true));
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.key");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_key_file(&path, "pyk_secret").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "pyk_secret\n");
    }
}
