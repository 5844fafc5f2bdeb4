//! [`ChunkingParams`]: the FastCDC minimum, average and maximum chunk sizes, checked once.

use packyard_core::chunk_list::MAX_CHUNK_LEN;

const KIB: u32 = 1 << 10;
const MIB: u32 = 1 << 20;

/// The smallest average chunk size the SPEC allows (§1).
pub const MIN_AVG_CHUNK_LEN: u32 = 64 * KIB;
/// The largest average chunk size the SPEC allows (§1).
pub const MAX_AVG_CHUNK_LEN: u32 = MIB;

/// FastCDC's own limits (`fastcdc::v2020::{MINIMUM_MIN, AVERAGE_MIN, MAXIMUM_MAX}`), which it
/// checks only with debug assertions; we check them always.
const FASTCDC_MIN_MIN: u32 = 64;
const FASTCDC_MIN_MAX: u32 = MIB;
const FASTCDC_AVG_MIN: u32 = 256;
const FASTCDC_MAX_MIN: u32 = KIB;
const FASTCDC_MAX_MAX: u32 = 16 * MIB;

/// Chunk size bounds for content-defined chunking, in bytes.
///
/// Chunks are cut where a rolling hash of the content matches a mask, so the same bytes give
/// the same boundaries wherever they sit in an archive; `avg` sets the mask, `min` and `max`
/// bound every chunk but the last (which may be shorter than `min`).
///
/// # The default: 64 KiB average (16 KiB min, 256 KiB max)
///
/// Chosen with `packyard-bench dedup` (BENCHMARKS.md): two pack archives built with
/// `packyard pack build` from 2,000 files of 16 KiB to 1 MiB (log-uniform, 452 MiB), where 5 %
/// of the files (5.6 % of the bytes) got new contents. "New" is what a node holding version N
/// fetches for N+1:
///
/// | avg     | chunks | new bytes in N+1 |
/// |---------|-------:|-----------------:|
/// | 64 KiB  |  5,893 |           8.4 %  |
/// | 128 KiB |  2,948 |          10.2 %  |
/// | 256 KiB |  1,478 |          15.4 %  |
/// | 512 KiB |    744 |          23.0 %  |
/// | 1 MiB   |    359 |          37.2 %  |
///
/// Each changed file drags in about one neighbouring chunk, so the overhead grows with the
/// chunk size relative to the files. 64 KiB is the only size that meets the SPEC's target
/// (at most 10 % re-sent for a 5 % change) on packs of small files; it costs about 13,000
/// chunks per GiB of archive (a chunk list document of about 1.2 MB). Packs of large files
/// can afford more: with 500 files of 64 KiB to 8 MiB, 256 KiB re-sent 8.5 % (64 KiB: 7.7 %)
/// with a quarter of the chunks, so an origin serving such packs may raise `avg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkingParams {
    min: u32,
    avg: u32,
    max: u32,
}

/// Why chunk size bounds were refused: the field, its value, and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chunk size {field} = {value} bytes is not allowed: {reason}")]
pub struct ParamsError {
    /// `min`, `avg` or `max`.
    pub field: &'static str,
    /// The value given.
    pub value: u32,
    /// The rule it breaks.
    pub reason: String,
}

impl Default for ChunkingParams {
    fn default() -> Self {
        Self {
            min: 16 * KIB,
            avg: 64 * KIB,
            max: 256 * KIB,
        }
    }
}

impl ChunkingParams {
    /// Checks and wraps explicit bounds.
    ///
    /// `avg` must be a power of two from 64 KiB to 1 MiB (SPEC §1; FastCDC's masks have a whole
    /// number of bits, so any other value would be silently rounded); `min` must be even and
    /// from 64 bytes to below `avg` (and at most 1 MiB); `max` must be even, above `avg` and
    /// at most [`MAX_CHUNK_LEN`].
    pub fn new(min: u32, avg: u32, max: u32) -> Result<Self, ParamsError> {
        if !(MIN_AVG_CHUNK_LEN..=MAX_AVG_CHUNK_LEN).contains(&avg) {
            return Err(refuse(
                "avg",
                avg,
                format!(
                    "the average must be from {MIN_AVG_CHUNK_LEN} (64 KiB) to {MAX_AVG_CHUNK_LEN} (1 MiB)"
                ),
            ));
        }
        Self::fastcdc_checked(min, avg, max)
    }

    /// Bounds around an average: a quarter of it to four times it, FastCDC's usual spread.
    pub fn with_avg(avg: u32) -> Result<Self, ParamsError> {
        Self::new(avg / 4, avg, avg.saturating_mul(4))
    }

    /// Checks only FastCDC's own limits, not the SPEC's average range. Tests use it to see
    /// many boundaries in a few kilobytes.
    pub(crate) fn fastcdc_checked(min: u32, avg: u32, max: u32) -> Result<Self, ParamsError> {
        if avg < FASTCDC_AVG_MIN || !avg.is_power_of_two() {
            return Err(refuse(
                "avg",
                avg,
                format!("the average must be a power of two, at least {FASTCDC_AVG_MIN}"),
            ));
        }
        if !(FASTCDC_MIN_MIN..=FASTCDC_MIN_MAX).contains(&min)
            || min >= avg
            || !min.is_multiple_of(2)
        {
            return Err(refuse(
                "min",
                min,
                format!(
                    "the minimum must be even, from {FASTCDC_MIN_MIN} to {FASTCDC_MIN_MAX}, \
                     and below the average ({avg})"
                ),
            ));
        }
        let max_max = FASTCDC_MAX_MAX.min(MAX_CHUNK_LEN);
        if !(FASTCDC_MAX_MIN..=max_max).contains(&max) || max <= avg || !max.is_multiple_of(2) {
            return Err(refuse(
                "max",
                max,
                format!(
                    "the maximum must be even, from {FASTCDC_MAX_MIN} to {max_max}, \
                     and above the average ({avg})"
                ),
            ));
        }
        Ok(Self { min, avg, max })
    }

    /// The smallest chunk cut (the archive's last chunk may be shorter).
    pub fn min(&self) -> u32 {
        self.min
    }

    /// The average chunk size aimed at.
    pub fn avg(&self) -> u32 {
        self.avg
    }

    /// The largest chunk cut; also the chunker's buffer size.
    pub fn max(&self) -> u32 {
        self.max
    }
}

fn refuse(field: &'static str, value: u32, reason: String) -> ParamsError {
    ParamsError {
        field,
        value,
        reason,
    }
}
