//! [`JoinPlan`] and the other pure decisions behind `Join` and `Leave`: given the membership
//! in effect and a request, what change Raft must make, or why the request is refused.
//!
//! No I/O here; [`super::MembershipService`] reads the membership from Raft's metrics, asks
//! these functions, and carries out the answer.

use std::collections::BTreeSet;

use openraft::{ChangeMembers, Membership};

use super::membership_error::MembershipError;
use super::node::Node;
use super::type_config::NodeId;

/// What a valid `Join` asks Raft to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinPlan {
    /// The node is already a voter at these addresses: nothing to do.
    AlreadyVoter,
    /// Add the node as a learner (again, if it is one already), wait for it to catch up,
    /// then promote it to voter.
    AddAndPromote,
}

/// Checks that a joining node's id and addresses are usable before they reach the
/// membership, where a malformed address would make every peer's connection to it fail.
pub fn validate_node(id: NodeId, node: &Node) -> Result<(), MembershipError> {
    if id == 0 {
        return Err(MembershipError::ReservedId);
    }
    for (field, addr) in [
        ("raft_addr", &node.raft_addr),
        ("admin_addr", &node.admin_addr),
    ] {
        if !is_host_port(addr) {
            return Err(MembershipError::BadAddress {
                id,
                field,
                addr: addr.clone(),
            });
        }
    }
    Ok(())
}

/// `host:port` with a non-empty host and a numeric port (bracketed IPv6 hosts included).
fn is_host_port(addr: &str) -> bool {
    match addr.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty() && !host.contains(char::is_whitespace) && port.parse::<u16>().is_ok()
        }
        None => false,
    }
}

/// What joining node `id` at `node` means for membership `current`.
pub fn plan_join(
    current: &Membership<NodeId, Node>,
    id: NodeId,
    node: &Node,
) -> Result<JoinPlan, MembershipError> {
    validate_node(id, node)?;
    if let Some((owner, _)) = current
        .nodes()
        .find(|(other, n)| **other != id && n.raft_addr == node.raft_addr)
    {
        return Err(MembershipError::AddressTaken {
            addr: node.raft_addr.clone(),
            owner: *owner,
        });
    }
    match current.get_node(&id) {
        None => Ok(JoinPlan::AddAndPromote),
        Some(existing) if existing != node => Err(MembershipError::IdTaken {
            id,
            existing: existing.clone(),
            requested: node.clone(),
        }),
        Some(_) if current.voter_ids().any(|v| v == id) => Ok(JoinPlan::AlreadyVoter),
        // A learner at the same addresses, perhaps from a join that timed out: finish it.
        Some(_) => Ok(JoinPlan::AddAndPromote),
    }
}

/// The change that removes node `id` from membership `current`, to be proposed with
/// `retain = false` so a removed voter does not linger as a learner.
pub fn plan_leave(
    current: &Membership<NodeId, Node>,
    id: NodeId,
) -> Result<ChangeMembers<NodeId, Node>, MembershipError> {
    if current.get_node(&id).is_none() {
        return Err(MembershipError::UnknownNode(id));
    }
    let voters: BTreeSet<NodeId> = current.voter_ids().collect();
    if !voters.contains(&id) {
        return Ok(ChangeMembers::RemoveNodes(BTreeSet::from([id])));
    }
    if voters.len() == 1 {
        return Err(MembershipError::LastVoter(id));
    }
    Ok(ChangeMembers::RemoveVoters(BTreeSet::from([id])))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn node(port: u16) -> Node {
        Node::new(
            format!("10.0.0.1:{port}"),
            format!("10.0.0.1:{}", port + 1000),
        )
    }

    /// Voters 1 and 2, learner 3.
    fn two_voters_one_learner() -> Membership<NodeId, Node> {
        let nodes: BTreeMap<NodeId, Node> = [(1, node(1)), (2, node(2)), (3, node(3))].into();
        Membership::new(vec![BTreeSet::from([1, 2])], nodes)
    }

    #[test]
    fn a_new_node_is_added_then_promoted() {
        let plan = plan_join(&two_voters_one_learner(), 4, &node(4));
        assert_eq!(plan, Ok(JoinPlan::AddAndPromote));
    }

    #[test]
    fn a_voter_joining_again_at_the_same_addresses_is_a_no_op() {
        let plan = plan_join(&two_voters_one_learner(), 2, &node(2));
        assert_eq!(plan, Ok(JoinPlan::AlreadyVoter));
    }

    #[test]
    fn a_learner_joining_again_is_promoted() {
        let plan = plan_join(&two_voters_one_learner(), 3, &node(3));
        assert_eq!(plan, Ok(JoinPlan::AddAndPromote));
    }

    #[test]
    fn a_member_id_at_other_addresses_is_refused() {
        let plan = plan_join(&two_voters_one_learner(), 2, &node(9));
        assert!(matches!(plan, Err(MembershipError::IdTaken { id: 2, .. })));
    }

    #[test]
    fn a_new_id_at_a_member_raft_address_is_refused() {
        let plan = plan_join(&two_voters_one_learner(), 4, &node(1));
        assert!(matches!(
            plan,
            Err(MembershipError::AddressTaken { owner: 1, .. })
        ));
    }

    #[test]
    fn id_zero_and_malformed_addresses_are_refused() {
        let current = two_voters_one_learner();
        assert_eq!(
            plan_join(&current, 0, &node(4)),
            Err(MembershipError::ReservedId)
        );
        for bad in [
            "",
            "10.0.0.1",
            ":80",
            "10.0.0.1:http",
            "10.0.0.1:70000",
            "a b:1",
        ] {
            let plan = plan_join(&current, 4, &Node::new(bad, "10.0.0.1:80"));
            assert!(
                matches!(
                    plan,
                    Err(MembershipError::BadAddress {
                        field: "raft_addr",
                        ..
                    })
                ),
                "{bad:?} was accepted"
            );
        }
        assert!(validate_node(4, &Node::new("[::1]:7000", "localhost:8080")).is_ok());
    }

    #[test]
    fn a_voter_leaves_the_voters_and_a_learner_the_nodes() {
        let current = two_voters_one_learner();
        assert_eq!(
            plan_leave(&current, 2),
            Ok(ChangeMembers::RemoveVoters(BTreeSet::from([2])))
        );
        assert_eq!(
            plan_leave(&current, 3),
            Ok(ChangeMembers::RemoveNodes(BTreeSet::from([3])))
        );
    }

    #[test]
    fn an_unknown_node_or_the_last_voter_cannot_leave() {
        assert_eq!(
            plan_leave(&two_voters_one_learner(), 7),
            Err(MembershipError::UnknownNode(7))
        );
        let alone = Membership::new(vec![BTreeSet::from([1])], BTreeMap::from([(1, node(1))]));
        assert_eq!(plan_leave(&alone, 1), Err(MembershipError::LastVoter(1)));
    }
}
