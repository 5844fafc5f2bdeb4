//! The first operator: on a catalog without one, [`bootstrap`] creates the operator user and
//! an API key for it, so the very first admin API call has a key to send. That is all the
//! bootstrap key does: once the cluster has its operator, `PACKYARD_ADMIN_KEY` is ignored,
//! so a key an operator revoked stays revoked however often nodes restart with it set.

use std::io::Write;
use std::path::Path;

use packyard_core::Blake3Hash;
use packyard_core::catalog::{
    Actor, ApiKeyId, Command, CreateApiKey, CreateUser, Envelope, TesterTokenSecret, UserId,
};

use super::context::{new_id, random_bytes};
use super::error::ApiError;
use super::users::generate_key;
use crate::clock::Clock;
use crate::store::CatalogStore;

/// The id of the operator that bootstrap creates.
pub const OPERATOR_ID: &str = "operator";

/// The shortest bootstrap key accepted: it opens everything, so it must be a secret no one
/// guesses. Generated keys are `pyk_` and 64 hex digits.
pub const MIN_BOOTSTRAP_KEY_LEN: usize = 32;

/// Why a bootstrap key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "PACKYARD_ADMIN_KEY has {0} characters; a bootstrap key opens everything and needs at \
     least {MIN_BOOTSTRAP_KEY_LEN}, for example pyk_ and 64 hex digits from \
     `head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'`"
)]
pub struct WeakBootstrapKey(pub usize);

/// Checks a bootstrap key before a node starts.
pub fn check_bootstrap_key(key: &str) -> Result<(), WeakBootstrapKey> {
    let len = key.chars().count();
    if len < MIN_BOOTSTRAP_KEY_LEN || key.trim() != key {
        return Err(WeakBootstrapKey(len));
    }
    Ok(())
}

/// What [`bootstrap`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrapped {
    /// The cluster had its operator already; nothing was written (a given key was not
    /// registered, whether it is a live key, a revoked one or an unknown one).
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
/// `admin_key` (for example from `PACKYARD_ADMIN_KEY`) or a new random one. Run at every
/// start; on a catalog that has its operator it writes nothing. Its commands are stamped by
/// `clock`.
pub async fn bootstrap<S: CatalogStore>(
    store: &S,
    admin_key: Option<&str>,
    clock: Clock,
) -> Result<Bootstrapped, ApiError> {
    let user = UserId::from(OPERATOR_ID);
    let probe = user.clone();
    let (exists, ever_keyed, has_secret) = store
        .read(move |c| {
            let ever_keyed = c
                .api_keys_visible_to(&Actor::System)
                .iter()
                .any(|k| k.user == probe);
            (
                c.user(&probe).is_some(),
                ever_keyed,
                c.tester_token_signer().is_some(),
            )
        })
        .await?;
    if !has_secret {
        // Tester tokens need a cluster-wide signing key; the catalog refuses a second one,
        // so racing bootstraps agree on the first.
        let secret = TesterTokenSecret(random_bytes::<32>()?);
        let command = Command::SetTesterTokenSecret {
            secret,
            retire_previous: false,
        };
        match write(store, clock, command).await {
            Ok(()) | Err(ApiError::Refused(_)) => {}
            Err(e) => return Err(e),
        }
    }
    // Creating the operator and its key are two entries; a node that dies between them
    // leaves an operator without a key, which no API call could fix. So a bootstrap that
    // finds the operator without any key, live or revoked, gives it its first one; an
    // operator that ever had a key is never given another here.
    if exists && ever_keyed {
        return Ok(Bootstrapped::AlreadyDone);
    }
    if !exists {
        write(
            store,
            clock,
            Command::CreateUser(CreateUser {
                id: user.clone(),
                name: "Operator".into(),
                email: "operator@packyard.invalid".into(),
                roles: Vec::new(),
                operator: true,
            }),
        )
        .await?;
    }
    let (key, generated) = match admin_key {
        Some(k) => (k.to_owned(), false),
        None => (generate_key()?, true),
    };
    write(
        store,
        clock,
        Command::CreateApiKey(CreateApiKey {
            id: ApiKeyId::new(new_id()?),
            user: user.clone(),
            key_hash: Blake3Hash::of(key.as_bytes()),
        }),
    )
    .await?;
    Ok(Bootstrapped::Created {
        user,
        key,
        generated,
    })
}

async fn write<S: CatalogStore>(store: &S, clock: Clock, command: Command) -> Result<(), ApiError> {
    let envelope = Envelope {
        actor: Actor::System,
        at: clock.now(),
        command,
        key: None,
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

    const GIVEN: &str = "pyk_given-bootstrap-key-0123456789abcdef";

    #[tokio::test]
    async fn bootstrap_creates_the_operator_once_and_ignores_keys_after() {
        let store = MemoryStore::new(Catalog::new(QuotaLimits::default()));
        let first = bootstrap(&store, None, Clock::System).await.unwrap();
        let Bootstrapped::Created { key, generated, .. } = first else {
            panic!("expected a new operator, got {first:?}");
        };
        assert!(generated && key.starts_with("pyk_"));
        assert_eq!(
            bootstrap(&store, None, Clock::System).await.unwrap(),
            Bootstrapped::AlreadyDone
        );
        // A key given once the cluster has its operator opens nothing.
        assert_eq!(
            bootstrap(&store, Some(GIVEN), Clock::System).await.unwrap(),
            Bootstrapped::AlreadyDone
        );
        let hash = Blake3Hash::of(GIVEN.as_bytes());
        let found = store
            .read(move |c| c.user_by_key_hash(&hash).is_some())
            .await
            .unwrap();
        assert!(!found);
    }

    #[tokio::test]
    async fn a_given_key_bootstraps_an_empty_cluster_and_an_operator_left_keyless_gets_it() {
        let store = MemoryStore::new(Catalog::new(QuotaLimits::default()));
        // A node that died between creating the operator and its key.
        write(
            &store,
            Clock::System,
            Command::CreateUser(CreateUser {
                id: UserId::from(OPERATOR_ID),
                name: "Operator".into(),
                email: "operator@packyard.invalid".into(),
                roles: Vec::new(),
                operator: true,
            }),
        )
        .await
        .unwrap();
        let given = bootstrap(&store, Some(GIVEN), Clock::System).await.unwrap();
        assert!(matches!(
            given,
            Bootstrapped::Created {
                generated: false,
                ..
            }
        ));
        let hash = Blake3Hash::of(GIVEN.as_bytes());
        let op = store
            .read(move |c| c.user_by_key_hash(&hash).map(|u| u.operator))
            .await
            .unwrap();
        assert_eq!(op, Some(true));
    }

    #[test]
    fn a_short_bootstrap_key_is_refused_saying_how_long_it_must_be() {
        let err = check_bootstrap_key("hunter2").unwrap_err();
        assert_eq!(err, WeakBootstrapKey(7));
        assert!(err.to_string().contains("at least 32"), "{err}");
        assert!(check_bootstrap_key(&format!(" {GIVEN}")).is_err());
        check_bootstrap_key(GIVEN).unwrap();
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
