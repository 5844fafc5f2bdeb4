use super::*;

#[test]
fn r9_defaults_are_100_packs_200_gb_and_a_warning_at_80_percent() {
    let limits = QuotaLimits::default();
    assert_eq!(limits.max_packs, 100);
    assert_eq!(limits.max_bytes, 200_000_000_000);
    assert_eq!(limits.warn_threshold(), 160_000_000_000);
    assert_eq!(limits.validate(), Ok(()));
}

#[test]
fn r9_a_pack_counts_only_its_largest_eligible_version() {
    assert_eq!(pack_used_bytes([(10, true), (30, false), (20, true)]), 20);
    assert_eq!(pack_used_bytes([(30, false)]), 0);
    assert_eq!(pack_used_bytes([]), 0);
    assert_eq!(app_used_bytes([20, 5, 0]), 25);
}

#[test]
fn r9_an_upload_grows_its_pack_only_when_larger_than_what_it_uses() {
    let limits = QuotaLimits::default();
    // (app committed, pack used, pack pending, new file) → app committed after.
    assert_eq!(limits.projected_bytes(100, 40, 0, 30), 100);
    assert_eq!(limits.projected_bytes(100, 40, 0, 70), 130);
    assert_eq!(limits.projected_bytes(0, 0, 0, 70), 70);
}

#[test]
fn r9_reservations_not_yet_processed_add_up_within_a_pack() {
    let limits = QuotaLimits::default();
    // A pack using 40 with 30 pending commits 40; another 30 pending makes it 60.
    assert_eq!(pack_committed_bytes(40, 30), 40);
    assert_eq!(limits.projected_bytes(40, 40, 30, 30), 60);
    // Two pending of 70 each in an empty pack: 140, not 70.
    assert_eq!(limits.projected_bytes(70, 0, 70, 70), 140);
}

#[test]
fn r9_the_warning_fires_only_when_crossing_upward() {
    let limits = QuotaLimits {
        max_bytes: 100,
        ..QuotaLimits::default()
    };
    assert!(limits.crosses_warning(79, 80));
    assert!(limits.crosses_warning(0, 100));
    assert!(!limits.crosses_warning(80, 90));
    assert!(!limits.crosses_warning(90, 10));
    assert!(!limits.crosses_warning(10, 79));
}

#[test]
fn limits_that_could_never_hold_anything_are_refused() {
    let zero = QuotaLimits {
        max_bytes: 0,
        ..QuotaLimits::default()
    };
    assert_eq!(zero.validate(), Err(QuotaConfigError::Zero("max_bytes")));
    let ratio = QuotaLimits {
        warn_ratio_percent: 101,
        ..QuotaLimits::default()
    };
    assert_eq!(ratio.validate(), Err(QuotaConfigError::BadRatio(101)));
}

#[test]
fn r14_an_app_may_have_25_webhooks_by_default_and_a_limit_of_0_is_refused() {
    assert_eq!(QuotaLimits::default().max_webhooks_per_app, 25);
    let zero = QuotaLimits {
        max_webhooks_per_app: 0,
        ..QuotaLimits::default()
    };
    assert_eq!(
        zero.validate(),
        Err(QuotaConfigError::Zero("max_webhooks_per_app"))
    );
}
