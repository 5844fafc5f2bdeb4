//! [`Noise`]: a seeded, fast, incompressible byte stream, and files made of it.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// SplitMix64: statistically good enough that no compressor or chunker finds structure in it,
/// several GB/s, and the same bytes for the same seed on every machine.
#[derive(Debug, Clone)]
pub struct Noise {
    state: u64,
}

impl Noise {
    /// A stream determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 8 bytes.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0), by multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        let wide = u128::from(self.next_u64()) * u128::from(n);
        // The high half of a u64 × u64 product fits in u64.
        u64::try_from(wide >> 64).unwrap_or(0)
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        // 53 random bits, exactly representable.
        #[allow(clippy::cast_precision_loss, reason = "53 bits fit an f64 exactly")]
        let v = (self.next_u64() >> 11) as f64;
        v / (1u64 << 53) as f64
    }

    /// Fills `buf` with the next bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut words = buf.chunks_exact_mut(8);
        for w in &mut words {
            w.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = words.into_remainder();
        if !rest.is_empty() {
            let last = self.next_u64().to_le_bytes();
            rest.copy_from_slice(&last[..rest.len()]);
        }
    }

    /// `len` bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.fill(&mut v);
        v
    }
}

/// Writes `size` bytes of the noise of `seed` to a new file at `path`.
pub fn write_noise_file(path: &Path, size: u64, seed: u64) -> io::Result<()> {
    let mut noise = Noise::new(seed);
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut block = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = usize::try_from(left.min(block.len() as u64)).unwrap_or(block.len());
        noise.fill(&mut block[..n]);
        out.write_all(&block[..n])?;
        left -= n as u64;
    }
    out.into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_others() {
        assert_eq!(Noise::new(7).bytes(1001), Noise::new(7).bytes(1001));
        assert_ne!(Noise::new(7).bytes(64), Noise::new(8).bytes(64));
        let mut n = Noise::new(1);
        assert!((0..1000).all(|_| n.below(10) < 10));
        assert!((0..1000).all(|_| (0.0..1.0).contains(&n.unit())));
    }

    #[test]
    fn noise_files_have_the_size_asked_for() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("noise");
        write_noise_file(&path, (1 << 20) + 3, 9).expect("write");
        let bytes = std::fs::read(&path).expect("read");
        assert!(
            bytes == Noise::new(9).bytes((1 << 20) + 3),
            "the file is the same stream"
        );
    }
}
