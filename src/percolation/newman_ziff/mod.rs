//! Newman–Ziff sweeps: occupy the sites (or bonds) of a finite lattice one at
//! a time in random order, merging clusters with a union-find, and record the
//! observables after every addition.
//!
//! One *sample* is one random order. Its observables as functions of the
//! number `n` of occupied elements (the microcanonical ensemble) are:
//!
//! * the occupation count at which a cluster first **wraps** around the torus
//!   (periodic boundaries; per axis and along any axis), or first **spans**
//!   from face to opposite face (open boundaries) — a [`SampleRecord`];
//! * optionally, on a grid of `n`, the largest cluster, the number of clusters
//!   and `χ = Σ' s² / N`, the second moment of the cluster sizes without the
//!   largest cluster (the "mean cluster size") — [`ObservableSums`].
//!
//! The fixed-`p` (canonical) values follow by binomial convolution
//! ([`super::canonical`]). Because a wrapping or spanning indicator is a step
//! function of `n`, the canonical crossing probability needs only the recorded
//! first-event counts: `R(p) = mean over samples of P[Bin(N, p) ≥ n_s]`.
//!
//! Samples run in parallel with rayon; sample `s` draws its order from the seed
//! `derive_seed(seed, [SWEEP, kind, s])`, so results do not depend on the
//! number of threads. Orders are [`RandomPermutation`](crate::permutation::RandomPermutation)s computed on the fly: a
//! periodic sweep needs 8 bytes per site (12 when `dim · lane_bits > 32`), an
//! open one 4 bytes per site, and bond sweeps never store the `d·N` bond order.
//!
//! Reference: M. E. J. Newman and R. M. Ziff, PRL 85, 4104 (2000); PRE 64,
//! 016706 (2001).

mod lookahead;
mod open;
mod recorder;
mod runner;
mod torus;

pub use runner::{bytes_per_worker, run_sweeps, run_sweeps_from};

use crate::error::{Error, Result};
use crate::lattice::{Lattice, MAX_DIM};

/// What is occupied: sites (all bonds present) or bonds (all sites present).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Site percolation.
    Site,
    /// Bond percolation.
    Bond,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Site => "site",
            Kind::Bond => "bond",
        })
    }
}

impl std::str::FromStr for Kind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "site" => Ok(Kind::Site),
            "bond" => Ok(Kind::Bond),
            _ => Err(Error::invalid("kind", s, "expected `site` or `bond`")),
        }
    }
}

/// The percolation event recorded by a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// A cluster winds around the torus (periodic boundaries).
    Wrap,
    /// A cluster touches two opposite faces (open boundaries).
    Span,
}

/// Parameters of a set of Newman–Ziff samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepConfig {
    /// Site or bond percolation.
    pub kind: Kind,
    /// Number of independent samples (random orders).
    pub samples: u64,
    /// Master seed; sample `s` uses `derive_seed(seed, [SWEEP, kind, s])`.
    pub seed: u64,
    /// Record largest cluster, cluster count and χ on a grid of `n`. Without
    /// it a sample stops as soon as the event happened along every axis.
    pub track_observables: bool,
}

/// Marker for "the event never happened".
pub const NEVER: u32 = u32::MAX;

/// The occupation counts at which one sample's event first happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleRecord {
    /// First `n` (1-based count of occupied elements) with the event along any axis.
    pub first_any: u32,
    /// First `n` with the event along each axis (first `dim` entries used).
    pub first_axis: [u32; MAX_DIM],
}

/// Integer sums over samples of the observables on the grid `n = grid[g]`.
/// Integer accumulation makes the totals independent of summation order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservableSums {
    /// Occupation counts at which observables were recorded (ascending, from 0 to N).
    pub grid: Vec<u32>,
    /// Σ_samples largest cluster size.
    pub largest: Vec<u64>,
    /// Σ_samples (largest cluster size)².
    pub largest_sq: Vec<u128>,
    /// Σ_samples number of clusters (occupied sites count as clusters).
    pub clusters: Vec<u64>,
    /// Σ_samples Σ' s² (squared sizes of all clusters but the largest).
    pub second_moment: Vec<u128>,
    /// Number of samples summed.
    pub samples: u64,
}

impl ObservableSums {
    fn new(grid: Vec<u32>) -> Self {
        let g = grid.len();
        ObservableSums {
            grid,
            largest: vec![0; g],
            largest_sq: vec![0; g],
            clusters: vec![0; g],
            second_moment: vec![0; g],
            samples: 0,
        }
    }

    fn absorb(&mut self, other: &ObservableSums) {
        self.samples += other.samples;
        for g in 0..self.grid.len() {
            self.largest[g] += other.largest[g];
            self.largest_sq[g] += other.largest_sq[g];
            self.clusters[g] += other.clusters[g];
            self.second_moment[g] += other.second_moment[g];
        }
    }
}

/// The outcome of a set of sweeps on one lattice.
#[derive(Debug, Clone)]
pub struct Sweeps {
    /// The lattice swept (dimension, sides and boundary conditions).
    pub lattice: Lattice,
    /// Percolation kind: site or bond.
    pub kind: Kind,
    /// Wrap (periodic) or span (open).
    pub event: Event,
    /// Number of elements a sweep occupies: sites, or existing bonds.
    pub n_elements: u64,
    /// Master seed; sample `s` used `derive_seed(seed, [SWEEP, kind, s])`.
    pub seed: u64,
    /// One record per sample, in sample order.
    pub records: Vec<SampleRecord>,
    /// Observable sums, when tracked.
    pub observables: Option<ObservableSums>,
}

impl Sweeps {
    /// First-event counts of every sample along `axis` (`None`: any axis).
    pub fn first_events(&self, axis: Option<usize>) -> Vec<u32> {
        self.records
            .iter()
            .map(|r| axis.map_or(r.first_any, |a| r.first_axis[a]))
            .collect()
    }

    /// The first-event counts as a `[samples, 1 + dim]` table: column 0
    /// along any axis, column `1 + a` along axis a (the layout of `ismc
    /// lattice sweep`'s `first_events.npy`).
    pub fn first_event_table(&self) -> ndarray::Array2<u32> {
        let dim = self.lattice.dim();
        let mut t = ndarray::Array2::<u32>::zeros((self.records.len(), dim + 1));
        for (s, r) in self.records.iter().enumerate() {
            t[[s, 0]] = r.first_any;
            for ax in 0..dim {
                t[[s, ax + 1]] = r.first_axis[ax];
            }
        }
        t
    }

    /// The mean occupation fraction at the first event along any axis,
    /// `p_av = ⟨n_s⟩ / (N + 1)`: exactly `∫ p dR(p)` of the canonical
    /// crossing probability `R(p)` (the mean of Beta(n, N − n + 1) is
    /// `n / (N + 1)`).
    pub fn mean_wrap_fraction_any(&self) -> f64 {
        let s: f64 = self.records.iter().map(|r| r.first_any as f64).sum();
        s / self.records.len() as f64 / (self.n_elements as f64 + 1.0)
    }
}
