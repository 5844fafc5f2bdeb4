//! [`Proposal`]: what one Raft log entry carries, the envelopes of writes that arrived
//! together; and [`Proposer`]: the queue that groups a node's concurrent writes into them.
//!
//! Without grouping, every admin write is its own log entry: its own append and WAL sync on
//! the leader, its own entry in every `AppendEntries`, and on a follower its own forwarding
//! RPC. Under load that is most of the control plane's CPU (BENCHMARKS.md, control plane vs
//! etcd). The proposer keeps at most [`IN_FLIGHT`] proposal of its node in flight; writes
//! that arrive meanwhile wait and go out together in the next one, up to [`MAX_BATCH`]. One
//! write alone goes out at once, so a lone client waits for nothing.
//!
//! Each envelope of a proposal is applied on its own, in order, with its own answer: one that
//! the catalog refuses changes nothing and does not affect the others, and the numbers the
//! catalog hands out stay gapless (rule R11).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use packyard_core::catalog::Envelope;
use packyard_proto::raft::v1::raft_client::RaftClient;
use packyard_proto::raft::v1::{ClientWriteReply, ClientWriteRequest, client_write_reply};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::kept_stream::{StreamSlot, exchange};
use super::node::Node;
use super::peer_channels::PeerChannels;
use super::type_config::Raft;
use crate::store::{Applied, StoreError};

/// Proposals of one node in flight at once; writes arriving meanwhile form the next one.
/// One: with two, 64 clients made smaller proposals and 6 % fewer writes/s (vs-etcd), and
/// one client saw no difference (it never has a second write waiting).
pub const IN_FLIGHT: usize = 1;

/// The most envelopes one proposal carries. An envelope is at most an admin request body
/// (`api.max_body_bytes`, 1 MiB by default), so a full proposal stays well inside a Raft
/// message.
pub const MAX_BATCH: usize = 32;

/// How long a follower waits for the leader to answer a forwarded proposal before it answers
/// its clients that the control plane is unavailable.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a write waits in the queue for its proposal to go out. A proposal that cannot
/// commit (its leader cut off from the majority) holds the one slot; the writes behind it are
/// answered "unavailable" rather than proposed long after their clients gave up, when a
/// write nobody waits for any more would still be applied.
pub const QUEUE_PATIENCE: Duration = Duration::from_secs(5);

/// The envelopes of one log entry, applied in order, each with its own answer.
///
/// Encoded as a JSON array of envelopes. Decoding also takes a single envelope (a JSON
/// object): the entries written by versions before proposals grouped writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal(pub Vec<Envelope>);

impl From<Envelope> for Proposal {
    fn from(envelope: Envelope) -> Self {
        Self(vec![envelope])
    }
}

impl Serialize for Proposal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Proposal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ProposalVisitor;

        impl<'de> Visitor<'de> for ProposalVisitor {
            type Value = Proposal;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of command envelopes, or one envelope")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Proposal, A::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Proposal)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Proposal, A::Error> {
                Envelope::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(Proposal::from)
            }
        }

        deserializer.deserialize_any(ProposalVisitor)
    }
}

/// A write waiting for its proposal: the envelope, and where its answer goes.
/// What a write is answered: its log index and its own answer, or why not.
type Answer = Result<(u64, Applied), StoreError>;

struct Pending {
    envelope: Envelope,
    answer: oneshot::Sender<Answer>,
    queued: tokio::time::Instant,
}

/// The writes of `batch` still worth proposing: one whose client is gone is dropped, one that
/// waited longer than `patience` is answered "unavailable"; neither is proposed.
fn still_wanted(batch: Vec<Pending>, patience: Duration) -> Vec<Pending> {
    batch
        .into_iter()
        .filter_map(|p| {
            if p.answer.is_closed() {
                return None;
            }
            let waited = p.queued.elapsed();
            if waited > patience {
                let _ = p.answer.send(Err(StoreError::Unavailable(format!(
                    "the write waited {:.1} s behind a proposal the cluster has not committed; \
                     it was not proposed, retry",
                    waited.as_secs_f64()
                ))));
                return None;
            }
            Some(p)
        })
        .collect()
}

/// Groups the writes of one node into proposals and hands them to Raft (forwarded to the
/// leader when this node follows). Cheap to clone; the grouping task ends when the last
/// clone is dropped.
#[derive(Clone)]
pub struct Proposer {
    queue: mpsc::UnboundedSender<Pending>,
}

impl fmt::Debug for Proposer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proposer").finish_non_exhaustive()
    }
}

