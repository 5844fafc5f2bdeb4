//! [`EdgeView`]: the serving state as the shared follower sees it.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use packyard_catalog_client::WatchView;
use packyard_proto::catalog::v1 as pb;

use super::SavedState;
use crate::state::{Applied, ServingState};

/// The edge's [`ServingState`] behind the lock requests read it through. The follower holds
/// this view alone; each event takes the write lock once, so a request sees an entry's
/// changes all or none. Each event applied is then saved, when the edge saves its state.
#[derive(Debug, Clone)]
pub struct EdgeView {
    state: Arc<RwLock<ServingState>>,
    saved: Option<Arc<Mutex<SavedState>>>,
}

impl EdgeView {
    /// A view writing into `state`.
    pub fn new(state: Arc<RwLock<ServingState>>) -> Self {
        Self { state, saved: None }
    }

    /// A view that also records every event applied in `saved`.
    pub fn saving(state: Arc<RwLock<ServingState>>, saved: Arc<Mutex<SavedState>>) -> Self {
        Self {
            state,
            saved: Some(saved),
        }
    }
}

impl WatchView for EdgeView {
    type Applied = (Applied, u64, u64);

    fn resume_from(&self) -> u64 {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .resume_from()
    }

    /// What the event changed, the index applied and the lag after it.
    fn apply(&mut self, event: &pb::WatchEvent) -> Self::Applied {
        let (applied, index, lag) = {
            let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
            let applied = state.apply(event);
            (applied, state.applied_index(), state.lag())
        };
        if let Some(saved) = &self.saved {
            saved
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .record(event);
        }
        (applied, index, lag)
    }
}
