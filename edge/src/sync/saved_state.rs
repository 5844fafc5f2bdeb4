//! [`SavedState`]: the edge's serving state kept on its own disk, so that an edge restarted
//! while the control plane is down or out of reach serves what it holds at once.
//!
//! What is kept is the watch stream itself, in `data_dir/state/`: the last snapshot
//! (`snapshot.bin`, replaced atomically) and every event with changes after it
//! (`events.log`, appended). Each is stored as frames of a length, the first 8 bytes of the
//! payload's BLAKE3 and a protobuf `WatchEvent`. Replaying the snapshot and then the events
//! into an empty [`ServingState`](crate::state::ServingState) gives the state the edge had,
//! and its follower resumes after the last one. A frame torn by a crash ends the replay
//! there: the follower resumes from the last event kept and the control plane sends the
//! rest again. Heartbeats are not kept (they change nothing).
//!
//! The log is kept short by [`SavedState::compact`] with a newer snapshot (see
//! [`keep_short`]). When a write fails (a full disk), the saved state is dropped rather
//! than left with a gap, and is written again from the next snapshot.
//!
//! The tester-token public keys the control plane handed over are kept beside it
//! (`tester-token-keys`) so that beta channels open after a restart too; a key rotated while
//! the edge was away is fetched as soon as the edge registers.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use packyard_catalog_client::{CatalogClient, Stop};
use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::watch_event::Body;
use prost::Message;

const SNAPSHOT: &str = "snapshot.bin";
const EVENTS: &str = "events.log";
const SECRET: &str = "tester-token-keys";
/// Length (4 bytes, little endian) and checksum (8 bytes) before each payload.
const HEADER: usize = 12;
/// A single frame above this is taken for damage, not a catalog.
const MAX_FRAME: usize = 1 << 30;
/// Events logged after the snapshot before a newer snapshot replaces them.
pub const COMPACT_AFTER: u64 = 10_000;

/// The saved state of one edge. See the module documentation.
#[derive(Debug)]
pub struct SavedState {
    dir: PathBuf,
    /// The log, open for appending, while a snapshot is saved.
    log: Option<File>,
    /// Events in the log.
    logged: u64,
}

impl SavedState {
    /// Opens (creating) the saved state in `dir` and returns what to replay: the snapshot,
    /// then the events after it, in order. Empty when nothing usable is saved. A torn or
    /// damaged tail of the log is cut off.
    pub fn open(dir: &Path) -> io::Result<(Self, Vec<pb::WatchEvent>)> {
        std::fs::create_dir_all(dir)?;
        let mut saved = Self {
            dir: dir.to_owned(),
            log: None,
            logged: 0,
        };
        let snapshot = match read_frames(&dir.join(SNAPSHOT))? {
            (frames, _) if frames.len() == 1 => decode(&frames[0]),
            _ => None,
        };
        let Some(snapshot) = snapshot.filter(|e| matches!(e.body, Some(Body::Snapshot(_)))) else {
            saved.forget();
            return Ok((saved, Vec::new()));
        };
        let (frames, _) = read_frames(&dir.join(EVENTS))?;
        let mut events = vec![snapshot];
        for frame in &frames {
            match decode(frame) {
                Some(event) => events.push(event),
                None => break,
            }
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(EVENTS))?;
        let kept: u64 = frames[..events.len() - 1]
            .iter()
            .map(|f| (HEADER + f.len()) as u64)
            .sum();
        if log.metadata()?.len() != kept {
            log.set_len(kept)?;
        }
        saved.logged = (events.len() - 1) as u64;
        saved.log = Some(log);
        Ok((saved, events))
    }

    /// Records an event the serving state has just applied: a snapshot replaces what is
    /// saved, changes are appended, heartbeats are not kept. A failed write drops the saved
    /// state (a gap must not be replayed) until the next snapshot.
    pub fn record(&mut self, event: &pb::WatchEvent) {
        let written = match &event.body {
            Some(Body::Snapshot(_)) => self.replace(event, &[]),
            Some(Body::Changes(_)) => match &mut self.log {
                Some(log) => append(log, &event.encode_to_vec()).map(|()| self.logged += 1),
                None => Ok(()),
            },
            Some(Body::Heartbeat(_)) | None => Ok(()),
        };
        if let Err(e) = written {
            tracing::warn!(error = %e, dir = %self.dir.display(), "cannot save the serving state; a restart will wait for the control plane");
            self.forget();
        }
    }

    /// Whether a newer snapshot should replace what is saved: nothing is, or the log is long.
    pub fn wants_snapshot(&self) -> bool {
        self.log.is_none() || self.logged >= COMPACT_AFTER
    }

