//! [`stall`]: when a version that will never be processed as it stands is failed, so the
//! quota it holds is freed (rule R9) and the origin sweeps its staged parts.
//!
//! A version holds quota and staged bytes from its first reservation until processing
//! reports. Three things keep it from ever getting there, each given its own time:
//! - a file reserved and never committed: the reservation's lifetime from its reservation;
//! - every file committed but none of them the archive (a lone MANIFEST), so processing
//!   never starts: the reservation's lifetime from the newest reservation, the time the
//!   uploader had to reserve the archive as well;
//! - processing started and never reported (an origin gone, a report lost): the processing
//!   deadline from the commit that started it. It is configured apart from, and normally
//!   longer than, the reservation's lifetime, so a slow origin is not failed under a
//!   version it is still chunking.
//!
//! These are plain functions over plain facts; the catalog gathers the facts of a version
//! and its files, and fails the version with the reason [`stall`] gives.

/// How long uploads may take, from the control plane's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// A reservation's lifetime, in milliseconds.
    pub reservation_ms: u64,
    /// How long processing may take once every file is committed, in milliseconds.
    pub processing_ms: u64,
}

/// Where a version is on its way to being processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Files are being reserved, uploaded and committed.
    AwaitingUpload,
    /// Every file is committed, the archive among them; an origin is processing it.
    Processing,
    /// COMPLETE or FAILED: nothing expires.
    Settled,
}

/// What the rule needs to know of one upload file of the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileFacts {
    /// Whether it is the archive (`ASSET`), which processing needs.
    pub archive: bool,
    /// When it was reserved, in milliseconds.
    pub reserved_at: u64,
    /// When it was committed, in milliseconds; `None` while it awaits its upload. A file
    /// committed before commit times were recorded counts as committed at its reservation.
    pub committed_at: Option<u64>,
}

/// Why a version is failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// The file at this index of the facts given was not committed within the reservation's
    /// lifetime.
    NotCommitted(usize),
    /// Every file was committed, none of them the archive, and no archive was reserved
    /// within the lifetime of the newest reservation.
    NoArchive,
    /// Processing was not reported within the processing deadline of the last commit.
    NotProcessed,
}

/// Whether a version in `phase` with `files` (in reservation order) is to be failed at
/// `now` (milliseconds), and why; `None` while it may still be processed. A version with no
/// files holds neither quota nor staged bytes and never expires.
pub fn stall(phase: Phase, files: &[FileFacts], now: u64, deadlines: Deadlines) -> Option<Stall> {
    let over = |from: u64, ms: u64| now >= from.saturating_add(ms);
    let newest_reservation = files.iter().map(|f| f.reserved_at).max()?;
    match phase {
        Phase::Settled => None,
        Phase::AwaitingUpload => {
            let uncommitted = files
                .iter()
                .enumerate()
                .filter(|(_, f)| f.committed_at.is_none());
            let mut any_uncommitted = false;
            for (i, f) in uncommitted {
                any_uncommitted = true;
                if over(f.reserved_at, deadlines.reservation_ms) {
                    return Some(Stall::NotCommitted(i));
                }
            }
            let no_archive = !any_uncommitted && !files.iter().any(|f| f.archive);
            (no_archive && over(newest_reservation, deadlines.reservation_ms))
                .then_some(Stall::NoArchive)
        }
        Phase::Processing => {
            let started = files
                .iter()
                .map(|f| f.committed_at.unwrap_or(f.reserved_at))
                .max()?;
            over(started, deadlines.processing_ms).then_some(Stall::NotProcessed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600_000;
    const DEADLINES: Deadlines = Deadlines {
        reservation_ms: 24 * HOUR,
        processing_ms: 48 * HOUR,
    };

    fn file(archive: bool, reserved_at: u64, committed_at: Option<u64>) -> FileFacts {
        FileFacts {
            archive,
            reserved_at,
            committed_at,
        }
    }

    #[test]
    fn a_file_never_committed_expires_at_its_reservations_lifetime() {
        let files = [file(false, 0, Some(HOUR)), file(true, 2 * HOUR, None)];
        let at = |now| stall(Phase::AwaitingUpload, &files, now, DEADLINES);
        assert_eq!(at(26 * HOUR - 1), None);
        assert_eq!(at(26 * HOUR), Some(Stall::NotCommitted(1)));
    }

    #[test]
    fn the_first_file_reserved_expires_first() {
        let files = [file(true, 5 * HOUR, None), file(false, HOUR, None)];
        let at = |now| stall(Phase::AwaitingUpload, &files, now, DEADLINES);
        assert_eq!(at(25 * HOUR), Some(Stall::NotCommitted(1)));
        assert_eq!(at(30 * HOUR), Some(Stall::NotCommitted(0)));
    }

    #[test]
    fn a_lone_committed_manifest_expires_at_the_lifetime_of_the_newest_reservation() {
        let files = [file(false, HOUR, Some(2 * HOUR))];
        let at = |now| stall(Phase::AwaitingUpload, &files, now, DEADLINES);
        assert_eq!(at(25 * HOUR - 1), None);
        assert_eq!(at(25 * HOUR), Some(Stall::NoArchive));
    }

    #[test]
    fn an_archive_still_uploading_keeps_a_committed_manifest_waiting() {
        let files = [file(false, 0, Some(HOUR)), file(true, 20 * HOUR, None)];
        let at = |now| stall(Phase::AwaitingUpload, &files, now, DEADLINES);
        assert_eq!(at(44 * HOUR - 1), None, "the archive's own lifetime holds");
        assert_eq!(at(44 * HOUR), Some(Stall::NotCommitted(1)));
    }

    #[test]
    fn processing_expires_at_the_processing_deadline_of_the_last_commit_not_before() {
        let files = [
            file(true, 0, Some(10 * HOUR)),
            file(false, HOUR, Some(3 * HOUR)),
        ];
        let at = |now| stall(Phase::Processing, &files, now, DEADLINES);
        assert_eq!(
            at(24 * HOUR),
            None,
            "the reservation's lifetime does not apply"
        );
        assert_eq!(at(58 * HOUR - 1), None);
        assert_eq!(at(58 * HOUR), Some(Stall::NotProcessed));
        // A file committed before commit times were kept counts from its reservation.
        let old = [file(true, 5 * HOUR, None)];
        assert_eq!(
            stall(Phase::Processing, &old, 53 * HOUR, DEADLINES),
            Some(Stall::NotProcessed)
        );
    }

    #[test]
    fn settled_versions_and_versions_without_files_never_expire() {
        let files = [file(true, 0, None)];
        assert_eq!(stall(Phase::Settled, &files, u64::MAX, DEADLINES), None);
        assert_eq!(stall(Phase::AwaitingUpload, &[], u64::MAX, DEADLINES), None);
        assert_eq!(stall(Phase::Processing, &[], u64::MAX, DEADLINES), None);
    }

    #[test]
    fn deadlines_past_the_end_of_time_never_come() {
        let far = Deadlines {
            reservation_ms: u64::MAX,
            processing_ms: u64::MAX,
        };
        let files = [file(false, 5, Some(6))];
        assert_eq!(
            stall(Phase::AwaitingUpload, &files, u64::MAX - 1, far),
            None
        );
    }
}
