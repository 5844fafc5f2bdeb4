//! [`App`] and its [`Build`]s, and the commands that create and change them.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::command::{CreateApp, RegisterBuild, SetTransferInProgress};
use super::envelope::{Actor, Timestamp};
use super::event::Event;
use super::ids::{AppId, BuildId, PackId};
use super::refusal::Refusal;
use super::resource::ResourceType;
use super::{Catalog, Ctx};
use crate::LanguageTag;
use crate::role::{Action, Role};

state_enum! {
    /// A channel an app build is available on (`channels` of `builds`).
    BuildChannel {
        /// Internal testing.
        Internal = "INTERNAL",
        /// External testing (rule R4).
        External = "EXTERNAL",
        /// The app store.
        AppStore = "APP_STORE",
    }
}

/// An app build registered for one or more channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    /// Its id.
    pub id: BuildId,
    /// Its app.
    pub app: AppId,
    /// The build number, unique in the app.
    pub build_number: String,
    /// Where it is available.
    pub channels: BTreeSet<BuildChannel>,
    /// When it was registered.
    pub created_at: Timestamp,
}

/// An app (`apps`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    /// Its id.
    pub id: AppId,
    /// Its name.
    pub name: String,
    /// Its bundle id, unique among apps.
    pub bundle_id: String,
    /// The language devices fall back to (rule R10).
    pub primary_language: LanguageTag,
    /// Set while the app moves to another account; blocks archiving (rule R7).
    pub transfer_in_progress: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// Its packs, live and archived, in creation order.
    pub packs: Vec<PackId>,
    /// Its builds, in registration order.
    pub builds: Vec<BuildId>,
}

impl Catalog {
    /// `CreateApp`: any known user may create an app and becomes its Account Holder. Packyard
    /// itself may create one too (for bootstrap), which then has no Account Holder yet.
    pub(super) fn create_app(&mut self, ctx: &Ctx, new: CreateApp) -> Result<Vec<Event>, Refusal> {
        let app = App {
            id: new.id,
            name: new.name,
            bundle_id: new.bundle_id,
            primary_language: new.primary_language,
            transfer_in_progress: false,
            created_at: ctx.at,
            packs: Vec::new(),
            builds: Vec::new(),
        };
        if let Actor::User(user) = &ctx.actor {
            self.check_apps_held(self.find_user(user)?)?;
        }
        self.unused(&self.apps, &app.id, ResourceType::Apps)?;
        if app.name.trim().is_empty() {
            return Err(Refusal::invalid("name", "is empty; give the app a name"));
        }
        self.check_name("name", &app.name)?;
        if app.bundle_id.trim().is_empty() {
            return Err(Refusal::invalid(
                "bundleId",
                "is empty; give the app's bundle id",
            ));
        }
        self.check_name("bundleId", &app.bundle_id)?;
        if self.apps.values().any(|a| a.bundle_id == app.bundle_id) {
            // Which app holds it is not said: it may be another account's.
            return Err(Refusal::conflict(format!(
                "bundle id {} is already registered to another app; each app has its own",
                app.bundle_id
            )));
        }
        if let Actor::User(user) = &ctx.actor
            && let Some(user) = self.users.get_mut(user)
        {
            user.roles
                .entry(app.id.clone())
                .or_default()
                .insert(Role::AccountHolder);
        }
        self.apps.insert(app.id.clone(), app);
        Ok(Vec::new())
    }

    /// `SetTransferInProgress`: the Account Holder marks the app as moving to another account
    /// (which blocks archiving), or clears the mark.
    pub(super) fn set_transfer_in_progress(
        &mut self,
        ctx: &Ctx,
        set: SetTransferInProgress,
    ) -> Result<Vec<Event>, Refusal> {
        self.find_app(&set.app)?;
        self.authorize(&ctx.actor, &set.app, Action::Transfer)?;
        if let Some(app) = self.apps.get_mut(&set.app) {
            app.transfer_in_progress = set.in_progress;
        }
        Ok(Vec::new())
    }

    /// `RegisterBuild`: a build of the app becomes available on `channels` (rule R4).
    pub(super) fn register_build(
        &mut self,
        ctx: &Ctx,
        new: RegisterBuild,
    ) -> Result<Vec<Event>, Refusal> {
        let build = Build {
            id: new.id,
            app: new.app,
            build_number: new.build_number,
            channels: new.channels,
            created_at: ctx.at,
        };
        let app = self.find_app(&build.app)?;
        self.authorize(&ctx.actor, &build.app, Action::RegisterBuild)?;
        self.unused(&self.builds, &build.id, ResourceType::Builds)?;
        if build.build_number.trim().is_empty() {
            return Err(Refusal::invalid(
                "buildNumber",
                "is empty; give the build number",
            ));
        }
        self.check_name("buildNumber", &build.build_number)?;
        if build.channels.is_empty() {
            return Err(Refusal::invalid(
                "channels",
                "is empty; name at least one of INTERNAL, EXTERNAL, APP_STORE",
            ));
        }
        let taken = app
            .builds
            .iter()
            .filter_map(|b| self.builds.get(b))
            .find(|b| b.build_number == build.build_number);
        if let Some(taken) = taken {
            return Err(Refusal::conflict(format!(
                "this app already has build number {} ({})",
                build.build_number, taken.id
            )));
        }
        if let Some(app) = self.apps.get_mut(&build.app) {
            app.builds.push(build.id.clone());
        }
        self.builds.insert(build.id.clone(), build);
        Ok(Vec::new())
    }

    /// Whether the app has a build available for external testing (rule R4).
    pub(super) fn app_has_external_build(&self, app: &AppId) -> bool {
        self.apps.get(app).is_some_and(|a| {
            a.builds
                .iter()
                .filter_map(|b| self.builds.get(b))
                .any(|b| b.channels.contains(&BuildChannel::External))
        })
    }
}
