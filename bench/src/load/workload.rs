//! What each request asks for: [`Planned`] requests from a [`RequestSource`], and the range
//! workload of a CDN, [`RangeWorkload`] (range sizes, alignment, Zipf popularity over files,
//! resumed and whole downloads).

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};

use super::error::LoadError;
use super::zipf::Zipf;
use crate::noise::Noise;

/// One file the workload reads: its path (and query) on the server, and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Path and query, such as `/apps/1/store/level-2?x=1`.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Which bytes of a target one request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// The whole file, without a `Range` header.
    Whole,
    /// `Range: bytes=start-end`, `end` included.
    Span {
        /// First byte.
        start: u64,
        /// Last byte, included.
        end: u64,
    },
    /// `Range: bytes=start-`: a download resumed at `start`.
    From {
        /// First byte.
        start: u64,
    },
}

impl Ask {
    /// The `Range` header value, if any.
    pub fn range_header(&self) -> Option<String> {
        match *self {
            Ask::Whole => None,
            Ask::Span { start, end } => Some(format!("bytes={start}-{end}")),
            Ask::From { start } => Some(format!("bytes={start}-")),
        }
    }

    /// What a correct server answers for a file of `size` bytes.
    pub fn expect(&self, size: u64) -> Expect {
        match *self {
            Ask::Whole => Expect::Bytes {
                status: 200,
                len: size,
                content_range: None,
            },
            Ask::Span { start, end } => Expect::Bytes {
                status: 206,
                len: end - start + 1,
                content_range: Some((start, end, size)),
            },
            Ask::From { start } => Expect::Bytes {
                status: 206,
                len: size - start,
                content_range: Some((start, size - 1, size)),
            },
        }
    }
}

/// What a response must look like to count as a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// This status; the body is read and counted but not checked.
    Status(u16),
    /// Bytes of a file: this status, a body of exactly `len` bytes (and `Content-Length`, when
    /// sent, equal to it), and `Content-Range: bytes start-end/total` when given.
    Bytes {
        /// 200 or 206.
        status: u16,
        /// Body length.
        len: u64,
        /// `(start, end, total)` of the expected `Content-Range`.
        content_range: Option<(u64, u64, u64)>,
    },
}

/// One request, ready to send.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The method.
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// Extra header fields.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body (empty for GET).
    pub body: Bytes,
    /// What the answer must be.
    pub expect: Expect,
}

/// Makes the requests of a run. `ticket` numbers requests from 0 in send order (across all
/// connections); `noise` is the calling worker's own random stream.
pub trait RequestSource: Send + Sync + 'static {
    /// The request for `ticket`.
    fn plan(&self, ticket: u64, noise: &mut Noise) -> Planned;
}

/// The mix of a [`RangeWorkload`].
#[derive(Debug, Clone, PartialEq)]
pub struct RangeMix {
    /// Range sizes in bytes, chosen uniformly per range request.
    pub range_sizes: Vec<u64>,
    /// Range starts are multiples of this; `None` aligns each range to its own size.
    pub align: Option<u64>,
    /// Share (0..=1) of requests for a whole file.
    pub whole_share: f64,
    /// Share (0..=1) of requests that resume a download (`bytes=N-`) at an aligned offset.
    pub resume_share: f64,
    /// Zipf exponent of popularity over targets (0 = uniform), the first target most popular.
    pub zipf: f64,
}

impl Default for RangeMix {
    fn default() -> Self {
        Self {
            range_sizes: vec![64 << 10],
            align: None,
            whole_share: 0.0,
            resume_share: 0.0,
            zipf: 0.0,
        }
    }
}

