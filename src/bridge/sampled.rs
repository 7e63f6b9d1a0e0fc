//! p* of a slice too large to evaluate, estimated by sampling its sites.
//!
//! The dense sweep's p* is the fraction of the grid occupied when A and C
//! join: the fraction of sites with loss ≤ ℓ* (up to ties at ℓ* itself,
//! which the sweep breaks by index). A lazy search ([`super::invade`],
//! [`super::certify()`]) finds ℓ* without the rest of the grid, so its p* is
//! estimated instead: `n` sites drawn uniformly (with replacement, seeded)
//! are evaluated and the fraction at or below ℓ* is reported with its
//! binomial standard error `√(p(1 − p)/n)`.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::invasion::SiteLoss;
use crate::error::{Error, Result};
use crate::rng::{stream, unit_rng};

/// A sampled fraction of sites at or below a level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SampledFraction {
    /// Fraction of the samples with loss ≤ the level.
    pub fraction: f64,
    /// Its binomial standard error.
    pub stderr: f64,
    /// Number of uniform sites drawn (with replacement) and evaluated.
    pub samples: usize,
}

/// Estimates the fraction of the oracle's grid with loss ≤ `level` from
/// `samples` uniform sites drawn from `unit_rng(seed, [SLICE_SAMPLES])`,
/// evaluated in blocks of the oracle's preferred size.
pub fn fraction_below<S: SiteLoss + ?Sized>(
    oracle: &mut S,
    level: f32,
    samples: usize,
    seed: u64,
) -> Result<SampledFraction> {
    Ok(fractions_below(oracle, &[level], samples, seed)?[0])
}

/// [`fraction_below`] at several levels from the same sampled sites.
pub fn fractions_below<S: SiteLoss + ?Sized>(
    oracle: &mut S,
    levels: &[f32],
    samples: usize,
    seed: u64,
) -> Result<Vec<SampledFraction>> {
    if samples == 0 {
        return Err(Error::invalid(
            "samples",
            samples,
            "expected at least one site to sample",
        ));
    }
    let sides = oracle.sides().to_vec();
    let mut rng = unit_rng(seed, &[stream::SLICE_SAMPLES]);
    let coords: Vec<u32> = (0..samples)
        .flat_map(|_| {
            sides
                .iter()
                .map(|&s| rng.random_range(0..s as u32))
                .collect::<Vec<_>>()
        })
        .collect();
    let block = oracle.block().max(1) * sides.len();
    let mut below = vec![0usize; levels.len()];
    for chunk in coords.chunks(block) {
        for l in oracle.losses(chunk)? {
            for (count, level) in below.iter_mut().zip(levels) {
                *count += usize::from(l.total_cmp(level).is_le());
            }
        }
    }
    Ok(below
        .into_iter()
        .map(|b| {
            let p = b as f64 / samples as f64;
            SampledFraction {
                fraction: p,
                stderr: (p * (1.0 - p) / samples as f64).sqrt(),
                samples,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::field::LossField;
    use crate::bridge::invasion::FieldSites;
    use crate::bridge::minimax::sweep_loss_order;

    /// On a stored field with distinct values the sampled fraction at ℓ*
    /// agrees with the dense p* within 4 standard errors, and sampling is
    /// a pure function of the seed.
    #[test]
    fn sampled_fraction_matches_the_dense_p_star() {
        let side = 24usize;
        let n = side * side * side;
        let values: Vec<f32> = (0..n as u64)
            .map(|i| (crate::rng::mix64(i ^ 0xABCD) >> 40) as f32)
            .collect();
        let f = LossField::new(vec![side; 3], values).unwrap();
        let (a, c) = (f.index(&[0, 12, 12]), f.index(&[23, 12, 12]));
        let sweep = sweep_loss_order(&f, a as u32, c as u32, 1).unwrap();
        let s = fraction_below(&mut FieldSites::new(&f), sweep.minimax_barrier, 4000, 3).unwrap();
        assert!(
            (s.fraction - sweep.p_star).abs() < 4.0 * s.stderr,
            "{s:?} against p* = {}",
            sweep.p_star
        );
        let again = fraction_below(
            &mut FieldSites::with_block(&f, 7),
            sweep.minimax_barrier,
            4000,
            3,
        );
        assert_eq!(again.unwrap(), s);
        assert!(fraction_below(&mut FieldSites::new(&f), 1.0, 0, 3)
            .unwrap_err()
            .is_user_error());
    }
}
