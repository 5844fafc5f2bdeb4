//! [`Addresses`]: the `HOST:PORT`s of interchangeable nodes of one role in a configuration
//! (the control-plane members, the origins); [`Members`]: a channel to each and the one calls
//! go to now, moving on to the next when it fails, so no single node is a point of failure.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Deserializer, Serialize};
use tonic::transport::Channel;
use tonic::{Code, Status};

use super::channel::ChannelError;
use super::cluster_tls::ClusterTls;
use super::identity::NodeRole;

/// One or more `HOST:PORT` addresses, in the order they are tried. In TOML a string
/// (`"cp-1:7101"`, or comma separated `"cp-1:7101,cp-2:7101"`) or an array of strings; on a
/// command line comma separated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "Vec<String>")]
pub struct Addresses(Vec<String>);

/// Why a list of addresses cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressesError {
    /// Nothing was given.
    #[error("no address given: name at least one HOST:PORT")]
    Empty,
    /// One entry is not `HOST:PORT`.
    #[error("{0:?} is not HOST:PORT")]
    NotHostPort(String),
}

impl Addresses {
    /// The list from `HOST:PORT` entries; each is checked.
    pub fn new<S: Into<String>>(
        entries: impl IntoIterator<Item = S>,
    ) -> Result<Self, AddressesError> {
        let entries: Vec<String> = entries
            .into_iter()
            .map(|e| e.into().trim().to_owned())
            .filter(|e| !e.is_empty())
            .collect();
        if entries.is_empty() {
            return Err(AddressesError::Empty);
        }
        if let Some(bad) = entries.iter().find(|e| !is_host_port(e)) {
            return Err(AddressesError::NotHostPort(bad.clone()));
        }
        Ok(Self(entries))
    }

    /// One address.
    ///
    /// # Panics
    /// When `addr` is not `HOST:PORT` (for addresses a program made itself, like a bound
    /// listener's).
    pub fn one(addr: impl fmt::Display) -> Self {
        Self::new([addr.to_string()]).expect("an address this program made is HOST:PORT")
    }

    /// The addresses, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// How many there are (at least one).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a list holds at least one address.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn is_host_port(s: &str) -> bool {
    s.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty() && !host.contains(',') && port.parse::<u16>().is_ok()
    })
}

impl FromStr for Addresses {
    type Err = AddressesError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s.split(','))
    }
}

impl fmt::Display for Addresses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

impl From<Addresses> for Vec<String> {
    fn from(a: Addresses) -> Self {
        a.0
    }
}

impl<'de> Deserialize<'de> for Addresses {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            One(String),
            Many(Vec<String>),
        }
        let parsed = match Written::deserialize(deserializer)? {
            Written::One(s) => s.parse(),
            Written::Many(list) => Self::new(list.iter().flat_map(|e| e.split(','))),
        };
        parsed.map_err(serde::de::Error::custom)
    }
}

/// Whether a call that failed this way should go to another member: the node is down,
/// unreachable, shutting down, or (for writes) cannot reach a leader.
pub fn should_move_on(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::DeadlineExceeded | Code::Cancelled
    )
}

/// Channels to every node of one role, and the one in use. Cheap to clone: clones share
/// which member is in use, so when one task finds a member dead the others move with it.
#[derive(Debug, Clone)]
pub struct Members {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    role: NodeRole,
    nodes: Vec<(String, Channel)>,
    current: AtomicUsize,
}

/// The member a call went to, to report with [`Members::failed`].
#[derive(Debug, Clone)]
pub struct Member {
    index: usize,
    /// Its address.
    pub addr: String,
    /// Its channel.
    pub channel: Channel,
}

impl ClusterTls {
    /// Lazily connected channels to each of the `expect` nodes at `addrs`.
    pub fn members(&self, addrs: &Addresses, expect: NodeRole) -> Result<Members, ChannelError> {
        let nodes = addrs
            .iter()
            .map(|addr| Ok((addr.to_owned(), self.channel(addr, expect)?)))
            .collect::<Result<Vec<_>, ChannelError>>()?;
        Ok(Members::from_channels(expect, nodes))
    }
}

impl Members {
    /// Members over channels the caller made (`nodes` must not be empty).
    pub fn from_channels(role: NodeRole, nodes: Vec<(String, Channel)>) -> Self {
        assert!(!nodes.is_empty(), "members need at least one node");
        Self {
            inner: Arc::new(Inner {
                role,
                nodes,
                current: AtomicUsize::new(0),
            }),
        }
    }

    /// The member calls go to now.
    pub fn current(&self) -> Member {
        let index = self.inner.current.load(Ordering::Acquire) % self.inner.nodes.len();
        let (addr, channel) = &self.inner.nodes[index];
        Member {
            index,
            addr: addr.clone(),
            channel: channel.clone(),
        }
    }

    /// How many members there are.
    pub fn len(&self) -> usize {
        self.inner.nodes.len()
    }