    /// Replaces the saved snapshot with `snapshot` (a newer one, fetched apart from the
    /// follower) and keeps only the logged events after it.
    pub fn compact(&mut self, snapshot: &pb::WatchEvent) -> io::Result<()> {
        let (frames, _) = read_frames(&self.dir.join(EVENTS))?;
        let after: Vec<Vec<u8>> = frames
            .into_iter()
            .filter(|f| decode(f).is_some_and(|e| e.index > snapshot.index))
            .collect();
        let result = self.replace(snapshot, &after);
        if result.is_err() {
            self.forget();
        }
        result
    }

    /// Writes `snapshot` and a log of `events` (encoded), each atomically.
    fn replace(&mut self, snapshot: &pb::WatchEvent, events: &[Vec<u8>]) -> io::Result<()> {
        self.log = None;
        // The old snapshot goes first: a crash before the new one lands leaves no snapshot,
        // so nothing is replayed (the edge waits for the control plane), never an old
        // snapshot with a log that lacks the events between.
        remove_if_present(&self.dir.join(SNAPSHOT))?;
        let mut log = Vec::new();
        for e in events {
            frame_into(&mut log, e);
        }
        write_atomically(&self.dir.join(EVENTS), &log, false)?;
        let mut snap = Vec::new();
        frame_into(&mut snap, &snapshot.encode_to_vec());
        write_atomically(&self.dir.join(SNAPSHOT), &snap, false)?;
        self.log = Some(
            OpenOptions::new()
                .append(true)
                .open(self.dir.join(EVENTS))?,
        );
        self.logged = events.len() as u64;
        Ok(())
    }

    /// Drops the saved state, so that nothing with a gap is ever replayed.
    fn forget(&mut self) {
        self.log = None;
        self.logged = 0;
        for name in [SNAPSHOT, EVENTS] {
            if let Err(e) = remove_if_present(&self.dir.join(name)) {
                tracing::warn!(error = %e, file = name, "cannot remove the saved serving state");
            }
        }
    }

    /// The tester-token public keys saved, and the generation of the newest.
    pub fn secret(&self) -> Option<(Vec<u8>, u64)> {
        let bytes = std::fs::read(self.dir.join(SECRET)).ok()?;
        let (frames, _) = frames_of(&bytes);
        let frame = frames.first()?;
        let generation = u64::from_le_bytes(frame.get(..8)?.try_into().ok()?);
        Some((frame[8..].to_vec(), generation))
    }

    /// Saves the tester-token public keys in force (mode 0600, as every file of the state).
    pub fn save_secret(&self, secret: &[u8], generation: u64) -> io::Result<()> {
        let mut payload = generation.to_le_bytes().to_vec();
        payload.extend_from_slice(secret);
        let mut bytes = Vec::new();
        frame_into(&mut bytes, &payload);
        write_atomically(&self.dir.join(SECRET), &bytes, true)
    }
}

/// Keeps `saved` short: every `every`, when it wants a snapshot, fetches one from the
/// control plane (a watch from index 0, closed after its first event) and compacts.
pub async fn keep_short(
    client: CatalogClient,
    watcher_id: String,
    saved: Arc<Mutex<SavedState>>,
    every: Duration,
    stop: Stop,
) {
    while stop.sleep(every).await {
        if !saved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .wants_snapshot()
        {
            continue;
        }
        let first = tokio::select! {
            () = stop.stopped() => return,
            first = async {
                let (_, mut stream) = client.watch(0, &watcher_id).await?;
                stream.message().await
            } => first,
        };
        match first {
            Ok(Some(snapshot)) if matches!(snapshot.body, Some(Body::Snapshot(_))) => {
                let mut saved = saved.lock().unwrap_or_else(PoisonError::into_inner);
                match saved.compact(&snapshot) {
                    Ok(()) => tracing::info!(
                        index = snapshot.index,
                        "saved a newer snapshot of the serving state"
                    ),
                    Err(e) => tracing::warn!(error = %e, "cannot save the serving state"),
                }
            }
            Ok(_) => tracing::warn!("the control plane's watch stream began without a snapshot"),
            Err(status) => {
                tracing::debug!(error = %status, "cannot fetch a snapshot to save; later")
            }
        }
    }
}

fn decode(frame: &[u8]) -> Option<pb::WatchEvent> {
    pb::WatchEvent::decode(frame).ok()
}

fn checksum(payload: &[u8]) -> [u8; 8] {
    let hash = blake3::hash(payload);
    let mut out = [0; 8];
    out.copy_from_slice(&hash.as_bytes()[..8]);
    out
}

fn frame_into(out: &mut Vec<u8>, payload: &[u8]) {
    let len = u32::try_from(payload.len()).expect("a frame is under 4 GiB");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&checksum(payload));
    out.extend_from_slice(payload);
}

fn append(log: &mut File, payload: &[u8]) -> io::Result<()> {
    let mut frame = Vec::with_capacity(HEADER + payload.len());
    frame_into(&mut frame, payload);
    log.write_all(&frame)
}

