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
//! cluster.
//!
//! The **pinned** variant ([`pinned_join_fraction`]) occupies `a` and `b`
//! first and only then the other sites in a uniformly random order: the two
//! points are conditioned to be occupied, as the modes A and C of an
//! input-space slice are by construction. It is the lattice side of the
//! bridge's i.i.d. null model (`crate::bridge::null`), which runs the same
//! conditioning through the slice's own union-find sweep. Without the pinning
//! `n*` is at least the later of the two points' positions in the order, whose
//! mean is `2(N + 1)/3` — a floor of 2/3 that has nothing to do with
//! connectivity.

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
    let n = check_two_points(lattice, a, b)?;
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

/// Checks that `lattice` is open and `a`, `b` are sites of it; returns `N`.
fn check_two_points(lattice: &Lattice, a: u32, b: u32) -> Result<u32> {
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
    Ok(n)
}

/// Occupied fraction `n*/N` at which sites `a` and `b` first join when both
/// are occupied first (steps 1 and 2; one step if `a == b`) and every other
/// site follows in the uniformly random order of a [`RandomPermutation`] of
/// all `N` sites seeded by `seed`, with `a` and `b` skipped. Requires an open
/// lattice.
///
/// ```
/// use ismc::lattice::{Boundary, Lattice};
/// use ismc::percolation::two_point::pinned_join_fraction;
/// // Neighbours join as soon as both are in: n* = 2.
/// let line = Lattice::new(&[10], Boundary::Open).unwrap();
/// assert_eq!(pinned_join_fraction(&line, 4, 5, 7).unwrap(), 0.2);
/// ```
pub fn pinned_join_fraction(lattice: &Lattice, a: u32, b: u32, seed: u64) -> Result<f64> {
    let n = check_two_points(lattice, a, b)?;
    let perm = RandomPermutation::new(n as u64, seed);
    let pinned = [a, b];
    let pinned = if a == b { &pinned[..1] } else { &pinned[..] };
    let rest = (0..n as u64)
        .map(|i| perm.apply(i) as u32)
        .filter(|&s| s != a && s != b);
    let mut uf = UnionFind::new_empty(n as usize);
    for (step, site) in pinned.iter().copied().chain(rest).enumerate() {
        uf.occupy(site);
        lattice.for_each_neighbor(site, |_, _, nb| {
            if uf.is_occupied(nb) {
                uf.union(site, nb);
            }
        });
        if step + 1 >= pinned.len() && uf.equiv(a, b) {
            return Ok((step + 1) as f64 / n as f64);
        }
    }
    unreachable!("a full open lattice is connected")
}

/// `samples` independent [`pinned_join_fraction`]s (sample `i` seeded by
/// `derive_seed(seed, [stream::SWEEP, 3, i])`), in sample order, computed in
/// parallel; identical for any thread count.
pub fn pinned_join_fractions(
    lattice: &Lattice,
    a: u32,
    b: u32,
    samples: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    (0..samples)
        .into_par_iter()
        .map(|i| {
            pinned_join_fraction(
                lattice,
                a,
                b,
                derive_seed(seed, &[stream::SWEEP, 3, i as u64]),
            )
        })
        .collect()
}

/// Mean and standard error of [`pinned_join_fractions`].
pub fn mean_pinned_join_fraction(
    lattice: &Lattice,
    a: u32,
    b: u32,
    samples: usize,
    seed: u64,
) -> Result<MeanError> {
    Ok(MeanError::of(&pinned_join_fractions(
        lattice, a, b, samples, seed,
    )?))
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

    /// Samples of the pinned 1-D test: sd(n*/N) ≈ 0.068, stderr ≈ 0.0011.
    const PINNED_LINE_SAMPLES: usize = 4000;
    /// Seed of the pinned 1-D test.
    const PINNED_LINE_SEED: u64 = 12;

    #[test]
    fn pinned_one_dimensional_join_waits_for_the_last_interior_site() {
        // N = 20, a = 3, b = 12: a and b come first, then the other 18 sites
        // in uniform order; the join needs the K = 8 sites strictly between
        // them, so n* = 2 + M_K with M_K the largest of K positions drawn
        // without replacement from 1..=18: E[M_K] = K(18 + 1)/(K + 1),
        // Var[M_K] = K(18 − K)(18 + 1)/((K + 1)²(K + 2)). (Unpinned, a and
        // b must also arrive: E[n*] = (10/11)·21 = 19.09 instead of 18.89.)
        let lattice = Lattice::new(&[20], Boundary::Open).unwrap();
        let (k, m) = (8.0f64, 18.0f64);
        let exact = (2.0 + k * (m + 1.0) / (k + 1.0)) / 20.0;
        let sd = (k * (m - k) * (m + 1.0) / ((k + 1.0).powi(2) * (k + 2.0))).sqrt() / 20.0;
        let est = mean_pinned_join_fraction(&lattice, 3, 12, PINNED_LINE_SAMPLES, PINNED_LINE_SEED)
            .unwrap();
        let stderr = sd / (PINNED_LINE_SAMPLES as f64).sqrt();
        assert!(
            (est.mean - exact).abs() < 4.0 * stderr,
            "{} ± {} vs {exact} ± {stderr}",
            est.mean,
            est.stderr
        );
    }

    #[test]
    fn pinned_join_is_reproducible_and_adjacent_points_join_at_two() {
        let square = Lattice::new(&[6, 6], Boundary::Open).unwrap();
        let x = pinned_join_fractions(&square, 0, 35, 16, 3).unwrap();
        assert_eq!(x, pinned_join_fractions(&square, 0, 35, 16, 3).unwrap());
        assert!(x.iter().all(|&p| p > 10.0 / 36.0 && p <= 1.0));
        assert_eq!(pinned_join_fraction(&square, 7, 8, 1).unwrap(), 2.0 / 36.0);
        assert_eq!(pinned_join_fraction(&square, 7, 7, 1).unwrap(), 1.0 / 36.0);
        assert!(pinned_join_fraction(&square, 0, 36, 1).is_err());
    }
}
