//! [`require`]: the per-service role check of every internal gRPC service. It runs before the
//! service sees the request: a caller without a client certificate is `UNAUTHENTICATED`, one
//! whose certificate names another role `PERMISSION_DENIED`; neither reaches the handler, so
//! nothing is written and nothing is revealed. An admitted call carries its [`Caller`].

use tonic::service::Interceptor;
use tonic::{Request, Status};

use super::identity::{Identity, NodeRole};

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
        let certs = request.peer_certs().ok_or_else(|| {
            Status::unauthenticated(format!(
                "{} takes calls from cluster nodes only: connect with mutual TLS and a {} \
                 certificate issued by the cluster CA",
                self.service,
                self.allowed()
            ))
        })?;
        let first = certs.first().ok_or_else(|| {
            Status::unauthenticated(format!(
                "{} needs a client certificate; the connection presented none",
                self.service
            ))
        })?;
        let identity = Identity::from_certificate(first)
            .map_err(|e| Status::unauthenticated(format!("{}: {e}", self.service)))?;
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
