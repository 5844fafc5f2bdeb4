//! What a sync downloads, keeps and removes, decided as the platform's managed downloader
//! decides it: essential and prefetch packs on the installation events their policy names,
//! on-demand packs when the app asks for them, a pack the device holds kept at the version
//! the manifest names, and a pack that left the manifest removed (obsolete). Pure: the
//! caller says what it holds and what happened; [`plan`] answers.

use packyard_core::{DownloadPolicy, InstallationEventType};

use crate::manifest::{DeviceManifest, ManifestPack};

/// A pack version the device holds, verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The pack's identifier.
    pub id: String,
    /// The version held.
    pub version: u32,
}

/// Where one pack stands, in the platform's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackState {
    /// Listed, not held: a download is available (`downloadAvailable`).
    DownloadAvailable,
    /// Held at an older version than the manifest names (`updateAvailable`).
    UpdateAvailable {
        /// The version held.
        held: u32,
    },
    /// Held at a newer version than the manifest names, as after a rollback
    /// (`outOfDate`): the manifest's version replaces it.
    OutOfDate {
        /// The version held.
        held: u32,
    },
    /// Held at the version the manifest names (`upToDate`).
    UpToDate,
    /// Held, but no longer listed: archived, or no longer for this device (`obsolete`).
    Obsolete,
}

impl PackState {
    /// The platform's name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DownloadAvailable => "downloadAvailable",
            Self::UpdateAvailable { .. } => "updateAvailable",
            Self::OutOfDate { .. } => "outOfDate",
            Self::UpToDate => "upToDate",
            Self::Obsolete => "obsolete",
        }
    }
}

/// Where pack `listed` / `held` stands; `None` when it is neither listed nor held.
pub fn state(listed: Option<&ManifestPack>, held: Option<&Held>) -> Option<PackState> {
    Some(match (listed, held) {
        (None, None) => return None,
        (None, Some(_)) => PackState::Obsolete,
        (Some(_), None) => PackState::DownloadAvailable,
        (Some(l), Some(h)) if h.version < l.version => {
            PackState::UpdateAvailable { held: h.version }
        }
        (Some(l), Some(h)) if h.version > l.version => PackState::OutOfDate { held: h.version },
        (Some(_), Some(_)) => PackState::UpToDate,
    })
}

/// What happened that makes the app sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Occasion {
    /// The installation event, if the sync runs for one (first install, app update).
    pub event: Option<InstallationEventType>,
    /// Packs the app asks for now (on-demand packs download only so).
    pub requested: Vec<String>,
}

/// One thing a sync does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Download `pack`'s listed version; `from` is the version held, which a delta update
    /// reuses.
    Download {
        /// The manifest's entry.
        pack: ManifestPack,
        /// The version held, if any.
        from: Option<u32>,
    },
    /// Remove the local copy of an obsolete pack.
    Remove {
        /// The pack's identifier.
        id: String,
        /// The version held.
        version: u32,
    },
}

/// Whether `policy` downloads a pack the device does not hold on `occasion`.
fn due(policy: &DownloadPolicy, id: &str, occasion: &Occasion) -> bool {
    let on_event = |events: &std::collections::BTreeSet<InstallationEventType>| {
        occasion.event.is_some_and(|e| events.contains(&e))
    };
    occasion.requested.iter().any(|r| r == id)
        || match policy {
            DownloadPolicy::Essential {
                installation_event_types,
            }
            | DownloadPolicy::Prefetch {
                installation_event_types,
            } => on_event(installation_event_types),
            DownloadPolicy::OnDemand {} => false,
        }
}

