//! [`follow`]: keeps the origin's [`CatalogView`] in step with the control plane's watch
//! stream, through the follower the edge shares ([`packyard_catalog_client::follow`]:
//! reconnect with backoff, resume after the last index handled).

use std::sync::{Arc, Mutex};

use packyard_catalog_client::{CatalogClient, FollowTiming, Stop, WatchView};
use packyard_proto::catalog::v1 as pb;

use super::view::CatalogView;
use crate::control::{ControlPlane, ProcessingVersion};

impl WatchView for CatalogView {
    type Applied = Vec<ProcessingVersion>;

    fn resume_from(&self) -> u64 {
        CatalogView::resume_from(self)
    }

    fn apply(&mut self, event: &pb::WatchEvent) -> Self::Applied {
        CatalogView::apply(self, event)
    }
}

/// Follows the watch stream until `stop`: starts from a snapshot (index 0), applies every
/// event to `view`, and hands each version announced as awaiting processing to `announce`.
pub async fn follow(
    control: ControlPlane,
    watcher_id: String,
    view: Arc<Mutex<CatalogView>>,
    announce: impl Fn(ProcessingVersion) + Send,
    stop: Stop,
) {
    let client = CatalogClient::from_members(control.members().clone());
    let applied = move |versions: Vec<ProcessingVersion>| versions.into_iter().for_each(&announce);
    packyard_catalog_client::follow(
        client,
        watcher_id,
        view,
        applied,
        FollowTiming::default(),
        stop,
    )
    .await;
}
