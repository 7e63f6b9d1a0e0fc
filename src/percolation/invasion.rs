//! Invasion percolation on the unbounded lattice Z^d with hashed storage of
//! the sites it has seen.
//!
//! Every site (or bond) receives an independent uniform random value the first
//! time the growing cluster touches it. Each step *invades* the perimeter
//! element with the smallest value (Wilkinson & Willemsen 1983). Elements with
//! a value below `p_c` that ever touch the cluster are invaded eventually —
//! otherwise the invasion would be trapped in a finite subcritical cluster —
//! while those above `p_c` are invaded with vanishing frequency. So the
//! fraction of examined elements that were invaded,
//!
//! ```text
//! p̂(n) = invaded / examined  →  p_c     (n → ∞),
//! ```
//!
//! with a finite-size bias from the perimeter that decays as a power of the
//! number `n` of invaded elements. This is the estimator of Mertens & Moore
//! (PRE 98, 022120, 2018); [`crate::scaling`] averages it over independent
//! runs at a ladder of sizes and extrapolates `n → ∞`.
//!
//! Only visited sites are stored, in a hash set keyed by their coordinates
//! packed into a `u128` (`⌊128/d⌋` bits per axis, offset to be non-negative),
//! so the lattice has no boundary in practice: a run that would leave the
//! representable box is refused with an error rather than wrapped.
//!
//! **Site invasion**: examined = sites put on the perimeter (the origin is
//! neither); invaded = sites popped. **Bond invasion**: when a site joins the
//! cluster, each bond to a site not yet in the cluster is examined and queued;
//! popping a bond accepts it, and grows the cluster if its far end is new.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rand::Rng;
use rustc_hash::FxHashSet;

use crate::error::{Error, Result};
use crate::lattice::MAX_DIM;
use crate::percolation::Kind;
use crate::rng::UnitRng;

/// Packed coordinates of sites of Z^d in a `u128`.
#[derive(Debug, Clone, Copy)]
pub struct PackedCoords {
    dim: usize,
    bits: u32,
    mask: u128,
    origin: u128,
}

impl PackedCoords {
    /// Packing for dimension `dim` (1..=16): `⌊128/dim⌋` bits per axis.
    pub fn new(dim: usize) -> Result<Self> {
        if dim == 0 || dim > MAX_DIM {
            return Err(Error::invalid(
                "dim",
                dim,
                format!("expected 1..={MAX_DIM}"),
            ));
        }
        let bits = (128 / dim as u32).min(32);
        let mask = (1u128 << bits) - 1;
        let half = 1u128 << (bits - 1);
        let origin = (0..dim).fold(0u128, |acc, a| acc | half << (a as u32 * bits));
        Ok(PackedCoords {
            dim,
            bits,
            mask,
            origin,
        })
    }

    /// The key of the origin.
    pub fn origin(&self) -> u128 {
        self.origin
    }

    /// Largest |coordinate| representable.
    pub fn reach(&self) -> i64 {
        (1i64 << (self.bits - 1)) - 1
    }

    /// The coordinate of `key` along `axis`, relative to the origin.
    #[inline]
    pub fn coord(&self, key: u128, axis: usize) -> i64 {
        ((key >> (axis as u32 * self.bits)) & self.mask) as i64 - (1i64 << (self.bits - 1))
    }

    /// The neighbour of `key` one step along `axis` (`forward` or back), or
    /// `None` at the edge of the representable box.
    #[inline]
    pub fn step(&self, key: u128, axis: usize, forward: bool) -> Option<u128> {
        let shift = axis as u32 * self.bits;
        let lane = (key >> shift) & self.mask;
        if forward {
            (lane < self.mask).then(|| key + (1u128 << shift))
        } else {
            (lane > 0).then(|| key - (1u128 << shift))
        }
    }

    /// Number of axes.
    pub fn dim(&self) -> usize {
        self.dim
    }
}

/// The running counts of one invasion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvasionCounts {
    /// Elements (sites or bonds) invaded so far.
    pub invaded: u64,
    /// Elements examined so far (given a random value).
    pub examined: u64,
}

impl InvasionCounts {
    /// The estimate `invaded / examined` of `p_c`.
    pub fn estimate(&self) -> f64 {
        self.invaded as f64 / self.examined as f64
    }
}

/// Reusable storage for invasion runs: the hash set of seen sites and a
/// two-level priority queue. Reusing it across runs of one thread avoids
/// re-faulting hundreds of megabytes per run.
///
/// The queue keeps perimeter entries whose value is below a moving `cutoff` in
/// a binary heap and the rest in an unsorted "cold" list. Invasion pops values
/// near `p_c` almost exclusively, so most of the perimeter (a fraction
/// ≈ 1 − p_c of it) never needs ordering; when the heap runs dry the cutoff is
/// doubled and the cold entries below it are moved in. The pop order is
/// exactly that of a single heap.
#[derive(Debug, Default)]
pub struct Invader {
    seen: FxHashSet<u128>,
    hot: BinaryHeap<Reverse<(u64, u128)>>,
    cold: Vec<(u64, u128)>,
}