/// A CDN's download workload over some files: ranges, resumed and whole downloads.
#[derive(Debug, Clone)]
pub struct RangeWorkload {
    targets: Vec<Target>,
    popularity: Zipf,
    mix: RangeMix,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl RangeWorkload {
    /// Checks the mix against the targets: every range size must fit in every target.
    pub fn new(targets: Vec<Target>, mix: RangeMix) -> Result<Self, LoadError> {
        if targets.is_empty() {
            return Err(LoadError::invalid(
                "no URL to load: give at least one --url",
            ));
        }
        if !(0.0..=1.0).contains(&mix.whole_share)
            || !(0.0..=1.0).contains(&mix.resume_share)
            || mix.whole_share + mix.resume_share > 1.0
        {
            return Err(LoadError::invalid(format!(
                "--whole ({:.0} %) and --resume ({:.0} %) add up to more than 100 %",
                mix.whole_share * 100.0,
                mix.resume_share * 100.0
            )));
        }
        let ranges_used = mix.whole_share + mix.resume_share < 1.0;
        if ranges_used && mix.range_sizes.is_empty() {
            return Err(LoadError::invalid("give at least one --range size"));
        }
        if mix.range_sizes.contains(&0) {
            return Err(LoadError::invalid(
                "a --range size of 0 bytes asks for nothing",
            ));
        }
        if mix.align == Some(0) {
            return Err(LoadError::invalid("--align must be at least 1 byte"));
        }
        if !(mix.zipf >= 0.0 && mix.zipf.is_finite()) {
            return Err(LoadError::invalid("--zipf must be 0 (uniform) or more"));
        }
        for t in &targets {
            if t.size == 0 {
                return Err(LoadError::invalid(format!(
                    "{} is empty: there is nothing to download",
                    t.path
                )));
            }
            if ranges_used {
                for &range in &mix.range_sizes {
                    if range > t.size {
                        return Err(LoadError::RangeTooLarge {
                            range,
                            path: t.path.clone(),
                            size: t.size,
                        });
                    }
                }
            }
        }
        let popularity = Zipf::new(targets.len(), mix.zipf);
        Ok(Self {
            targets,
            popularity,
            mix,
            headers: Vec::new(),
        })
    }

    /// Sends these header fields with every request (an `Authorization`, say).
    pub fn with_headers(mut self, headers: Vec<(HeaderName, HeaderValue)>) -> Self {
        self.headers = headers;
        self
    }

    /// The targets.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Draws a target and the bytes to ask of it.
    pub fn draw(&self, noise: &mut Noise) -> (usize, Ask) {
        let i = self.popularity.sample(noise);
        let size = self.targets[i].size;
        let u = noise.unit();
        let ask = if u < self.mix.whole_share {
            Ask::Whole
        } else if u < self.mix.whole_share + self.mix.resume_share {
            // Resume after some aligned prefix, never at 0 (that is a whole download).
            let align = self.mix.align.unwrap_or(64 << 10);
            let steps = (size - 1) / align;
            if steps == 0 {
                Ask::From { start: size - 1 }
            } else {
                Ask::From {
                    start: align * (1 + noise.below(steps)),
                }
            }
        } else {
            let sizes = &self.mix.range_sizes;
            let len = sizes[usize::try_from(noise.below(sizes.len() as u64)).unwrap_or(0)];
            let align = self.mix.align.unwrap_or(len);
            let start = aligned_start(size, len, align, noise);
            Ask::Span {
                start,
                end: start + len - 1,
            }
        };
        (i, ask)
    }
}

/// A start for a `len`-byte range in a `size`-byte file (`len <= size`): a multiple of `align`,
/// uniform over those that keep the range inside the file.
pub fn aligned_start(size: u64, len: u64, align: u64, noise: &mut Noise) -> u64 {
    let slots = (size - len) / align + 1;
    align * noise.below(slots)
}

impl RequestSource for RangeWorkload {
    fn plan(&self, _ticket: u64, noise: &mut Noise) -> Planned {
        let (i, ask) = self.draw(noise);
        let target = &self.targets[i];
        let mut headers = self.headers.clone();
        if let Some(range) = ask.range_header()
            && let Ok(value) = HeaderValue::from_str(&range)
        {
            headers.push((http::header::RANGE, value));
        }
        Planned {
            method: Method::GET,
            path: target.path.clone(),
            headers,
            body: Bytes::new(),
            expect: ask.expect(target.size),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(sizes: &[u64]) -> Vec<Target> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| Target {
                path: format!("/f{i}"),
                size,
            })
            .collect()
    }

