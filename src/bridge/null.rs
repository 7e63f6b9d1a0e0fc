//! The null model: the slice's own loss values, shuffled across its sites.
//!
//! A seeded uniform permutation `π` of the sites gives the field
//! `ℓ_null(j) = ℓ(π(j))`: the same marginal distribution of losses, but no
//! spatial correlation — independent labelling, the idealised setting of the
//! percolation explanation (science.md §4). Its loss-order sweep is then site
//! percolation in a uniformly random order (ties broken by site index), so
//! `p*_null` must match the lattice engine's two-point join fraction
//! ([`crate::percolation::two_point`]) on the same grid and endpoints. The
//! gap between the real slice's `p*` and `p*_null` measures how much the
//! correlations of the loss landscape help or hinder connection.

use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::Serialize;

use super::field::LossField;
use super::minimax::{loss_order, sweep_in_order};
use crate::error::Result;
use crate::rng::{stream, unit_rng};
use crate::stats::MeanError;

/// `p*` of shuffled copies of a field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NullModel {
    /// `p*_null` of each shuffle, in shuffle order.
    pub samples: Vec<f64>,
    /// Their mean and standard error.
    pub p_star: MeanError,
}

/// `p*` of `field` with its values shuffled, for one seed.
pub fn shuffled_p_star(field: &LossField, a: u32, c: u32, seed: u64) -> Result<f64> {
    let mut values = field.values.clone();
    values.shuffle(&mut unit_rng(seed, &[]));
    let shuffled = LossField {
        sides: field.sides.clone(),
        values,
    };
    let order = loss_order(&shuffled.values);
    Ok(sweep_in_order(&shuffled, &order, a, c, 1, true)?.p_star)
}

/// `shuffles` shuffled sweeps (shuffle `i` seeded by
/// `derive_seed(seed, [stream::INPUT_SPACE, 0x6e75, i])`), run in parallel
/// and combined in order: identical for any thread count.
pub fn null_p_star(
    field: &LossField,
    a: u32,
    c: u32,
    shuffles: usize,
    seed: u64,
) -> Result<NullModel> {
    let samples: Vec<f64> = (0..shuffles)
        .into_par_iter()
        .map(|i| {
            let s = crate::rng::derive_seed(seed, &[stream::INPUT_SPACE, 0x6e75, i as u64]);
            shuffled_p_star(field, a, c, s)
        })
        .collect::<Result<_>>()?;
    let p_star = MeanError::of(&samples);
    Ok(NullModel { samples, p_star })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lattice::{Boundary, Lattice};
    use crate::percolation::two_point::mean_join_fraction;

    /// Samples per estimate: stderr ≈ 0.1/√400 = 0.005 on each side.
    const SAMPLES: usize = 400;

    #[test]
    fn shuffled_slice_matches_lattice_two_point_percolation() {
        for (k, side) in [(2usize, 12usize), (3, 7), (4, 5), (5, 4)] {
            let sides = vec![side; k];
            let n: usize = sides.iter().product();
            // A smooth, strongly correlated field (a slope plus a bump): its
            // unshuffled p* is far from the lattice value, so agreement is
            // due to the shuffle.
            let lattice = Lattice::new(&sides, Boundary::Open).unwrap();
            let values: Vec<f32> = (0..n as u32)
                .map(|s| {
                    let c = lattice.coords(s);
                    c[..k]
                        .iter()
                        .map(|&x| (x as f32 - 1.0).powi(2))
                        .sum::<f32>()
                        + 0.01 * s as f32
                })
                .collect();
            let field = LossField::new(sides.clone(), values).unwrap();
            // Endpoints as a slice puts them: axis 0 at both ends, others centred.
            let mut ca = vec![((side - 1) / 2) as u32; k];
            ca[0] = 0;
            let mut cc = ca.clone();
            cc[0] = (side - 1) as u32;
            let (a, c) = (lattice.index(&ca), lattice.index(&cc));
            let null = null_p_star(&field, a, c, SAMPLES, 5).unwrap().p_star;
            let lat = mean_join_fraction(&lattice, a, c, SAMPLES, 6).unwrap();
            let z = (null.mean - lat.mean) / (null.stderr.powi(2) + lat.stderr.powi(2)).sqrt();
            assert!(
                z.abs() < 3.0,
                "k = {k}: null {null:?} vs lattice {lat:?}, z = {z}"
            );
        }
    }
}