    /// Always false: there is at least one member.
    pub fn is_empty(&self) -> bool {
        self.inner.nodes.is_empty()
    }

    /// Reports that `member` failed: calls move on to the next member, unless another caller
    /// has moved them already (so two callers seeing one failure skip one member, not two).
    pub fn failed(&self, member: &Member, reason: &dyn fmt::Display) {
        let n = self.inner.nodes.len();
        if n == 1 {
            return;
        }
        let next = (member.index + 1) % n;
        if self
            .inner
            .current
            .compare_exchange(member.index, next, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            tracing::warn!(
                role = %self.inner.role,
                failed = %member.addr,
                next = %self.inner.nodes[next].0,
                %reason,
                "moving to another member"
            );
        }
    }

    /// Runs `call` on the current member; when it fails in a way another member may not
    /// (see [`should_move_on`]), moves on and tries the next, each member at most once.
    /// Returns the first success or the last failure.
    pub async fn call<T, F, Fut>(&self, mut call: F) -> Result<T, Status>
    where
        F: FnMut(Channel) -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        let mut last = None;
        for _ in 0..self.len() {
            let member = self.current();
            match call(member.channel.clone()).await {
                Ok(out) => return Ok(out),
                Err(status) if should_move_on(&status) => {
                    self.failed(&member, &status);
                    last = Some(status);
                }
                Err(status) => return Err(status),
            }
        }
        Err(last.unwrap_or_else(|| Status::unavailable("no member answered")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct File {
        control_plane: Addresses,
    }

    #[test]
    fn addresses_read_from_a_string_a_comma_list_or_an_array() {
        let one: File = toml::from_str("control_plane = \"cp-1:7101\"").unwrap();
        assert_eq!(one.control_plane.iter().collect::<Vec<_>>(), ["cp-1:7101"]);
        let commas: File = toml::from_str("control_plane = \"cp-1:7101, cp-2:7101\"").unwrap();
        assert_eq!(commas.control_plane.to_string(), "cp-1:7101,cp-2:7101");
        let array: File =
            toml::from_str("control_plane = [\"cp-1:7101\", \"10.0.0.3:7101\"]").unwrap();
        assert_eq!(array.control_plane.len(), 2);
        assert_eq!(
            "a:1,b:2".parse::<Addresses>().unwrap(),
            Addresses::new(["a:1", "b:2"]).unwrap()
        );
    }

    #[test]
    fn addresses_refuse_an_empty_list_and_name_the_entry_that_is_not_host_port() {
        assert_eq!("".parse::<Addresses>(), Err(AddressesError::Empty));
        assert_eq!(" , ".parse::<Addresses>(), Err(AddressesError::Empty));
        assert_eq!(
            "cp-1:7101,cp-2".parse::<Addresses>(),
            Err(AddressesError::NotHostPort("cp-2".into()))
        );
        let err = toml::from_str::<File>("control_plane = [\"a:1\", \":2\"]").unwrap_err();
        assert!(err.to_string().contains("\":2\" is not HOST:PORT"), "{err}");
    }

    fn members(n: usize) -> Members {
        let nodes = (0..n)
            .map(|i| {
                let addr = format!("127.0.0.1:{}", 1 + i);
                let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
                    .unwrap()
                    .connect_lazy();
                (addr, channel)
            })
            .collect();
        Members::from_channels(NodeRole::Control, nodes)
    }

    #[tokio::test]
    async fn a_failed_member_is_left_for_the_next_once_however_many_callers_saw_it_fail() {
        let m = members(3);
        let seen_by_both = m.current();
        m.failed(&seen_by_both, &"down");
        m.failed(&seen_by_both, &"down");
        assert_eq!(m.current().addr, "127.0.0.1:2");
        m.failed(&m.current(), &"down");
        m.failed(&m.current(), &"down");
        assert_eq!(m.current().addr, "127.0.0.1:1", "wraps around to the first");
    }

    #[tokio::test]
    async fn a_call_moves_on_from_unavailable_members_but_not_from_a_refusal() {
        let m = members(3);
        let mut tried = Vec::new();
        let out = m
            .call(|_| {
                tried.push(m.current().addr);
                let n = tried.len();
                async move {
                    if n < 3 {
                        Err(Status::unavailable("down"))
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(out.unwrap(), 3);
        assert_eq!(tried, ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]);

        let refused = m
            .call(|_| async { Err::<(), _>(Status::permission_denied("no")) })
            .await;
        assert_eq!(refused.unwrap_err().code(), Code::PermissionDenied);
        assert_eq!(
            m.current().addr,
            "127.0.0.1:3",
            "a refusal is not a dead member"
        );

        let all_down = m
            .call(|_| async { Err::<(), _>(Status::unavailable("down")) })
            .await;
        assert_eq!(all_down.unwrap_err().code(), Code::Unavailable);
    }
}
