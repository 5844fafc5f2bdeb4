//! Leases: one holder at a time, until it runs out or is let go; Packyard itself only.

use super::fixture::*;
use crate::catalog::*;

fn take(name: &str, holder: &str, ttl_ms: u64) -> Command {
    Command::AcquireLease(AcquireLease {
        name: name.into(),
        holder: holder.into(),
        ttl_ms,
    })
}

fn let_go(name: &str, holder: &str) -> Command {
    Command::ReleaseLease(ReleaseLease {
        name: name.into(),
        holder: holder.into(),
    })
}

#[test]
fn a_lease_held_by_one_origin_is_refused_to_another_until_it_runs_out() {
    let mut w = World::new();
    // Each command is applied a second after the one before.
    w.ok(Actor::System, take("processing/v1", "origin:1", 2_500));
    let refusal = w.refused(Actor::System, take("processing/v1", "origin:2", 60_000));
    assert_eq!(refusal.kind(), RefusalKind::Conflict);
    assert!(
        refusal.to_string().contains("held by origin:1 until"),
        "{refusal}"
    );
    // Its holder renews it, for as long again from now.
    w.ok(Actor::System, take("processing/v1", "origin:1", 2_500));
    w.refused(Actor::System, take("processing/v1", "origin:2", 60_000));
    // Not renewed, it runs out: the other origin takes it.
    w.clock += 5_000;
    w.ok(Actor::System, take("processing/v1", "origin:2", 60_000));
    let now = Timestamp(w.clock);
    assert_eq!(
        w.catalog.lease_holder("processing/v1", now).unwrap().holder,
        "origin:2"
    );
    // Another lease is another duty.
    w.ok(Actor::System, take("gc", "origin:1", 60_000));
}

#[test]
fn only_its_holder_lets_a_lease_go() {
    let mut w = World::new();
    w.ok(Actor::System, take("gc", "origin:1", 60_000));
    w.ok(Actor::System, let_go("gc", "origin:2"));
    w.refused(Actor::System, take("gc", "origin:2", 60_000));
    w.ok(Actor::System, let_go("gc", "origin:1"));
    assert!(w.catalog.lease_holder("gc", Timestamp(w.clock)).is_none());
    w.ok(Actor::System, take("gc", "origin:2", 60_000));
}

#[test]
fn users_take_no_leases_and_a_lease_needs_a_name_a_holder_and_a_bounded_time() {
    let mut w = World::new();
    let refusal = w.refused(user("op"), take("gc", "origin:1", 1_000));
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
    w.refused(user("admin"), let_go("gc", "origin:1"));
    for (bad, field) in [
        (take("", "origin:1", 1_000), "name"),
        (take("gc", "", 1_000), "holder"),
        (take("gc", "origin 1", 1_000), "holder"),
        (take("gc", "origin:1", 0), "ttl_ms"),
        (
            take("gc", "origin:1", lease::MAX_LEASE_TTL_MS + 1),
            "ttl_ms",
        ),
    ] {
        let refusal = w.refused(Actor::System, bad);
        assert_eq!(refusal.kind(), RefusalKind::Invalid, "{refusal}");
        assert!(refusal.to_string().contains(field), "{refusal}");
    }
}