/// What a sync does with `manifest`, holding `held`, on `occasion`: removals of obsolete
/// packs first (they free space), then downloads, essential packs before the others (the app
/// cannot launch without them), each group in manifest order.
pub fn plan(manifest: &DeviceManifest, held: &[Held], occasion: &Occasion) -> Vec<Step> {
    let mut steps: Vec<Step> = held
        .iter()
        .filter(|h| manifest.pack(&h.id).is_none())
        .map(|h| Step::Remove {
            id: h.id.clone(),
            version: h.version,
        })
        .collect();
    let mut downloads: Vec<(bool, Step)> = Vec::new();
    for pack in &manifest.asset_packs {
        let holding = held.iter().find(|h| h.id == pack.id);
        let wanted = match state(Some(pack), holding) {
            Some(PackState::UpToDate) | Some(PackState::Obsolete) | None => false,
            Some(PackState::UpdateAvailable { .. }) | Some(PackState::OutOfDate { .. }) => true,
            Some(PackState::DownloadAvailable) => due(&pack.download_policy, &pack.id, occasion),
        };
        if wanted {
            let essential = matches!(pack.download_policy, DownloadPolicy::Essential { .. });
            downloads.push((
                essential,
                Step::Download {
                    pack: pack.clone(),
                    from: holding.map(|h| h.version),
                },
            ));
        }
    }
    // A stable sort: essential first, manifest order kept within each group.
    downloads.sort_by_key(|(essential, _)| !essential);
    steps.extend(downloads.into_iter().map(|(_, s)| s));
    steps
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use packyard_core::Blake3Hash;

    use super::*;

    fn pack(id: &str, version: u32, policy: DownloadPolicy) -> ManifestPack {
        ManifestPack {
            id: id.into(),
            url: format!("https://edge/apps/a/packs/{id}/versions/{version}"),
            version,
            download_size: 100,
            download_policy: policy,
            archive_hash: Blake3Hash::of(id.as_bytes()),
            chunks_url: String::new(),
            pieces_url: None,
            language: None,
        }
    }

    fn on(events: &[InstallationEventType]) -> BTreeSet<InstallationEventType> {
        events.iter().copied().collect()
    }

    fn manifest() -> DeviceManifest {
        use InstallationEventType::{FirstInstallation, SubsequentUpdate};
        DeviceManifest {
            asset_packs: vec![
                pack("demand", 1, DownloadPolicy::OnDemand {}),
                pack(
                    "essential",
                    2,
                    DownloadPolicy::Essential {
                        installation_event_types: on(&[FirstInstallation, SubsequentUpdate]),
                    },
                ),
                pack(
                    "prefetch",
                    1,
                    DownloadPolicy::Prefetch {
                        installation_event_types: on(&[FirstInstallation]),
                    },
                ),
            ],
        }
    }

    fn downloads(steps: &[Step]) -> Vec<(&str, Option<u32>)> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Download { pack, from } => Some((pack.id.as_str(), *from)),
                Step::Remove { .. } => None,
            })
            .collect()
    }

    #[test]
    fn a_first_install_downloads_essential_then_prefetch_packs_and_no_on_demand_one() {
        let first = Occasion {
            event: Some(InstallationEventType::FirstInstallation),
            requested: vec![],
        };
        let steps = plan(&manifest(), &[], &first);
        assert_eq!(downloads(&steps), [("essential", None), ("prefetch", None)]);
    }

    #[test]
    fn an_app_update_downloads_only_the_packs_whose_policy_names_it() {
        let update = Occasion {
            event: Some(InstallationEventType::SubsequentUpdate),
            requested: vec![],
        };
        assert_eq!(
            downloads(&plan(&manifest(), &[], &update)),
            [("essential", None)]
        );
    }

    #[test]
    fn an_on_demand_pack_downloads_when_the_app_asks_for_it() {
        let asked = Occasion {
            event: None,
            requested: vec!["demand".into()],
        };
        assert_eq!(
            downloads(&plan(&manifest(), &[], &asked)),
            [("demand", None)]
        );
        assert!(plan(&manifest(), &[], &Occasion::default()).is_empty());
    }

    #[test]
    fn held_packs_follow_the_manifest_up_and_down_and_obsolete_ones_are_removed_first() {
        let held = [
            Held {
                id: "essential".into(),
                version: 1,
            },
            Held {
                id: "prefetch".into(),
                version: 2,
            },
            Held {
                id: "demand".into(),
                version: 1,
            },
            Held {
                id: "archived".into(),
                version: 4,
            },
        ];
        let steps = plan(&manifest(), &held, &Occasion::default());
        assert_eq!(
            steps[0],
            Step::Remove {
                id: "archived".into(),
                version: 4
            }
        );
        assert_eq!(
            downloads(&steps),
            [("essential", Some(1)), ("prefetch", Some(2))],
            "an update to 2, and back to 1 after a rollback; the on-demand pack is current"
        );
        let m = manifest();
        let state_of = |id: &str| state(m.pack(id), held.iter().find(|h| h.id == id));
        assert_eq!(
            state_of("essential"),
            Some(PackState::UpdateAvailable { held: 1 })
        );
        assert_eq!(state_of("prefetch"), Some(PackState::OutOfDate { held: 2 }));
        assert_eq!(state_of("demand"), Some(PackState::UpToDate));
        assert_eq!(state_of("archived"), Some(PackState::Obsolete));
        assert_eq!(state_of("nothing"), None);
        assert_eq!(PackState::Obsolete.as_str(), "obsolete");
    }
}
