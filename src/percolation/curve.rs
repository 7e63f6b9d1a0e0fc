//! The canonical curves of one lattice's sweeps: crossing probability,
//! largest-cluster fraction, cluster density and susceptibility at evenly
//! spaced p over the window where the crossing happens, and the mean
//! crossing fraction `p_av` with its error — what `ismc lattice sweep`
//! writes.
//!
//! Every value at p is the binomial convolution ([`BinomialWindow`]) of the
//! sweeps' microcanonical observables; the error of the crossing probability
//! is the standard error over samples ([`crossing_probability`]), that of the
//! largest-cluster fraction `√(Var(S_max)/samples)/N` from the summed
//! squares.

use serde::Serialize;

use super::canonical::{crossing_probability, BinomialWindow};
use super::newman_ziff::Sweeps;
use crate::stats::MeanError;
use crate::{Error, Result};

/// The canonical observables at one p.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Occupation probability.
    pub p: f64,
    /// Probability that a cluster wraps (periodic) or spans (open) along
    /// any axis.
    pub crossing_any: f64,
    /// Standard error of `crossing_any` over samples.
    pub crossing_any_err: f64,
    /// Mean largest cluster over the N sites.
    pub largest_fraction: f64,
    /// Standard error of `largest_fraction`.
    pub largest_fraction_err: f64,
    /// Mean number of clusters per site (occupied sites count as clusters).
    pub clusters_per_site: f64,
    /// Mean-cluster-size susceptibility `Σ' s² / N`, the largest excluded.
    pub chi: f64,
}

/// The curves of one set of sweeps.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepCurve {
    /// The observables at evenly spaced p, ascending, over the window of
    /// [`sweep_curve`].
    pub points: Vec<CurvePoint>,
    /// Mean fraction at the first crossing along any axis,
    /// `⟨n_s⟩ / (N + 1)`, with its standard error.
    pub p_av: MeanError,
    /// The same mean along each axis.
    pub p_av_per_axis: Vec<f64>,
}

/// The curves of `sweeps` (observables tracked) at `points` evenly spaced p
/// over the window `[lo − w/2, hi + w/2] ∩ [0, 1]`, where `lo` and `hi` are
/// the smallest and largest first-crossing fractions among the samples and
/// `w = max(hi − lo, 1/N)`: the crossing probability rises across it from
/// about 0 to about 1.
pub fn sweep_curve(sweeps: &Sweeps, points: usize) -> Result<SweepCurve> {
    if points < 2 {
        return Err(Error::invalid(
            "points",
            points,
            "expected at least 2 values of p",
        ));
    }
    let obs = sweeps.observables.as_ref().ok_or_else(|| {
        Error::invalid(
            "sweeps",
            "no observables",
            "expected sweeps run with track_observables = true",
        )
    })?;
    let n = sweeps.n_elements;
    let sites = sweeps.lattice.n_sites() as f64;
    let firsts = sweeps.first_events(None);
    if firsts.is_empty() {
        return Err(Error::invalid("sweeps", 0, "expected at least one sample"));
    }
    let (min, max) = firsts
        .iter()
        .fold((u32::MAX, 0), |(a, b), &x| (a.min(x), b.max(x)));
    let (lo, hi) = (min as f64 / n as f64, max as f64 / n as f64);
    let width = (hi - lo).max(1.0 / n as f64);
    let (p_lo, p_hi) = ((lo - 0.5 * width).max(0.0), (hi + 0.5 * width).min(1.0));
    let samples = obs.samples as f64;
    let mean_u64 = |v: &[u64]| v.iter().map(|&x| x as f64 / samples).collect::<Vec<_>>();
    let mean_u128 = |v: &[u128]| v.iter().map(|&x| x as f64 / samples).collect::<Vec<_>>();
    let largest = mean_u64(&obs.largest);
    let largest_sq = mean_u128(&obs.largest_sq);
    let clusters = mean_u64(&obs.clusters);
    let second = mean_u128(&obs.second_moment);
    let curve = (0..points)
        .map(|i| {
            let p = p_lo + (p_hi - p_lo) * i as f64 / (points - 1) as f64;
            let w = BinomialWindow::new(n, p);
            let (r, r_err) = crossing_probability(&firsts, n, p);
            let l1 = w.average_on_grid(&obs.grid, &largest);
            let l2 = w.average_on_grid(&obs.grid, &largest_sq);
            CurvePoint {
                p,
                crossing_any: r,
                crossing_any_err: r_err,
                largest_fraction: l1 / sites,
                largest_fraction_err: ((l2 - l1 * l1).max(0.0) / samples).sqrt() / sites,
                clusters_per_site: w.average_on_grid(&obs.grid, &clusters) / sites,
                chi: w.average_on_grid(&obs.grid, &second) / sites,
            }
        })
        .collect();
    let fraction =
        |v: Vec<u32>| -> Vec<f64> { v.iter().map(|&x| x as f64 / (n as f64 + 1.0)).collect() };
    let p_av = MeanError::of(&fraction(firsts));
    let p_av_per_axis = (0..sweeps.lattice.dim())
        .map(|ax| MeanError::of(&fraction(sweeps.first_events(Some(ax)))).mean)
        .collect();
    Ok(SweepCurve {
        points: curve,
        p_av,
        p_av_per_axis,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lattice::{Boundary, Lattice};
    use crate::percolation::{run_sweeps, Kind, SweepConfig};

    fn sweeps(track_observables: bool) -> Sweeps {
        let lattice = Lattice::new(&[24, 24], Boundary::Periodic).unwrap();
        let cfg = SweepConfig {
            kind: Kind::Site,
            samples: 300,
            seed: 5,
            track_observables,
        };
        run_sweeps(&lattice, &cfg, None).unwrap()
    }

    /// The window holds the whole rise of the crossing probability, which
    /// is monotone; the largest cluster grows with p; p_av is the mean
    /// first-crossing fraction.
    #[test]
    fn the_curve_spans_the_crossing_and_is_consistent() {
        let s = sweeps(true);
        let c = sweep_curve(&s, 41).unwrap();
        let pts = &c.points;
        assert_eq!(pts.len(), 41);
        assert!(pts[0].crossing_any < 1e-3, "{:?}", pts[0]);
        assert!(pts[40].crossing_any > 1.0 - 1e-3, "{:?}", pts[40]);
        for w in pts.windows(2) {
            assert!(w[1].p > w[0].p);
            assert!(w[1].crossing_any >= w[0].crossing_any - 1e-12);
            assert!(w[1].largest_fraction >= w[0].largest_fraction - 1e-12);
        }
        for q in pts {
            assert!((0.0..=1.0).contains(&q.largest_fraction));
            assert!(q.largest_fraction_err >= 0.0 && q.crossing_any_err >= 0.0);
            assert!(q.clusters_per_site > 0.0 && q.chi >= 0.0);
        }
        assert!((c.p_av.mean - s.mean_wrap_fraction_any()).abs() < 1e-12);
        assert_eq!(c.p_av_per_axis.len(), 2);
        // The square lattice's p_c = 0.592746 lies inside the window.
        assert!(pts[0].p < 0.5927 && pts[40].p > 0.5927);
    }

    #[test]
    fn refuses_untracked_sweeps_and_a_single_point() {
        assert!(sweep_curve(&sweeps(false), 11)
            .unwrap_err()
            .to_string()
            .contains("track_observables"));
        assert!(sweep_curve(&sweeps(true), 1)
            .unwrap_err()
            .to_string()
            .contains("points"));
    }
}
