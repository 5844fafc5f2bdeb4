//! [`PublicResolver`]: the one name resolution a webhook delivery makes. It asks the system
//! resolver once, checks every address it gets with [`internal_address`], and hands the
//! HTTP client those very addresses, which are the only ones it connects to: a name cannot
//! pass the check and then be resolved again somewhere else. A name with any address in the
//! cluster's own network is refused whole, and so is a name that does not resolve, with the
//! same [`NoPublicAddress`] error: the delivery log must not tell an app's Admin which
//! internal names exist.
//!
//! Hosts written as addresses never reach a resolver (the connector takes them as they
//! are), so [`super::Job::send`] checks those itself, on the URL as the client parsed it.

use std::net::SocketAddr;

use packyard_core::webhook_target::internal_address;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Resolves webhook hosts to public addresses only.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicResolver;

/// A host with no public address to send to: it resolves to an address in the cluster's
/// own network, or does not resolve. Deliberately says no more (see the module's docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the host has no public address")]
pub struct NoPublicAddress;

impl PublicResolver {
    /// The addresses of `host`, if every one is public.
    pub async fn public_addresses(host: &str) -> Result<Vec<SocketAddr>, NoPublicAddress> {
        let found: Vec<SocketAddr> = match tokio::net::lookup_host((host, 0)).await {
            Ok(found) => found.collect(),
            Err(e) => {
                tracing::debug!(host, error = %e, "a webhook host did not resolve");
                return Err(NoPublicAddress);
            }
        };
        if found.is_empty() || found.iter().any(|a| internal_address(a.ip()).is_some()) {
            let addresses: Vec<String> = found.iter().map(ToString::to_string).collect();
            tracing::debug!(
                host,
                addresses = %addresses.join(", "),
                "a webhook host resolves into the cluster's network"
            );
            return Err(NoPublicAddress);
        }
        Ok(found)
    }
}

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            match Self::public_addresses(name.as_str()).await {
                Ok(found) => Ok(Box::new(found.into_iter()) as Addrs),
                Err(refused) => Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn localhost_and_names_that_do_not_resolve_are_refused_alike() {
        assert_eq!(
            PublicResolver::public_addresses("localhost").await,
            Err(NoPublicAddress)
        );
        // `.invalid` never resolves (RFC 6761).
        assert_eq!(
            PublicResolver::public_addresses("nothing.invalid").await,
            Err(NoPublicAddress)
        );
    }
}