impl Invader {
    /// An empty workspace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Grows one invasion cluster from the origin until `checkpoints.last()`
    /// elements are invaded, returning the counts when the invaded count
    /// reaches each checkpoint (ascending).
    ///
    /// Errors if the cluster reaches the edge of the packed coordinate box.
    pub fn run(
        &mut self,
        dim: usize,
        kind: Kind,
        checkpoints: &[u64],
        rng: &mut UnitRng,
    ) -> Result<Vec<InvasionCounts>> {
        let packing = PackedCoords::new(dim)?;
        let target = *checkpoints
            .last()
            .ok_or_else(|| Error::invalid("checkpoints", "[]", "expected at least one size"))?;
        let mut out = Vec::with_capacity(checkpoints.len());
        let mut next_cp = 0;
        let mut counts = InvasionCounts {
            invaded: 0,
            examined: 0,
        };
        self.seen.clear();
        self.hot.clear();
        self.cold.clear();
        // Start the cutoff at ~3× the series estimate of p_c.
        let mut cutoff: u64 = ((3.0 / (2.0 * dim as f64 - 1.0)).min(1.0) * u64::MAX as f64) as u64;
        let origin = packing.origin();
        self.seen.insert(origin);
        let edge = || {
            Error::invalid(
                "invasion size",
                target,
                format!("the cluster reached the edge of the ±{} coordinate box of d = {dim}; use a smaller size", packing.reach()),
            )
        };
        let mut site = origin;
        loop {
            let grows = match kind {
                Kind::Site => true,
                Kind::Bond => site == origin || self.seen.insert(site),
            };
            if grows {
                // Queue the perimeter of `site`. For sites, `seen` holds examined
                // sites; for bonds it holds invaded sites and every bond to an
                // outside site is new.
                for axis in 0..dim {
                    for forward in [true, false] {
                        let nb = packing.step(site, axis, forward).ok_or_else(edge)?;
                        let fresh = match kind {
                            Kind::Site => self.seen.insert(nb),
                            Kind::Bond => !self.seen.contains(&nb),
                        };
                        if fresh {
                            counts.examined += 1;
                            let value = rng.random::<u64>();
                            if value < cutoff {
                                self.hot.push(Reverse((value, nb)));
                            } else {
                                self.cold.push((value, nb));
                            }
                        }
                    }
                }
            }
            while next_cp < checkpoints.len() && counts.invaded >= checkpoints[next_cp] {
                out.push(counts);
                next_cp += 1;
            }
            if counts.invaded >= target {
                break;
            }
            while self.hot.is_empty() {
                if self.cold.is_empty() {
                    return Ok(out);
                }
                cutoff = cutoff.saturating_mul(2);
                let hot = &mut self.hot;
                self.cold.retain(|&(v, k)| {
                    let keep = v >= cutoff;
                    if !keep {
                        hot.push(Reverse((v, k)));
                    }
                    keep
                });
            }
            let Reverse((_, next)) = self.hot.pop().expect("refilled above");
            site = next;
            counts.invaded += 1;
        }
        Ok(out)
    }
}

/// One invasion with a fresh workspace (see [`Invader::run`]).
pub fn invade(
    dim: usize,
    kind: Kind,
    checkpoints: &[u64],
    rng: &mut UnitRng,
) -> Result<Vec<InvasionCounts>> {
    Invader::new().run(dim, kind, checkpoints, rng)
}

/// Bytes one invasion of `size` invaded elements needs (hash set and heap).
pub fn bytes_per_run(dim: usize, size: u64) -> u64 {
    // Each invaded element examines up to 2d elements (fewer in practice): a
    // 16-byte key in the set (load factor ≥ 1/2 → ≤ 32 B) and a 32-byte queue
    // entry. Bounded above by assuming every neighbour is new.
    size.saturating_mul(2 * dim as u64).saturating_mul(64) + (1 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::unit_rng;

    #[test]
    fn packing_steps_and_reads_coordinates() {
        let p = PackedCoords::new(13).unwrap();
        let mut k = p.origin();
        k = p.step(k, 12, true).unwrap();
        k = p.step(k, 12, true).unwrap();
        k = p.step(k, 0, false).unwrap();
        assert_eq!(p.coord(k, 12), 2);
        assert_eq!(p.coord(k, 0), -1);
        assert_eq!(p.coord(k, 5), 0);
        assert_eq!(p.reach(), 255);
    }

    #[test]
    fn one_dimensional_invasion_estimates_one() {
        // On Z^1 p_c = 1: every examined site must eventually be invaded
        // except the two current ends, so p̂ = n / (n + 2) exactly, for sites
        // and for bonds alike (the origin examines two, every invasion one).
        let mut rng = unit_rng(5, &[0]);
        let c = invade(1, Kind::Site, &[100, 1000], &mut rng).unwrap();
        assert_eq!(
            c[1],
            InvasionCounts {
                invaded: 1000,
                examined: 1002
            }
        );
        let c = invade(1, Kind::Bond, &[1000], &mut rng).unwrap();
        assert_eq!(
            c[0],
            InvasionCounts {
                invaded: 1000,
                examined: 1002
            }
        );
    }

    #[test]
    fn two_dimensional_site_estimate_is_near_threshold() {
        // 20 runs of 20,000 sites on Z^2: p̂ should lie within a few percent of
        // 0.5927 (finite-size bias is positive and of order 1e-2 here).
        let mut est = Vec::new();
        for r in 0..20 {
            let mut rng = unit_rng(11, &[r]);
            est.push(invade(2, Kind::Site, &[20_000], &mut rng).unwrap()[0].estimate());
        }
        let m = crate::stats::MeanError::of(&est);
        assert!((m.mean - 0.5927).abs() < 0.03, "{m:?}");
    }

    #[test]
    fn steps_stop_at_the_edge_of_the_box() {
        let p = PackedCoords::new(16).unwrap();
        let mut k = p.origin();
        for _ in 0..p.reach() {
            k = p.step(k, 3, true).unwrap();
        }
        assert_eq!(p.coord(k, 3), 127);
        assert_eq!(p.step(k, 3, true), None);
        assert!(PackedCoords::new(0).is_err());
        assert!(PackedCoords::new(17).is_err());
    }
}
