//! Bracketing `ℓ*` on grids too large to invade to the end: goal-first
//! invasion within one search's budget, then geometric bisection of the
//! level between the proven bounds, every site evaluated once.

use std::time::Instant;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{certify, invade_goal_first, Certificate, CertifyResult, SearchOrder};
use crate::bridge::invasion::{index_of, SiteLoss};
use crate::error::{Error, Result};

/// Remembers every loss an oracle returned, so that repeated searches of
/// one grid ([`bracket`]) evaluate each site once.
struct Cached<'o, S: SiteLoss + ?Sized> {
    inner: &'o mut S,
    sides: Vec<usize>,
    known: FxHashMap<u128, f32>,
}

impl<S: SiteLoss + ?Sized> SiteLoss for Cached<'_, S> {
    fn sides(&self) -> &[usize] {
        &self.sides
    }

    fn losses(&mut self, coords: &[u32]) -> Result<Vec<f32>> {
        let k = self.sides.len();
        let idx: Vec<u128> = coords
            .chunks_exact(k)
            .map(|c| index_of(&self.sides, c))
            .collect();
        let missing: Vec<usize> = (0..idx.len())
            .filter(|&i| !self.known.contains_key(&idx[i]))
            .collect();
        if !missing.is_empty() {
            let ask: Vec<u32> = missing
                .iter()
                .flat_map(|&i| coords[i * k..(i + 1) * k].iter().copied())
                .collect();
            let got = self.inner.losses(&ask)?;
            for (&i, l) in missing.iter().zip(got) {
                self.known.insert(idx[i], l);
            }
        }
        Ok(idx.iter().map(|i| self.known[i]).collect())
    }

    fn block(&self) -> usize {
        self.inner.block()
    }
}

/// One search of [`bracket`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// The level searched at.
    pub level: f32,
    /// Certificate of this search at `level`: reached, refuted or undecided.
    pub outcome: Certificate,
    /// The found path's maximum, when C was reached.
    pub upper_bound: Option<f32>,
    /// Sites this search looked at (cached values included).
    pub evaluations: u64,
}

/// The outcome of [`bracket`]: `lower_bound ≤ ℓ* ≤ upper_bound`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BracketResult {
    /// Proven lower bound: the level goal-first invasion reached (τ₀ or
    /// above), or just above the highest refuted level if that is higher.
    pub lower_bound: f32,
    /// Proven upper bound: the lowest maximum of a path found (at worst the
    /// straight path along axis 0).
    pub upper_bound: f32,
    /// The searches in order.
    pub attempts: Vec<Attempt>,
    /// Distinct sites evaluated by the model, over all searches.
    pub evaluations: u64,
    /// Sites of the whole (virtual) grid, as f64.
    pub grid_sites: f64,
    /// Wall-clock seconds of all the searches together.
    pub seconds: f64,
    /// A path whose maximum is `upper_bound` (grid coordinates, `k` per site).
    pub path: Vec<u32>,
}

impl BracketResult {
    /// `ℓ*` when the bounds meet.
    pub fn minimax_barrier(&self) -> Option<f32> {
        (self.lower_bound == self.upper_bound).then_some(self.lower_bound)
    }
}

