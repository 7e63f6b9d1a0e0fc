//! Random permutations of `0..n` that are generated, not stored.
//!
//! Newman–Ziff sweeps visit the sites (or the `d·N` bonds) of a lattice in a
//! uniformly random order. Storing that order costs 4–8 bytes per element; a
//! [`RandomPermutation`] instead computes the `k`-th element on demand with a
//! keyed Feistel network on the smallest even-bit domain `2^(2h) ≥ n`, and
//! *cycle-walks* (re-applies the network) until the value lands in `0..n`.
//! Each Feistel round uses a full-avalanche 64-bit mixer keyed by the seed; a
//! 4-round Feistel network with pseudo-random round functions is a
//! pseudo-random permutation (Luby & Rackoff 1988), and we use 6 rounds. Cycle
//! walking keeps it a bijection on `0..n`, with at most 4 expected steps.

use crate::rng::mix64;

/// Feistel rounds. Four suffice in theory; six give margin against the
/// structure of sequential inputs.
const ROUNDS: usize = 6;

/// A seeded bijection of `0..n`.
#[derive(Debug, Clone)]
pub struct RandomPermutation {
    n: u64,
    half_bits: u32,
    half_mask: u64,
    keys: [u64; ROUNDS],
}

impl RandomPermutation {
    /// A permutation of `0..n` determined by `seed`. Panics if `n == 0` or
    /// `n > 2^62`.
    pub fn new(n: u64, seed: u64) -> Self {
        assert!(
            n > 0 && n <= 1 << 62,
            "RandomPermutation domain must be 1..=2^62"
        );
        let bits = 64 - (n - 1).leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        let mut keys = [0; ROUNDS];
        let mut k = seed;
        for key in &mut keys {
            k = mix64(k ^ 0xD1B5_4A32_D192_ED03);
            *key = k;
        }
        RandomPermutation {
            n,
            half_bits,
            half_mask: (1 << half_bits) - 1,
            keys,
        }
    }

    /// Size of the domain.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// Always false: the domain is never empty.
    pub fn is_empty(&self) -> bool {
        false
    }

    #[inline]
    fn feistel(&self, x: u64) -> u64 {
        let mut left = x >> self.half_bits;
        let mut right = x & self.half_mask;
        for &k in &self.keys {
            let f = mix64(right ^ k) & self.half_mask;
            (left, right) = (right, left ^ f);
        }
        (left << self.half_bits) | right
    }

    /// The image of `i` (`i < n`).
    #[inline]
    pub fn apply(&self, i: u64) -> u64 {
        debug_assert!(i < self.n);
        let mut x = self.feistel(i);
        while x >= self.n {
            x = self.feistel(x);
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_bijection_for_awkward_sizes() {
        for n in [1u64, 2, 3, 5, 17, 64, 65, 1000, 4099] {
            let p = RandomPermutation::new(n, n * 31);
            let mut seen = vec![false; n as usize];
            for i in 0..n {
                let j = p.apply(i) as usize;
                assert!(!seen[j], "n = {n}: {j} hit twice");
                seen[j] = true;
            }
        }
    }

    #[test]
    fn positions_are_uniform() {
        // Where does element 0 land over many seeds? Chi-square against the
        // uniform distribution on 16 cells; 3000 draws, df = 15: the 0.1 %
        // critical value is 37.7.
        let n = 16;
        let mut counts = [0u32; 16];
        for seed in 0..3000 {
            counts[RandomPermutation::new(n, seed).apply(0) as usize] += 1;
        }
        let e = 3000.0 / 16.0;
        let chi2: f64 = counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum();
        assert!(chi2 < 37.7, "chi2 = {chi2}, counts {counts:?}");
    }

    #[test]
    fn consecutive_inputs_are_decorrelated() {
        // Adjacent inputs should map to images whose difference is spread over
        // the whole domain: the mean |p(i+1) − p(i)| of a random permutation is
        // about n/3 (sd of the mean ≈ 0.24 n / sqrt(n)).
        let n = 1 << 16;
        let p = RandomPermutation::new(n, 7);
        let mean: f64 = (0..n - 1)
            .map(|i| (p.apply(i + 1) as f64 - p.apply(i) as f64).abs())
            .sum::<f64>()
            / (n - 1) as f64;
        let expected = n as f64 / 3.0;
        assert!(
            (mean - expected).abs() < 6.0 * 0.24 * n as f64 / (n as f64).sqrt(),
            "mean gap {mean}"
        );
    }
}
