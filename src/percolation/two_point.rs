//! Two-point connection threshold: the occupied fraction at which two given
//! sites first join, under site percolation in a uniformly random order.
//!
//! On a finite open lattice with `N` sites, occupy sites in the order of a
//! seeded [`RandomPermutation`] (Newman–Ziff), merging with occupied face
//! neighbours, and stop at the first step `n*` at which sites `a` and `b` are
//! both occupied and in one cluster; the sample's value is `p* = n*/N`. Its
//! mean over samples is the finite-lattice analogue of p_c for a point-to-point
//! connection: for large lattices it tends to p_c^site(d) from above, because
//! the two points must also be occupied and joined through the incipient
//! cluster. This is the lattice side of the bridge's null model
//! (`crate::bridge::null`), which shuffles a loss field instead.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::lattice::{Boundary, Lattice};
use crate::permutation::RandomPermutation;
use crate::rng::{derive_seed, stream};
use crate::stats::MeanError;
use crate::unionfind::UnionFind;

/// Occupied fraction `n*/N` at which sites `a` and `b` first join, for one
/// random order given by `seed`. Requires an open lattice.
pub fn join_fraction(lattice: &Lattice, a: u32, b: u32, seed: u64) -> Result<f64> {
    let n = lattice.n_sites();
    if lattice.boundary() != Boundary::Open {
        return Err(Error::invalid(
            "boundary",
            lattice.boundary(),
            "expected open boundaries",
        ));
    }
    for (name, s) in [("site a", a), ("site b", b)] {
        if s >= n {
            return Err(Error::invalid(
                name,
                s,
                format!("expected a site below {n}"),
            ));
        }
    }
    let perm = RandomPermutation::new(n as u64, seed);
    let mut uf = UnionFind::new_empty(n as usize);
    for step in 0..n as u64 {
        let site = perm.apply(step) as u32;
        uf.occupy(site);
        lattice.for_each_neighbor(site, |_, _, nb| {
            if uf.is_occupied(nb) {
                uf.union(site, nb);
            }
        });
        if uf.is_occupied(a) && uf.is_occupied(b) && uf.equiv(a, b) {
            return Ok((step + 1) as f64 / n as f64);
        }
    }
    unreachable!("a full open lattice is connected")
}

/// `samples` independent [`join_fraction`]s (sample `i` seeded by
/// `derive_seed(seed, [stream::SWEEP, 2, i])`), in sample order, computed in
/// parallel; identical for any thread count.
pub fn join_fractions(
    lattice: &Lattice,
    a: u32,
    b: u32,
    samples: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    (0..samples)
        .into_par_iter()
        .map(|i| {
            join_fraction(
                lattice,
                a,
                b,
                derive_seed(seed, &[stream::SWEEP, 2, i as u64]),
            )
        })
        .collect()
}

/// Mean and standard error of [`join_fractions`].
pub fn mean_join_fraction(
    lattice: &Lattice,
    a: u32,
    b: u32,
    samples: usize,
    seed: u64,
) -> Result<MeanError> {
    Ok(MeanError::of(&join_fractions(
        lattice, a, b, samples, seed,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_dimensional_join_needs_every_site_between() {
        // On a line, a and b join exactly when all |a−b|+1 sites between them
        // (inclusive) are occupied: n* is the last of those in the order,
        // whose mean over uniform orders is (m/(m+1))(N+1) for m sites.
        let lattice = Lattice::new(&[20], Boundary::Open).unwrap();
        let (a, b) = (3, 12);
        let m = 10.0;
        let exact = m / (m + 1.0) * 21.0 / 20.0;
        let est = mean_join_fraction(&lattice, a, b, 4000, 11).unwrap();
        assert!(
            (est.mean - exact).abs() < 4.0 * est.stderr,
            "{} ± {} vs {exact}",
            est.mean,
            est.stderr
        );
    }
}
