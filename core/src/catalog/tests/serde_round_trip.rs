use super::fixture::*;
use crate::catalog::*;

#[test]
fn a_catalog_snapshot_round_trips() {
    let mut w = World::new();
    w.build(&[BuildChannel::External]);
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    w.in_external_testing(&v);
    let json = serde_json::to_string(&w.catalog).unwrap();
    let back: Catalog = serde_json::from_str(&json).unwrap();
    assert_eq!(back, w.catalog);
}

#[test]
fn commands_events_and_refusals_round_trip() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.processing(&pack, 100);
    let command = succeeded(&v, 100);
    let envelope = Envelope {
        actor: Actor::System,
        at: Timestamp(5),
        command: command.clone(),
        key: None,
    };
    let json = serde_json::to_string(&envelope).unwrap();
    assert_eq!(serde_json::from_str::<Envelope>(&json).unwrap(), envelope);
    for event in w.ok(Actor::System, command) {
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
    }
    let refusal = w.refused(user("dev"), archive(&pack));
    let json = serde_json::to_string(&refusal).unwrap();
    assert_eq!(serde_json::from_str::<Refusal>(&json).unwrap(), refusal);
}

#[test]
fn states_and_event_types_use_the_spec_spelling() {
    let json = |v: &dyn erased::Ser| v.json();
    assert_eq!(
        json(&ExternalBetaState::ReadyForBetaSubmission),
        "\"READY_FOR_BETA_SUBMISSION\""
    );
    assert_eq!(
        json(&AppStoreState::ProcessingForDistribution),
        "\"PROCESSING_FOR_DISTRIBUTION\""
    );
    assert_eq!(json(&VersionState::AwaitingUpload), "\"AWAITING_UPLOAD\"");
    assert_eq!(
        json(&UploadFileState::UploadComplete),
        "\"UPLOAD_COMPLETE\""
    );
    assert_eq!(json(&ReviewTrack::ExternalBeta), "\"EXTERNAL_BETA\"");
    assert_eq!(
        json(&EventType::BackgroundAssetVersionInternalBetaReleaseCreated),
        "\"BACKGROUND_ASSET_VERSION_INTERNAL_BETA_RELEASE_CREATED\""
    );
    assert_eq!(
        json(&EventType::RolloutStateUpdated),
        "\"ROLLOUT_STATE_UPDATED\""
    );
    assert_eq!(json(&EventType::QuotaWarning), "\"QUOTA_WARNING\"");
    assert_eq!(
        json(&EventType::BackgroundAssetArchived),
        "\"BACKGROUND_ASSET_ARCHIVED\""
    );
    assert_eq!(
        json(&ResourceType::BackgroundAssetVersionAppStoreReleases),
        "\"backgroundAssetVersionAppStoreReleases\""
    );
    assert_eq!(json(&Channel::Store), "\"store\"");
    assert_eq!(json(&Rule::R2), "\"R2\"");
}

#[test]
fn as_str_matches_serde_for_every_event_type() {
    for t in EventType::ALL {
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            format!("\"{}\"", t.as_str())
        );
    }
}

#[test]
fn as_str_matches_serde_for_every_store_state() {
    use AppStoreState as S;
    for s in [
        S::PrepareForSubmission,
        S::ReadyForReview,
        S::WaitingForReview,
        S::InReview,
        S::Accepted,
        S::Rejected,
        S::ProcessingForDistribution,
        S::ReadyForDistribution,
        S::Superseded,
    ] {
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            format!("\"{}\"", s.as_str())
        );
    }
}

/// Serializes any value to JSON, behind a trait object so one closure takes every type.
mod erased {
    pub(super) trait Ser {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
    }
}