    #[test]
    fn ranges_are_aligned_and_inside_the_file() {
        let mix = RangeMix {
            range_sizes: vec![4096, 65536],
            ..RangeMix::default()
        };
        let w = RangeWorkload::new(targets(&[1_000_000, 300_000]), mix).expect("valid");
        let mut noise = Noise::new(3);
        let mut starts_past_zero = 0;
        for _ in 0..10_000 {
            let (i, ask) = w.draw(&mut noise);
            let size = w.targets()[i].size;
            let Ask::Span { start, end } = ask else {
                panic!("only ranges were asked for, got {ask:?}");
            };
            let len = end - start + 1;
            assert!(len == 4096 || len == 65536);
            assert_eq!(start % len, 0, "{start} is not aligned to {len}");
            assert!(end < size, "{end} is past the end of {size}");
            starts_past_zero += u32::from(start > 0);
        }
        assert!(starts_past_zero > 9_000);
    }

    #[test]
    fn an_explicit_alignment_applies_to_every_range_and_the_last_slot_is_reachable() {
        let mix = RangeMix {
            range_sizes: vec![100],
            align: Some(10),
            ..RangeMix::default()
        };
        let w = RangeWorkload::new(targets(&[150]), mix).expect("valid");
        let mut noise = Noise::new(9);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            if let (_, Ask::Span { start, end }) = w.draw(&mut noise) {
                assert_eq!(start % 10, 0);
                assert!(end <= 149);
                seen.insert(start);
            }
        }
        // Starts 0, 10, …, 50: the last keeps the range inside the 150-byte file.
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            [0, 10, 20, 30, 40, 50]
        );
    }

    #[test]
    fn shares_of_whole_and_resumed_downloads_are_kept() {
        let mix = RangeMix {
            range_sizes: vec![4096],
            whole_share: 0.2,
            resume_share: 0.3,
            ..RangeMix::default()
        };
        let w = RangeWorkload::new(targets(&[1 << 20]), mix).expect("valid");
        let mut noise = Noise::new(1);
        let (mut whole, mut resumed) = (0u32, 0u32);
        for _ in 0..20_000 {
            match w.draw(&mut noise).1 {
                Ask::Whole => whole += 1,
                Ask::From { start } => {
                    assert!(start > 0 && start < 1 << 20 && start % (64 << 10) == 0);
                    resumed += 1;
                }
                Ask::Span { .. } => {}
            }
        }
        assert!((3_600..4_400).contains(&whole), "{whole}");
        assert!((5_500..6_500).contains(&resumed), "{resumed}");
    }

    #[test]
    fn expectations_match_rfc_9110_answers() {
        assert_eq!(
            Ask::Span { start: 10, end: 19 }.expect(100),
            Expect::Bytes {
                status: 206,
                len: 10,
                content_range: Some((10, 19, 100))
            }
        );
        assert_eq!(
            Ask::From { start: 40 }.expect(100),
            Expect::Bytes {
                status: 206,
                len: 60,
                content_range: Some((40, 99, 100))
            }
        );
        assert_eq!(
            Ask::Whole.expect(100),
            Expect::Bytes {
                status: 200,
                len: 100,
                content_range: None
            }
        );
        assert_eq!(
            Ask::From { start: 40 }.range_header().as_deref(),
            Some("bytes=40-")
        );
        assert_eq!(Ask::Whole.range_header(), None);
    }

    #[test]
    fn bad_mixes_are_refused_with_the_reason() {
        let err = |sizes: &[u64], mix: RangeMix| {
            RangeWorkload::new(targets(sizes), mix)
                .expect_err("must be refused")
                .to_string()
        };
        let e = err(
            &[1000],
            RangeMix {
                range_sizes: vec![4096],
                ..RangeMix::default()
            },
        );
        assert!(
            e.contains("4096-byte range does not fit in /f0 (1000 bytes)"),
            "{e}"
        );
        let e = err(
            &[1000],
            RangeMix {
                range_sizes: vec![0],
                ..RangeMix::default()
            },
        );
        assert!(e.contains("0 bytes"), "{e}");
        let e = err(
            &[1000],
            RangeMix {
                whole_share: 0.7,
                resume_share: 0.5,
                ..RangeMix::default()
            },
        );
        assert!(e.contains("more than 100 %"), "{e}");
        assert!(err(&[], RangeMix::default()).contains("--url"));
        // Whole downloads only: range sizes do not matter, even when larger than the file.
        let whole = RangeMix {
            range_sizes: vec![1 << 30],
            whole_share: 1.0,
            ..RangeMix::default()
        };
        assert!(RangeWorkload::new(targets(&[10]), whole).is_ok());
    }
}