impl Proposer {
    /// Starts the grouping task on the current Tokio runtime.
    pub fn start(raft: Raft, peers: PeerChannels) -> Self {
        let (queue, waiting) = mpsc::unbounded_channel();
        let submitter = Submitter {
            raft,
            peers,
            streams: Mutex::default(),
        };
        tokio::spawn(group(waiting, Arc::new(submitter)));
        Self { queue }
    }

    /// Proposes `envelope` with whatever other writes are waiting, and answers once it is
    /// committed and applied: its log index and its own answer.
    pub async fn write(&self, envelope: Envelope) -> Result<(u64, Applied), StoreError> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Pending {
                envelope,
                answer,
                queued: tokio::time::Instant::now(),
            })
            .map_err(|_| StoreError::Unavailable("the node is shutting down".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Unavailable("the node is shutting down".into()))?
    }
}

/// The grouping loop: waits for a free slot, then for a write, then takes every write
/// already waiting (up to [`MAX_BATCH`]) into one proposal.
async fn group(mut waiting: mpsc::UnboundedReceiver<Pending>, submitter: Arc<Submitter>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let Some(first) = waiting.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let batch = still_wanted(batch, QUEUE_PATIENCE);
        if batch.is_empty() {
            continue;
        }
        let submitter = Arc::clone(&submitter);
        tokio::spawn(async move {
            submitter.submit(batch).await;
            drop(slot);
        });
    }
}

/// Hands proposals to this node's Raft, or to the leader's.
struct Submitter {
    raft: Raft,
    peers: PeerChannels,
    /// The kept `ClientWriteStream` per leader address.
    streams: Mutex<HashMap<String, StreamSlot<ClientWriteRequest, ClientWriteReply>>>,
}

impl Submitter {
    /// Proposes `batch` and sends every write its answer.
    async fn submit(&self, batch: Vec<Pending>) {
        let (envelopes, answers): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|p| (p.envelope, p.answer)).unzip();
        let count = envelopes.len();
        let outcome = self
            .propose(Proposal(envelopes))
            .await
            .and_then(|(index, applied)| {
                if applied.len() == count {
                    Ok((index, applied))
                } else {
                    Err(StoreError::Unavailable(format!(
                        "a proposal of {count} writes came back with {} answers",
                        applied.len()
                    )))
                }
            });
        match outcome {
            Ok((index, applied)) => {
                for (answer, applied) in answers.into_iter().zip(applied) {
                    let _ = answer.send(Ok((index, applied)));
                }
            }
            Err(e) => {
                for answer in answers {
                    let _ = answer.send(Err(e.clone()));
                }
            }
        }
    }

    /// Proposes through this node's Raft if it leads, else through the leader's. Who leads is
    /// read from the node's Raft metrics, so a proposal is neither copied nor tried locally
    /// first; if leadership moves in between, the writes are answered "no leader" and their
    /// clients retry, as during any election.
    async fn propose(&self, proposal: Proposal) -> Result<(u64, Vec<Applied>), StoreError> {
        let (me, leader) = {
            let metrics = self.raft.metrics();
            let metrics = metrics.borrow();
            let leader = metrics.current_leader.map(|id| {
                let node = metrics
                    .membership_config
                    .membership()
                    .get_node(&id)
                    .cloned();
                (id, node)
            });
            (metrics.id, leader)
        };
        match leader {
            Some((id, _)) if id == me => match self.raft.client_write(proposal).await {
                Ok(written) => Ok((written.log_id.index, written.data)),
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => {
                    Err(StoreError::NoLeader)
                }
                Err(e) => Err(StoreError::Unavailable(e.to_string())),
            },
            Some((_, Some(node))) => self.forward(&node, &proposal).await,
            Some((_, None)) | None => Err(StoreError::NoLeader),
        }
    }

    /// Hands `proposal` to the leader at `leader`; its answers and the log index.
    async fn forward(
        &self,
        leader: &Node,
        proposal: &Proposal,
    ) -> Result<(u64, Vec<Applied>), StoreError> {
        let unavailable = |e: &dyn fmt::Display| {
            StoreError::Unavailable(format!(
                "forwarding to the leader at {}: {e}",
                leader.raft_addr
            ))
        };
        let command_json = serde_json::to_vec(proposal).map_err(|e| unavailable(&e))?;
        let channel = self
            .peers
            .get(&leader.raft_addr)
            .map_err(|e| unavailable(&e))?;
        let request = ClientWriteRequest { command_json };
        let mut client = RaftClient::new(channel);
        let slot = Arc::clone(
            self.streams
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(leader.raft_addr.clone())
                .or_default(),
        );
        let reply = match slot.try_lock() {
            Ok(mut stream) => {
                let mut client = client.clone();
                let open = |requests| async move { client.client_write_stream(requests).await };
                exchange(&mut stream, open, request, FORWARD_TIMEOUT).await
            }
            // Another proposal has the stream (with more than one in flight): a call of its
            // own.
            Err(_) => {
                let mut call = tonic::Request::new(request);
                call.set_timeout(FORWARD_TIMEOUT);
                client
                    .client_write(call)
                    .await
                    .map(tonic::Response::into_inner)
            }
        }
        .map_err(|e| unavailable(&e))?;
        match reply.result {
            Some(client_write_reply::Result::AnswersJson(json)) => Ok((
                reply.log_index,
                serde_json::from_slice(&json).map_err(|e| unavailable(&e))?,
            )),
            // One answer per write, as leaders before grouping replied.
            Some(client_write_reply::Result::EventsJson(json)) => Ok((
                reply.log_index,
                vec![Ok(
                    serde_json::from_slice(&json).map_err(|e| unavailable(&e))?
                )],
            )),
            Some(client_write_reply::Result::RefusalJson(json)) => Ok((
                reply.log_index,
                vec![Err(
                    serde_json::from_slice(&json).map_err(|e| unavailable(&e))?
                )],
            )),
            // Leadership moved while the request travelled; the caller may retry.
            Some(client_write_reply::Result::ForwardTo(_)) | None => Err(StoreError::NoLeader),
        }
    }
}