/// Brackets `ℓ*` by repeated searches, when the grid is too large to
/// invade to the end. It first runs [`invade_goal_first`] with one search's
/// budget (exact if C is reached; otherwise the level it reached is the
/// proven lower bound); then it starts from the straight grid path along axis 0 (an upper
/// bound) and bisects the level geometrically `steps` times between the
/// proven lower bound and the best path so far, by [`certify`] at each
/// level: a reached level lowers the
/// upper bound to the found path's maximum, a refuted one raises the lower
/// bound, an undecided one (its budget of `evaluations_per_search` spent)
/// only moves the next level up. The coordinates of `a` and `c` must differ
/// only along axis 0, as a slice's endpoints do.
pub fn bracket<S: SiteLoss + ?Sized>(
    oracle: &mut S,
    a: &[u32],
    c: &[u32],
    steps: usize,
    evaluations_per_search: u64,
    order: SearchOrder,
) -> Result<BracketResult> {
    let started = Instant::now();
    let sides = oracle.sides().to_vec();
    let k = sides.len();
    if a.len() != k || c.len() != k || a[1..] != c[1..] {
        return Err(Error::invalid(
            "endpoints",
            format!("{a:?}, {c:?}"),
            "expected two sites of the grid that differ only along axis 0",
        ));
    }
    let grid_sites: f64 = sides.iter().map(|&s| s as f64).product();
    let mut cached = Cached {
        inner: oracle,
        sides,
        known: FxHashMap::default(),
    };
    let mut attempts = Vec::new();
    let mut record = |r: &CertifyResult| {
        attempts.push(Attempt {
            level: r.level,
            outcome: r.outcome,
            upper_bound: r.upper_bound,
            evaluations: r.evaluations,
        })
    };
    // Goal-first invasion first: exact if it reaches C, and otherwise the
    // level it reached is a proven lower bound.
    let first = invade_goal_first(&mut cached, a, c, evaluations_per_search, order)?;
    record(&first);
    let mut lower = first.lower_bound;
    let (mut upper, mut path) = match first.upper_bound {
        Some(u) => (u, first.path),
        None => {
            // The straight grid path A → C along axis 0.
            let (lo, hi) = (a[0].min(c[0]), a[0].max(c[0]));
            let mut coords = Vec::with_capacity((hi - lo + 1) as usize * k);
            for x in lo..=hi {
                coords.extend_from_slice(a);
                let at = coords.len() - k;
                coords[at] = x;
            }
            let losses = cached.losses(&coords)?;
            let max = losses.into_iter().fold(f32::NEG_INFINITY, f32::max);
            if a[0] > c[0] {
                let rows: Vec<&[u32]> = coords.chunks_exact(k).rev().collect();
                coords = rows.concat();
            }
            (max, coords)
        }
    };
    // Levels below this were searched without success (refuted or not).
    let mut floor = lower;
    for _ in 0..steps {
        if floor >= upper {
            break;
        }
        let mid = (f64::from(floor) * f64::from(upper)).sqrt() as f32;
        let mid = mid.clamp(floor, upper);
        let r = certify(&mut cached, a, c, Some(mid), evaluations_per_search, order)?;
        record(&r);
        match (r.outcome, r.upper_bound) {
            (Certificate::Reached, Some(u)) if u < upper => {
                upper = u;
                path = r.path;
            }
            (Certificate::Reached, _) => {}
            (Certificate::Refuted, _) => {
                lower = lower.max(next_above(mid));
                floor = floor.max(next_above(mid));
            }
            (Certificate::Undecided, _) => floor = floor.max(next_above(mid)),
        }
    }
    let lower = lower.min(upper);
    Ok(BracketResult {
        lower_bound: lower,
        upper_bound: upper,
        attempts,
        evaluations: cached.known.len() as u64,
        grid_sites,
        seconds: started.elapsed().as_secs_f64(),
        path,
    })
}

/// The smallest f32 above a finite non-negative `v`.
fn next_above(v: f32) -> f32 {
    f32::from_bits(v.to_bits() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::invasion::{random_field, FieldSites};
    use crate::bridge::minimax::sweep_loss_order;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The bracket always contains the dense barrier, and with an
        /// unlimited budget and enough bisection steps it closes on it
        /// exactly; every site is evaluated at most once over all searches.
        #[test]
        fn bracket_contains_and_closes_on_the_dense_barrier(
            k in 1usize..=3, side in 2usize..=7, seed in any::<u64>(), levels in 2u64..40,
            ai in any::<u32>(), c0 in any::<u32>(), budget in prop_oneof![Just(3u64), Just(u64::MAX)],
        ) {
            let (f, _, _, ca, _) = random_field(k, side, seed, levels, ai, 0);
            let n = f.values.len();
            let mut cc = ca.clone();
            cc[0] = c0 % side as u32;
            let dense = sweep_loss_order(&f, f.index(&ca) as u32, f.index(&cc) as u32, 4)
                .unwrap()
                .minimax_barrier;
            let r = bracket(&mut FieldSites::new(&f), &ca, &cc, 80, budget, SearchOrder::Deep).unwrap();
            prop_assert!(r.lower_bound <= dense && dense <= r.upper_bound, "{r:?} vs {dense}");
            prop_assert!(r.evaluations as usize <= n);
            let pmax = r.path.chunks_exact(k).map(|s| f.values[f.index(s)]).fold(f32::MIN, f32::max);
            prop_assert_eq!(pmax, r.upper_bound);
            if budget == u64::MAX {
                prop_assert_eq!(r.minimax_barrier(), Some(dense));
            }
        }
    }
}