/// The whole frames of a file (none when it is missing) and the bytes they take.
fn read_frames(path: &Path) -> io::Result<(Vec<Vec<u8>>, u64)> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    }
    Ok(frames_of(&bytes))
}

/// The frames of `bytes` up to the first torn or damaged one, and the bytes they take.
fn frames_of(bytes: &[u8]) -> (Vec<Vec<u8>>, u64) {
    let mut frames = Vec::new();
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + HEADER) {
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        if len > MAX_FRAME {
            break;
        }
        let Some(payload) = bytes.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        if checksum(payload) != header[4..] {
            break;
        }
        frames.push(payload.to_vec());
        at += HEADER + len;
    }
    (frames, at as u64)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Writes `bytes` to `path` through a synced temporary file renamed over it.
fn write_atomically(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(index: u64, app: &str) -> pb::WatchEvent {
        pb::WatchEvent {
            index,
            body: Some(Body::Snapshot(pb::Snapshot {
                apps: vec![pb::App {
                    app_id: app.into(),
                    primary_language: "en".into(),
                }],
                ..pb::Snapshot::default()
            })),
        }
    }

    fn changes(index: u64) -> pb::WatchEvent {
        pb::WatchEvent {
            index,
            body: Some(Body::Changes(pb::Changes::default())),
        }
    }

    fn heartbeat(index: u64) -> pb::WatchEvent {
        pb::WatchEvent {
            index,
            body: Some(Body::Heartbeat(pb::Heartbeat {})),
        }
    }

    fn indices(events: &[pb::WatchEvent]) -> Vec<u64> {
        events.iter().map(|e| e.index).collect()
    }

    #[test]
    fn a_snapshot_and_the_changes_after_it_replay_in_order_without_heartbeats() {
        let dir = tempfile::tempdir().unwrap();
        let (mut saved, replay) = SavedState::open(dir.path()).unwrap();
        assert!(replay.is_empty() && saved.wants_snapshot());
        saved.record(&changes(3)); // before any snapshot: nothing to add it to
        saved.record(&snapshot(5, "app-1"));
        saved.record(&changes(6));
        saved.record(&heartbeat(7));
        saved.record(&changes(8));
        assert!(!saved.wants_snapshot());
        drop(saved);
        let (_, replay) = SavedState::open(dir.path()).unwrap();
        assert_eq!(indices(&replay), [5, 6, 8]);
        assert_eq!(replay[0], snapshot(5, "app-1"));
    }

    #[test]
    fn a_torn_last_frame_ends_the_replay_and_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let (mut saved, _) = SavedState::open(dir.path()).unwrap();
        saved.record(&snapshot(5, "app-1"));
        saved.record(&changes(6));
        saved.record(&changes(7));
        drop(saved);
        let log = dir.path().join(EVENTS);
        let len = std::fs::metadata(&log).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&log)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let (mut saved, replay) = SavedState::open(dir.path()).unwrap();
        assert_eq!(indices(&replay), [5, 6]);
        saved.record(&changes(7));
        drop(saved);
        let (_, replay) = SavedState::open(dir.path()).unwrap();
        assert_eq!(
            indices(&replay),
            [5, 6, 7],
            "appends follow the last good frame"
        );
    }

    #[test]
    fn a_damaged_snapshot_replays_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (mut saved, _) = SavedState::open(dir.path()).unwrap();
        saved.record(&snapshot(5, "app-1"));
        saved.record(&changes(6));
        drop(saved);
        let path = dir.path().join(SNAPSHOT);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        let (saved, replay) = SavedState::open(dir.path()).unwrap();
        assert!(replay.is_empty());
        assert!(saved.wants_snapshot());
        assert!(
            !dir.path().join(EVENTS).exists(),
            "no log without its snapshot"
        );
    }

    #[test]
    fn compaction_keeps_only_the_events_after_the_newer_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let (mut saved, _) = SavedState::open(dir.path()).unwrap();
        saved.record(&snapshot(5, "app-1"));
        for i in 6..=10 {
            saved.record(&changes(i));
        }
        saved.compact(&snapshot(8, "app-2")).unwrap();
        saved.record(&changes(11));
        drop(saved);
        let (_, replay) = SavedState::open(dir.path()).unwrap();
        assert_eq!(indices(&replay), [8, 9, 10, 11]);
        assert_eq!(replay[0], snapshot(8, "app-2"));
    }

    #[test]
    fn the_secret_is_kept_private_with_its_generation() {
        let dir = tempfile::tempdir().unwrap();
        let (saved, _) = SavedState::open(dir.path()).unwrap();
        assert_eq!(saved.secret(), None);
        saved
            .save_secret(b"0123456789abcdef0123456789abcdef", 3)
            .unwrap();
        assert_eq!(
            saved.secret(),
            Some((b"0123456789abcdef0123456789abcdef".to_vec(), 3))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
