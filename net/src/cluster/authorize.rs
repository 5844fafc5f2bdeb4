//! [`require`]: the per-service role check of every internal gRPC service. It runs before the
//! service sees the request: a caller whose connection proves no identity (no client
//! certificate, another CA's, an expired one) is `UNAUTHENTICATED`, one whose certificate
//! names another role `PERMISSION_DENIED`; neither reaches the handler, so nothing is
//! written and nothing is revealed. An admitted call carries its [`Caller`].

use tonic::service::Interceptor;
use tonic::{Request, Status};

use super::identity::{Identity, NodeRole};
use super::incoming::PeerInfo;

/// Who made an admitted call, for handlers that also bind the caller's id (an edge may only
/// register and heartbeat as itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub Identity);

/// The caller of an admitted call, if the service was wrapped by [`require`].
pub fn caller<T>(request: &Request<T>) -> Option<&Identity> {
    request.extensions().get::<Caller>().map(|c| &c.0)
}

/// An interceptor admitting callers of `roles` only, to `service` (named in refusals).
pub fn require(service: &'static str, roles: &'static [NodeRole]) -> RequireRole {
    RequireRole { service, roles }
}

/// See [`require`].
#[derive(Debug, Clone, Copy)]
pub struct RequireRole {
    service: &'static str,
    roles: &'static [NodeRole],
}

impl RequireRole {
    fn allowed(&self) -> String {
        let names: Vec<&str> = self.roles.iter().map(|r| r.as_str()).collect();
        names.join(" or ")
    }

    /// The caller's identity, or the refusal.
    pub fn check<T>(&self, request: &Request<T>) -> Result<Identity, Status> {
        let unauthenticated = |why: &str| {
            Status::unauthenticated(format!(
                "{} takes calls from cluster nodes only, over mutual TLS with a {} certificate \
                 issued by the cluster CA: {why}",
                self.service,
                self.allowed()
            ))
        };
        let peer = request
            .extensions()
            .get::<PeerInfo>()
            .ok_or_else(|| unauthenticated("this is not a cluster connection"))?;
        let identity = peer.verdict.clone().map_err(|why| unauthenticated(&why))?;
        if !self.roles.contains(&identity.role) {
            return Err(Status::permission_denied(format!(
                "{} takes calls from {} nodes only; this certificate is for {identity}",
                self.service,
                self.allowed()
            )));
        }
        Ok(identity)
    }
}

impl Interceptor for RequireRole {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let identity = self.check(&request)?;
        request.extensions_mut().insert(Caller(identity));
        Ok(request)
    }
}
