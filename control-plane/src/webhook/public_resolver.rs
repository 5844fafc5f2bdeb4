//! [`PublicResolver`]: the name resolution webhook deliveries use. It resolves with the
//! system resolver and keeps only public addresses ([`internal_address`]), so a webhook's
//! host that resolves (now, or after its owner changed the DNS) to a loopback, link-local or
//! private address is never reached: the delivery fails saying why. The check runs at every
//! delivery, on the very addresses the connection is then made to, so a name cannot pass it
//! and then be resolved again somewhere else.

use std::net::SocketAddr;

use packyard_core::webhook_target::internal_address;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Resolves webhook hosts to their public addresses only.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicResolver;

/// A host that resolves to no public address.
#[derive(Debug, thiserror::Error)]
#[error(
    "{host} resolves only to addresses in the cluster's own network ({address} is {why}); \
     webhooks are not sent there unless the operator sets [webhooks] allow_private_addresses"
)]
struct InternalOnly {
    host: String,
    address: std::net::IpAddr,
    why: &'static str,
}

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| internal_address(a.ip()).is_none())
                .collect();
            match (public.is_empty(), found.first()) {
                (true, Some(first)) => Err(Box::new(InternalOnly {
                    host,
                    address: first.ip(),
                    why: internal_address(first.ip()).unwrap_or("internal"),
                })
                    as Box<dyn std::error::Error + Send + Sync>),
                _ => Ok(Box::new(public.into_iter()) as Addrs),
            }
        })
    }
}
