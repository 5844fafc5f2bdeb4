//! [`Zipf`]: picks one of `n` items with probability proportional to `1 / rank^s`.

use crate::noise::Noise;

/// A Zipf(s) sampler over `n` items, item 0 the most popular. `s = 0` is uniform.
///
/// Sampling is a binary search in the cumulative weights: exact, O(log n), and `n` is the
/// number of URLs or packs (thousands at most), so the table is small.
#[derive(Debug, Clone)]
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    /// A sampler over `n` (at least 1) items with exponent `s` (0 or more).
    pub fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n.max(1));
        let mut total = 0.0;
        for rank in 1..=n.max(1) {
            total += 1.0 / (rank as f64).powf(s);
            cdf.push(total);
        }
        Self { cdf }
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.cdf.len()
    }

    /// Always false: a sampler has at least one item.
    pub fn is_empty(&self) -> bool {
        self.cdf.is_empty()
    }

    /// The probability of item `i`.
    pub fn probability(&self, i: usize) -> f64 {
        let total = self.cdf[self.cdf.len() - 1];
        let below = if i == 0 { 0.0 } else { self.cdf[i - 1] };
        (self.cdf[i] - below) / total
    }

    /// An item, drawn with `noise`.
    pub fn sample(&self, noise: &mut Noise) -> usize {
        let total = self.cdf[self.cdf.len() - 1];
        let u = noise.unit() * total;
        self.cdf
            .partition_point(|&c| c <= u)
            .min(self.cdf.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_follow_the_zipf_weights() {
        let zipf = Zipf::new(10, 1.0);
        let mut noise = Noise::new(5);
        let mut counts = [0u32; 10];
        let draws = 200_000;
        for _ in 0..draws {
            counts[zipf.sample(&mut noise)] += 1;
        }
        // Harmonic number H(10) = 2.929; item 0 gets 1/H, item 1 half of that, and so on.
        assert!((zipf.probability(0) - 1.0 / 2.928_968).abs() < 1e-6);
        for (i, &c) in counts.iter().enumerate() {
            let seen = f64::from(c) / f64::from(draws);
            let expected = zipf.probability(i);
            assert!(
                (seen - expected).abs() < 0.01,
                "item {i}: seen {seen:.4}, expected {expected:.4}"
            );
        }
        assert!(counts.windows(2).all(|w| w[0] > w[1]), "{counts:?}");
    }

    #[test]
    fn exponent_zero_is_uniform_and_one_item_is_always_drawn() {
        let zipf = Zipf::new(4, 0.0);
        assert!((0..4).all(|i| (zipf.probability(i) - 0.25).abs() < 1e-12));
        let one = Zipf::new(1, 1.2);
        let mut noise = Noise::new(1);
        assert!((0..100).all(|_| one.sample(&mut noise) == 0));
        assert_eq!(one.len(), 1);
    }
}
