//! Opaque identifiers of the catalog's records.
//!
//! The leader generates each new id before it proposes the creating command, so every
//! replica applies the same id; the catalog only refuses an id that is already used.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id generated elsewhere.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as written.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }
    };
}

id_type!(
    /// An app (`apps` in the admin API).
    AppId
);
id_type!(
    /// A user, the holder of roles and API keys.
    UserId
);
id_type!(
    /// An asset pack (`backgroundAssets`).
    PackId
);
id_type!(
    /// A pack version (`backgroundAssetVersions`); its release records share this id.
    VersionId
);
id_type!(
    /// An upload file (`backgroundAssetUploadFiles`).
    UploadFileId
);
id_type!(
    /// An app build (`builds`).
    BuildId
);
id_type!(
    /// A review submission (`reviewSubmissions`).
    ReviewSubmissionId
);
id_type!(
    /// An API key (`apiKeys`); the key itself is never stored, only its hash.
    ApiKeyId
);
id_type!(
    /// An event the catalog emitted (`evt-000000000042`), numbered by the catalog itself so
    /// every replica gives it the same id.
    EventId
);
id_type!(
    /// A webhook subscription (`webhooks`).
    WebhookId
);
id_type!(
    /// One event on its way to one webhook (`webhookDeliveries`), numbered by the catalog.
    DeliveryId
);
id_type!(
    /// An edge node (`edges`), named by the edge itself (its configured id), so a restarted
    /// edge registers as the same record.
    EdgeId
);
id_type!(
    /// A per-region rollout of a store version (`rollouts`).
    RolloutId
);
id_type!(
    /// A tester token (`testerTokens`): the `jti` it carries, by which it is revoked.
    TesterTokenId
);