#[cfg(test)]
mod tests {
    use packyard_core::catalog::{Actor, Command, CreateUser, Timestamp, UserId};

    use super::*;

    fn envelope(n: u64) -> Envelope {
        Envelope {
            actor: Actor::System,
            at: Timestamp(n),
            command: Command::CreateUser(CreateUser {
                id: UserId::from(format!("u{n}").as_str()),
                name: format!("User {n}"),
                email: format!("u{n}@example.com"),
                roles: vec![],
                operator: false,
            }),
            key: None,
        }
    }

    fn pending(n: u64) -> (Pending, oneshot::Receiver<Answer>) {
        let (answer, answered) = oneshot::channel();
        let p = Pending {
            envelope: envelope(n),
            answer,
            queued: tokio::time::Instant::now(),
        };
        (p, answered)
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_whose_client_left_or_that_waited_too_long_is_not_proposed() {
        let (stale, mut stale_answer) = pending(1);
        let (gone, gone_answer) = pending(2);
        drop(gone_answer);
        tokio::time::advance(QUEUE_PATIENCE + Duration::from_millis(1)).await;
        let (fresh, _fresh_answer) = pending(3);
        let kept = still_wanted(vec![stale, gone, fresh], QUEUE_PATIENCE);
        assert_eq!(
            kept.iter().map(|p| p.envelope.at).collect::<Vec<_>>(),
            [Timestamp(3)],
            "only the write still waited for, and in time, goes out"
        );
        match stale_answer.try_recv() {
            Ok(Err(StoreError::Unavailable(why))) => {
                assert!(why.contains("was not proposed"), "{why}")
            }
            other => panic!("the stale write is answered unavailable: {other:?}"),
        }
    }

    #[test]
    fn a_proposal_is_a_json_array_of_envelopes_and_reads_back_the_same() {
        let proposal = Proposal(vec![envelope(1), envelope(2)]);
        let json = serde_json::to_value(&proposal).unwrap();
        assert!(json.is_array(), "{json}");
        let back: Proposal = serde_json::from_value(json).unwrap();
        assert_eq!(back, proposal);
    }

    #[test]
    fn an_entry_written_before_grouping_reads_as_a_proposal_of_one() {
        let old = serde_json::to_vec(&envelope(7)).unwrap();
        let read: Proposal = serde_json::from_slice(&old).unwrap();
        assert_eq!(read, Proposal(vec![envelope(7)]));
    }

    #[test]
    fn anything_else_is_refused_naming_what_was_expected() {
        let err = serde_json::from_str::<Proposal>("42").unwrap_err();
        assert!(
            err.to_string()
                .contains("an array of command envelopes, or one envelope"),
            "{err}"
        );
        assert!(serde_json::from_str::<Proposal>(r#"[{"actor": 1}]"#).is_err());
    }
}
