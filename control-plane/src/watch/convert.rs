//! Conversions from the catalog's [`ServingChange`]s to the watch stream's messages: the one
//! place where the domain meets `packyard.catalog.v1`.

use packyard_core::catalog::{Channel, ServingChange, VersionMetadata};
use packyard_proto::catalog::v1 as pb;

/// The channel as the contract spells it.
fn channel(c: Channel) -> pb::Channel {
    match c {
        Channel::Internal => pb::Channel::Internal,
        Channel::External => pb::Channel::External,
        Channel::Store => pb::Channel::Store,
    }
}

fn version_completed(change: &ServingChange) -> Option<pb::VersionCompleted> {
    let ServingChange::VersionCompleted {
        app,
        pack,
        identifier,
        number,
        size,
        chunk_list,
        metadata,
    } = change
    else {
        return None;
    };
    let VersionMetadata {
        download_policy,
        platforms,
        language,
    } = metadata;
    Some(pb::VersionCompleted {
        app_id: app.to_string(),
        pack_id: pack.to_string(),
        asset_pack_identifier: identifier.to_string(),
        version: *number,
        size: *size,
        archive_hash: chunk_list.archive_hash().as_bytes().to_vec(),
        chunks: chunk_list
            .chunks()
            .iter()
            .map(|c| pb::Chunk {
                id: c.id.as_bytes().to_vec(),
                length: c.len,
            })
            .collect(),
        // A download policy always serializes: it is an enum of plain sets.
        download_policy_json: serde_json::to_string(download_policy).unwrap_or_default(),
        platforms: platforms
            .iter()
            .map(|p| p.manifest_name().to_owned())
            .collect(),
        language: language
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    })
}

/// One change, as the contract spells it.
pub(super) fn change(change: &ServingChange) -> pb::change::Change {
    use pb::change::Change as C;
    match change {
        ServingChange::App {
            app,
            primary_language,
        } => C::App(pb::App {
            app_id: app.to_string(),
            primary_language: primary_language.to_string(),
        }),
        ServingChange::VersionCompleted { .. } => {
            C::VersionCompleted(version_completed(change).unwrap_or_default())
        }
        ServingChange::ChannelUpdated {
            app,
            pack,
            channel: c,
            number,
        } => C::ChannelUpdated(pb::ChannelUpdated {
            app_id: app.to_string(),
            pack_id: pack.to_string(),
            channel: channel(*c).into(),
            version: number.unwrap_or(0),
        }),
        ServingChange::PackArchived { app, pack } => C::PackArchived(pb::PackArchived {
            app_id: app.to_string(),
            pack_id: pack.to_string(),
        }),
    }
}

/// Everything one log entry changed.
pub(super) fn changes(changes: &[ServingChange]) -> pb::Changes {
    pb::Changes {
        items: changes
            .iter()
            .map(|c| pb::Change {
                change: Some(change(c)),
            })
            .collect(),
    }
}

/// A full snapshot, from the changes that rebuild the serving state from nothing.
pub(super) fn snapshot(changes: &[ServingChange]) -> pb::Snapshot {
    let mut snapshot = pb::Snapshot::default();
    for c in changes {
        match self::change(c) {
            pb::change::Change::App(a) => snapshot.apps.push(a),
            pb::change::Change::VersionCompleted(v) => snapshot.versions.push(v),
            pb::change::Change::ChannelUpdated(u) => snapshot.channels.push(u),
            pb::change::Change::PackArchived(a) => snapshot.archived_pack_ids.push(a.pack_id),
            pb::change::Change::Rollout(_) | pb::change::Change::UploadCommitted(_) => {}
        }
    }
    snapshot
}
