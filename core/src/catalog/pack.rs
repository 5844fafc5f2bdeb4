//! [`Pack`]: an asset pack of an app, and the commands that create and archive it (rule R7).

use serde::{Deserialize, Serialize};

use super::command::{Command, CreatePack};
use super::envelope::{Actor, Timestamp};
use super::event::{Event, EventType};
use super::ids::{AppId, PackId, VersionId};
use super::refusal::{Refusal, Rule};
use super::release::{AppStoreState, ExternalBetaState, actor_name};
use super::resource::ResourceType;
use super::version::{Version, VersionState};
use super::{Catalog, Ctx};
use crate::AssetPackIdentifier;
use crate::role::Action;

/// Who archived a pack, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archival {
    /// Who archived it.
    pub by: Actor,
    /// When.
    pub at: Timestamp,
}

/// An asset pack (`backgroundAssets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pack {
    /// Its id.
    pub id: PackId,
    /// Its app.
    pub app: AppId,
    /// Its identifier, unique in the app forever (rule R7).
    pub identifier: AssetPackIdentifier,
    /// When it was created.
    pub created_at: Timestamp,
    /// Set once archived; archiving cannot be undone.
    pub archived: Option<Archival>,
    /// The number the next version gets (rule R11).
    pub next_number: u32,
    /// Its versions, oldest first.
    pub versions: Vec<VersionId>,
}

impl Pack {
    /// Whether it is archived.
    pub fn is_archived(&self) -> bool {
        self.archived.is_some()
    }
}

/// What keeps a version's pack from being archived (rule R7), in the SPEC's words.
fn archive_blocker(v: &Version) -> Option<String> {
    if v.state == VersionState::Processing {
        return Some(format!("version {} is PROCESSING", v.number));
    }
    let r = v.releases.as_ref()?;
    // PROCESSING_FOR_TESTING and PROCESSING_FOR_DISTRIBUTION block too: the hosted service's
    // "Processing" status covers them, and edges would otherwise fetch a version that vanishes.
    if matches!(
        r.external,
        ExternalBetaState::WaitingForReview
            | ExternalBetaState::InReview
            | ExternalBetaState::ProcessingForTesting
    ) {
        return Some(format!(
            "the external beta release of version {} is {}",
            v.number, r.external
        ));
    }
    if matches!(
        r.store,
        AppStoreState::ReadyForReview
            | AppStoreState::WaitingForReview
            | AppStoreState::InReview
            | AppStoreState::Accepted
            | AppStoreState::Rejected
            | AppStoreState::ProcessingForDistribution
    ) {
        return Some(format!(
            "the app store release of version {} is {}",
            v.number, r.store
        ));
    }
    None
}

/// The command a change of a pack's `archived` flag to `archived` asks for: archiving it
/// (rule R7). Archiving cannot be undone, so `false` is refused, naming the field.
pub fn set_archived(pack: PackId, archived: bool) -> Result<Command, Refusal> {
    if archived {
        Ok(Command::ArchivePack { pack })
    } else {
        Err(Refusal::invalid(
            "archived",
            "archiving cannot be undone (rule R7); only archived: true is accepted",
        ))
    }
}

impl Catalog {
    /// `CreatePack`: a new, empty pack. Refused when the identifier belongs to a live pack
    /// or ever belonged to an archived one of this app (R7), or when the app already has its
    /// quota of live packs (R9).
    pub(super) fn create_pack(
        &mut self,
        ctx: &Ctx,
        new: CreatePack,
    ) -> Result<Vec<Event>, Refusal> {
        let CreatePack {
            id,
            app: app_id,
            identifier,
        } = new;
        self.find_app(&app_id)?;
        self.authorize(&ctx.actor, &app_id, Action::CreatePack)?;
        self.unused(&self.packs, &id, ResourceType::BackgroundAssets)?;
        let mut live = 0;
        for pack in self.packs_of(&app_id) {
            if pack.identifier == identifier {
                return Err(match pack.archived {
                    Some(_) => Refusal::by_rule(
                        Rule::R7,
                        format!(
                            "identifier {identifier} belonged to an archived pack of this app \
                             and can never be used again; choose another identifier"
                        ),
                    ),
                    None => Refusal::conflict(format!(
                        "this app already has a pack with identifier {identifier} ({})",
                        pack.id
                    )),
                });
            }
            live += usize::from(!pack.is_archived());
        }
        if live >= self.limits.max_packs {
            return Err(Refusal::by_rule(
                Rule::R9,
                format!(
                    "this app already has {live} packs, its limit; archive a pack you no longer \
                     need to make room"
                ),
            ));
        }
        let pack = Pack {
            id: id.clone(),
            app: app_id.clone(),
            identifier,
            created_at: ctx.at,
            archived: None,
            next_number: 1,
            versions: Vec::new(),
        };
        if let Some(app) = self.apps.get_mut(&app_id) {
            app.packs.push(id.clone());
        }
        self.packs.insert(id, pack);
        Ok(Vec::new())
    }

    /// `ArchivePack`: removes every version of the pack from every channel, including the
    /// live store one, and frees its quota (R7). The release records keep their last states
    /// as history; what leaves the channels is the pack, which serving no longer includes.
    /// Members who enabled notifications are told, with who archived it.
    pub(super) fn archive_pack(&mut self, ctx: &Ctx, id: &PackId) -> Result<Vec<Event>, Refusal> {
        let pack = self.find_pack(id)?;
        self.authorize(&ctx.actor, &pack.app, Action::Archive)?;
        if pack.is_archived() {
            return Err(Refusal::conflict(format!(
                "pack {} is already archived",
                pack.identifier
            )));
        }
        let app = self.find_app(&pack.app)?;
        if app.transfer_in_progress {
            return Err(Refusal::by_rule(
                Rule::R7,
                format!(
                    "app {} is being transferred to another account; packs can be archived \
                     once the transfer is over",
                    app.name
                ),
            ));
        }
        let blocker = pack
            .versions
            .iter()
            .filter_map(|v| self.versions.get(v))
            .find_map(archive_blocker);
        if let Some(blocker) = blocker {
            return Err(Refusal::by_rule(
                Rule::R7,
                format!(
                    "pack {} cannot be archived while {blocker}; wait until it is over",
                    pack.identifier
                ),
            ));
        }
        let who = actor_name(self, &ctx.actor);
        let detail = format!("asset pack {} was archived by {who}", pack.identifier);
        let app_id = pack.app.clone();
        let notify = self.members_with(&app_id, |_| true);
        let notify = notify
            .into_iter()
            .filter(|u| self.user(u).is_some_and(|u| u.notifications))
            .collect();
        if let Some(pack) = self.packs.get_mut(id) {
            pack.archived = Some(Archival {
                by: ctx.actor.clone(),
                at: ctx.at,
            });
        }
        let mut event = ctx.event(
            EventType::BackgroundAssetArchived,
            app_id,
            ResourceType::BackgroundAssets,
            id.as_str(),
            None,
            None,
        );
        event.detail = Some(detail);
        event.notify = notify;
        Ok(vec![event])
    }
}
