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
//! number of threads. Orders are [`RandomPermutation`]s computed on the fly: a
//! periodic sweep needs 8 bytes per site (12 when `dim · lane_bits > 32`), an
//! open one 4 bytes per site, and bond sweeps never store the `d·N` bond order.
//!
//! Reference: M. E. J. Newman and R. M. Ziff, PRL 85, 4104 (2000); PRE 64,
//! 016706 (2001).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::lattice::{Boundary, Coords, Lattice, MAX_DIM};
use crate::percolation::forest::{Forest, Lanes, Link, Node};
use crate::permutation::RandomPermutation;
use crate::progress::Progress;
use crate::rng::{derive_seed, stream};
use crate::unionfind::UnionFind;

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
    /// The lattice swept.
    pub lattice: Lattice,
    /// Site or bond.
    pub kind: Kind,
    /// Wrap (periodic) or span (open).
    pub event: Event,
    /// Number of elements a sweep occupies: sites, or existing bonds.
    pub n_elements: u64,
    /// Master seed.
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

    /// The mean occupation fraction at the first event along any axis,
    /// `p_av = ⟨n_s⟩ / (N + 1)`: exactly `∫ p dR(p)` of the canonical
    /// crossing probability `R(p)` (the mean of Beta(n, N − n + 1) is
    /// `n / (N + 1)`).
    pub fn mean_wrap_fraction_any(&self) -> f64 {
        let s: f64 = self.records.iter().map(|r| r.first_any as f64).sum();
        s / self.records.len() as f64 / (self.n_elements as f64 + 1.0)
    }
}

/// Bytes one worker needs for a sweep of `lattice`.
pub fn bytes_per_worker(lattice: &Lattice) -> u64 {
    let n = lattice.n_sites() as u64;
    match lattice.boundary() {
        Boundary::Open => 8 * n,
        Boundary::Periodic => {
            let max_side = *lattice.sides().iter().max().unwrap_or(&2);
            match Lanes::for_lattice(lattice.dim(), max_side) {
                Some(l) if l.words() == 1 => 8 * n,
                _ => 12 * n,
            }
        }
    }
}

/// The grid of occupation counts for observables: every `n` up to 65,536
/// elements, otherwise a stride that keeps 65,537 points (far finer than the
/// binomial width `√(N p (1−p))` that the canonical convolution averages over).
fn observable_grid(n_elements: u64) -> Vec<u32> {
    let stride = n_elements.div_ceil(1 << 16).max(1);
    let mut grid: Vec<u32> = (0..=n_elements / stride)
        .map(|g| (g * stride) as u32)
        .collect();
    if *grid.last().unwrap() as u64 != n_elements {
        grid.push(n_elements as u32);
    }
    grid
}

/// Runs `cfg.samples` Newman–Ziff samples on `lattice` in parallel.
///
/// Errors if the samples count is zero, the bond count does not fit in 32
/// bits, or the per-thread memory would exceed the limit of
/// [`crate::memory`].
pub fn run_sweeps(
    lattice: &Lattice,
    cfg: &SweepConfig,
    progress: Option<&dyn Progress>,
) -> Result<Sweeps> {
    run_sweeps_from(lattice, cfg, 0, progress)
}

/// Runs samples `first .. first + cfg.samples` of the sequence that
/// [`run_sweeps`] starts at 0: sample `s` always draws its order from the seed
/// derived from `(cfg.seed, s)`, so runs of consecutive ranges concatenated
/// give exactly the records of one run over the whole range (how the
/// experiment runner splits sweeps into resumable units).
pub fn run_sweeps_from(
    lattice: &Lattice,
    cfg: &SweepConfig,
    first: u64,
    progress: Option<&dyn Progress>,
) -> Result<Sweeps> {
    if cfg.samples == 0 {
        return Err(Error::invalid("samples", 0, "expected at least 1"));
    }
    let n_elements = match cfg.kind {
        Kind::Site => lattice.n_sites() as u64,
        Kind::Bond => lattice.n_bonds(),
    };
    if n_elements >= NEVER as u64 {
        return Err(Error::invalid(
            "lattice",
            format!("{:?}", lattice.sides()),
            "bond sweeps need fewer than 2^32 bonds",
        ));
    }
    let threads = rayon::current_num_threads()
        .min(cfg.samples as usize)
        .max(1);
    let grid = cfg.track_observables.then(|| observable_grid(n_elements));
    let per_worker = bytes_per_worker(lattice) + grid.as_ref().map_or(0, |g| 48 * g.len() as u64);
    crate::memory::ensure_fits(
        format!(
            "a {} sweep of {:?} on {threads} threads",
            cfg.kind,
            lattice.sides()
        ),
        per_worker * threads as u64,
        "use a smaller side or fewer --threads",
    )?;

    let next = AtomicU64::new(0);
    let records = Mutex::new(vec![
        SampleRecord {
            first_any: NEVER,
            first_axis: [NEVER; MAX_DIM],
        };
        cfg.samples as usize
    ]);
    let totals = Mutex::new(grid.clone().map(ObservableSums::new));
    let kind_tag = cfg.kind as u64;
    rayon::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|_| {
                let mut worker = Worker::new(lattice, cfg.kind, grid.clone());
                let mut mine = Vec::new();
                loop {
                    let s = next.fetch_add(1, Ordering::Relaxed);
                    if s >= cfg.samples {
                        break;
                    }
                    let seed = derive_seed(cfg.seed, &[stream::SWEEP, kind_tag, first + s]);
                    mine.push((s, worker.run(seed)));
                    if let Some(p) = progress {
                        p.advance(1);
                    }
                }
                let mut recs = records
                    .lock()
                    .expect("no worker panics while holding the lock");
                for (s, r) in mine {
                    recs[s as usize] = r;
                }
                drop(recs);
                if let (Some(sums), Some(total)) = (
                    worker.sums.as_ref(),
                    totals.lock().expect("no poison").as_mut(),
                ) {
                    total.absorb(sums);
                }
            });
        }
    });
    Ok(Sweeps {
        lattice: *lattice,
        kind: cfg.kind,
        event: match lattice.boundary() {
            Boundary::Periodic => Event::Wrap,
            Boundary::Open => Event::Span,
        },
        n_elements,
        seed: cfg.seed,
        records: records.into_inner().expect("no poison"),
        observables: totals.into_inner().expect("no poison"),
    })
}

/// Cluster bookkeeping of one worker: a displaced forest on a torus, or a
/// plain union-find with face nodes with open boundaries.
enum Clusters {
    Torus8(Forest<[u32; 2]>),
    Torus12(Forest<[u32; 3]>),
    Open(OpenClusters),
}

/// Union-find for open boundaries, with the set of lattice faces each
/// cluster touches kept at its root: bit `2a` for the low face of axis `a`,
/// bit `2a + 1` for the high face. A cluster spans axis `a` when it holds both
/// bits. (Auxiliary face *nodes* in the union-find would be cheaper but join
/// clusters through the faces, corrupting sizes and faking spans between
/// different axes.) 8 bytes per site.
struct OpenClusters {
    uf: UnionFind,
    faces: Vec<u32>,
}

impl OpenClusters {
    /// Face bits of the site with coordinates `coords`.
    fn face_bits(lattice: &Lattice, coords: &[u32; MAX_DIM]) -> u32 {
        let mut bits = 0;
        for (axis, &x) in coords.iter().enumerate().take(lattice.dim()) {
            bits |= ((x == 0) as u32) << (2 * axis);
            bits |= ((x + 1 == lattice.side(axis)) as u32) << (2 * axis + 1);
        }
        bits
    }

    /// Merges two distinct roots; returns the axes the merged cluster spans.
    #[inline]
    fn merge_roots(&mut self, ru: u32, rv: u32) -> u32 {
        let big = self.uf.union_roots(ru, rv).expect("distinct roots");
        let bits = self.faces[ru as usize] | self.faces[rv as usize];
        self.faces[big as usize] = bits;
        spanned_axes(bits)
    }
}

/// Axes `a` whose both face bits (`2a`, `2a + 1`) are set in `bits`.
#[inline]
fn spanned_axes(bits: u32) -> u32 {
    let mut both = bits & (bits >> 1) & 0x5555_5555;
    // compress every other bit: bit 2a → bit a
    both = (both | (both >> 1)) & 0x3333_3333;
    both = (both | (both >> 2)) & 0x0F0F_0F0F;
    both = (both | (both >> 4)) & 0x00FF_00FF;
    (both | (both >> 8)) & 0x0000_FFFF
}

/// Per-sample counters of the observables.
#[derive(Default)]
struct Tally {
    largest: u32,
    clusters: u32,
    sum_sq: u64,
}

impl Tally {
    #[inline]
    fn merge(&mut self, a: u32, b: u32) {
        self.largest = self.largest.max(a + b);
        self.clusters -= 1;
        self.sum_sq += 2 * a as u64 * b as u64;
    }
}

/// One worker's reusable state.
struct Worker<'a> {
    lattice: &'a Lattice,
    kind: Kind,
    clusters: Clusters,
    sums: Option<ObservableSums>,
}

/// Dispatches `$body` on the concrete forest type of a torus.
macro_rules! with_forest {
    ($clusters:expr, $f:ident => $body:expr, open $o:ident => $obody:expr) => {
        match $clusters {
            Clusters::Torus8($f) => $body,
            Clusters::Torus12($f) => $body,
            Clusters::Open($o) => $obody,
        }
    };
}

impl<'a> Worker<'a> {
    fn new(lattice: &'a Lattice, kind: Kind, grid: Option<Vec<u32>>) -> Self {
        let n = lattice.n_sites() as usize;
        let clusters = match lattice.boundary() {
            Boundary::Open => Clusters::Open(OpenClusters {
                uf: UnionFind::new_empty(n),
                faces: vec![0; n],
            }),
            Boundary::Periodic => {
                let max_side = *lattice.sides().iter().max().expect("dim >= 1");
                let lanes = Lanes::for_lattice(lattice.dim(), max_side)
                    .expect("lattice sides fit 64-bit lanes");
                if lanes.words() == 1 {
                    Clusters::Torus8(Forest::new_empty(n, lanes))
                } else {
                    Clusters::Torus12(Forest::new_empty(n, lanes))
                }
            }
        };
        Worker {
            lattice,
            kind,
            clusters,
            sums: grid.map(ObservableSums::new),
        }
    }

    fn run(&mut self, seed: u64) -> SampleRecord {
        let lattice = self.lattice;
        let sums = self.sums.as_mut();
        match self.kind {
            Kind::Site => with_forest!(&mut self.clusters,
                f => site_torus(f, lattice, seed, sums),
                open o => site_open(o, lattice, seed, sums)),
            Kind::Bond => with_forest!(&mut self.clusters,
                f => bond_torus(f, lattice, seed, sums),
                open o => bond_open(o, lattice, seed, sums)),
        }
    }
}

/// Records first events and observables as a sample proceeds.
struct Recorder<'s> {
    record: SampleRecord,
    pending: u32,
    all_axes: u32,
    sums: Option<&'s mut ObservableSums>,
    next_grid: usize,
    tally: Tally,
}

impl<'s> Recorder<'s> {
    fn new(dim: usize, sums: Option<&'s mut ObservableSums>, tally: Tally) -> Self {
        let all_axes = ((1u64 << dim) - 1) as u32;
        let mut r = Recorder {
            record: SampleRecord {
                first_any: NEVER,
                first_axis: [NEVER; MAX_DIM],
            },
            pending: all_axes,
            all_axes,
            sums,
            next_grid: 0,
            tally,
        };
        r.observe(0);
        if let Some(s) = r.sums.as_deref_mut() {
            s.samples += 1;
        }
        r
    }

    /// Notes the event along `axes` at occupation count `n`.
    #[inline]
    fn events(&mut self, axes: u32, n: u32) {
        let new = axes & self.pending;
        if new == 0 {
            return;
        }
        if self.pending == self.all_axes {
            self.record.first_any = n;
        }
        self.pending &= !new;
        for axis in 0..MAX_DIM {
            if new >> axis & 1 == 1 {
                self.record.first_axis[axis] = n;
            }
        }
    }

    /// Records observables if `n` is a grid point.
    #[inline]
    fn observe(&mut self, n: u32) {
        if let Some(s) = self.sums.as_deref_mut() {
            if self.next_grid < s.grid.len() && s.grid[self.next_grid] == n {
                let g = self.next_grid;
                let l = self.tally.largest as u64;
                s.largest[g] += l;
                s.largest_sq[g] += (l * l) as u128;
                s.clusters[g] += self.tally.clusters as u64;
                s.second_moment[g] += (self.tally.sum_sq - l * l) as u128;
                self.next_grid += 1;
            }
        }
    }

    /// Whether the sample may stop: every event seen and no observables wanted.
    #[inline]
    fn done(&self) -> bool {
        self.pending == 0 && self.sums.is_none()
    }

    fn finish(self) -> SampleRecord {
        debug_assert!(self
            .sums
            .as_ref()
            .is_none_or(|s| self.next_grid == s.grid.len()));
        self.record
    }
}

/// How many steps ahead a sweep computes the sites (bonds) it will add and
/// prefetches the memory they touch.
const AHEAD: usize = 16;

/// The next [`AHEAD`] items of a sweep order (sites with their coordinates,
/// or bonds), each computed by `make`, which also prefetches the nodes it
/// will touch, AHEAD steps before it is used. The order is known in advance
/// (a [`RandomPermutation`]), so the cache misses of those random accesses
/// overlap with the work on the current item.
struct Lookahead<T> {
    ring: [T; AHEAD],
    len: u64,
}

impl<T: Copy + Default> Lookahead<T> {
    /// Items `0..min(AHEAD, len)` of an order of `len` items.
    fn new(len: u64, mut make: impl FnMut(u64) -> T) -> Self {
        let mut ring = [T::default(); AHEAD];
        for (k, slot) in ring
            .iter_mut()
            .enumerate()
            .take(len.min(AHEAD as u64) as usize)
        {
            *slot = make(k as u64);
        }
        Lookahead { ring, len }
    }

    /// Item `k` (taken in order 0, 1, …), replaced by item `k + AHEAD`.
    #[inline]
    fn take(&mut self, k: u64, make: impl FnOnce(u64) -> T) -> T {
        let slot = &mut self.ring[k as usize % AHEAD];
        let item = *slot;
        if k + (AHEAD as u64) < self.len {
            *slot = make(k + AHEAD as u64);
        }
        item
    }
}

/// The `k`-th site of the sweep order with its coordinates; calls
/// `prefetch` on each of its neighbours.
#[inline]
fn site_ahead(
    lattice: &Lattice,
    perm: &RandomPermutation,
    k: u64,
    prefetch: impl Fn(u32),
) -> (u32, Coords) {
    let w = perm.apply(k) as u32;
    let c = lattice.coords(w);
    for (axis, &x) in c.iter().enumerate().take(lattice.dim()) {
        for (v, _) in [lattice.forward(w, x, axis), lattice.backward(w, x, axis)]
            .into_iter()
            .flatten()
        {
            prefetch(v);
        }
    }
    (w, c)
}

/// Bond slot `b` (`site · dim + axis`) as `(u, v, axis)` with `v` the `+1`
/// neighbour of `u`; `None` for a slot across an open face.
#[inline]
fn bond_slot(lattice: &Lattice, b: u64) -> Option<(u32, u32, usize)> {
    let dim = lattice.dim() as u64;
    let u = (b / dim) as u32;
    let axis = (b % dim) as usize;
    lattice
        .forward(u, lattice.coord(u, axis), axis)
        .map(|(v, _)| (u, v, axis))
}

fn site_torus<N: Node>(
    f: &mut Forest<N>,
    lattice: &Lattice,
    seed: u64,
    sums: Option<&mut ObservableSums>,
) -> SampleRecord {
    f.clear_empty();
    let n_sites = lattice.n_sites();
    let perm = RandomPermutation::new(n_sites as u64, seed);
    let dim = lattice.dim();
    let mut rec = Recorder::new(dim, sums, Tally::default());
    let mut ahead = Lookahead::new(n_sites as u64, |j| {
        site_ahead(lattice, &perm, j, |v| f.prefetch(v))
    });
    for k in 0..n_sites {
        let (u, c) = ahead.take(k as u64, |j| {
            site_ahead(lattice, &perm, j, |v| f.prefetch(v))
        });
        f.occupy(u);
        rec.tally.clusters += 1;
        rec.tally.largest = rec.tally.largest.max(1);
        rec.tally.sum_sq += 1;
        let tracking = rec.pending != 0;
        let mut wrapped = 0;
        for (axis, &x) in c.iter().enumerate().take(dim) {
            for (nb, step) in [
                (lattice.forward(u, x, axis), 1),
                (lattice.backward(u, x, axis), -1),
            ] {
                let Some((v, _)) = nb else { continue };
                if !f.is_occupied(v) {
                    continue;
                }
                if tracking {
                    match f.link(u, v, axis, step) {
                        Link::Merged { size_a, size_b } => rec.tally.merge(size_a, size_b),
                        Link::Cycle { wrapped_axes } => wrapped |= wrapped_axes,
                    }
                } else if let Some((a, b)) = f.link_untracked(u, v) {
                    rec.tally.merge(a, b);
                }
            }
        }
        let n = k + 1;
        rec.events(wrapped, n);
        rec.observe(n);
        if rec.done() {
            break;
        }
    }
    rec.finish()
}

fn bond_torus<N: Node>(
    f: &mut Forest<N>,
    lattice: &Lattice,
    seed: u64,
    sums: Option<&mut ObservableSums>,
) -> SampleRecord {
    f.fill_singletons();
    let dim = lattice.dim();
    let n_sites = lattice.n_sites();
    let slots = lattice.n_bond_slots();
    let perm = RandomPermutation::new(slots, seed);
    let tally = Tally {
        largest: 1,
        clusters: n_sites,
        sum_sq: n_sites as u64,
    };
    let mut rec = Recorder::new(dim, sums, tally);
    let bond = |k: u64, f: &Forest<N>| {
        let (u, v, axis) =
            bond_slot(lattice, perm.apply(k)).expect("periodic lattices have every bond");
        f.prefetch(u);
        f.prefetch(v);
        (u, v, axis)
    };
    let mut ahead = Lookahead::new(slots, |j| bond(j, f));
    for k in 0..slots {
        let (u, v, axis) = ahead.take(k, |j| bond(j, f));
        if rec.pending != 0 {
            match f.link(u, v, axis, 1) {
                Link::Merged { size_a, size_b } => rec.tally.merge(size_a, size_b),
                Link::Cycle { wrapped_axes } => rec.events(wrapped_axes, k as u32 + 1),
            }
        } else if let Some((a, b)) = f.link_untracked(u, v) {
            rec.tally.merge(a, b);
        }
        rec.observe(k as u32 + 1);
        if rec.done() {
            break;
        }
    }
    rec.finish()
}

fn site_open(
    o: &mut OpenClusters,
    lattice: &Lattice,
    seed: u64,
    sums: Option<&mut ObservableSums>,
) -> SampleRecord {
    o.uf.clear_empty();
    let n_sites = lattice.n_sites();
    let perm = RandomPermutation::new(n_sites as u64, seed);
    let dim = lattice.dim();
    let mut rec = Recorder::new(dim, sums, Tally::default());
    let mut ahead = Lookahead::new(n_sites as u64, |j| {
        site_ahead(lattice, &perm, j, |v| o.uf.prefetch(v))
    });
    for k in 0..n_sites {
        let (u, c) = ahead.take(k as u64, |j| {
            site_ahead(lattice, &perm, j, |v| o.uf.prefetch(v))
        });
        o.uf.occupy(u);
        rec.tally.clusters += 1;
        rec.tally.largest = rec.tally.largest.max(1);
        rec.tally.sum_sq += 1;
        o.faces[u as usize] = OpenClusters::face_bits(lattice, &c);
        let mut spanned = spanned_axes(o.faces[u as usize]);
        for (axis, &x) in c.iter().enumerate().take(dim) {
            for nb in [lattice.forward(u, x, axis), lattice.backward(u, x, axis)] {
                let Some((v, _)) = nb else { continue };
                if !o.uf.is_occupied(v) {
                    continue;
                }
                let (ru, rv) = (o.uf.find(u), o.uf.find(v));
                if ru != rv {
                    rec.tally.merge(o.uf.root_size(ru), o.uf.root_size(rv));
                    spanned |= o.merge_roots(ru, rv);
                }
            }
        }
        rec.events(spanned, k + 1);
        rec.observe(k + 1);
        if rec.done() {
            break;
        }
    }
    rec.finish()
}

fn bond_open(
    o: &mut OpenClusters,
    lattice: &Lattice,
    seed: u64,
    sums: Option<&mut ObservableSums>,
) -> SampleRecord {
    let dim = lattice.dim();
    let n_sites = lattice.n_sites();
    o.uf.reset_singletons(n_sites as usize);
    let mut c = [0u32; MAX_DIM];
    for site in 0..n_sites {
        lattice.coords_into(site, &mut c);
        o.faces[site as usize] = OpenClusters::face_bits(lattice, &c);
    }
    let slots = lattice.n_bond_slots();
    let perm = RandomPermutation::new(slots, seed);
    let tally = Tally {
        largest: 1,
        clusters: n_sites,
        sum_sq: n_sites as u64,
    };
    let mut rec = Recorder::new(dim, sums, tally);
    // Sides are at least 2, so no single site spans: nothing happens at n = 0.
    let mut n = 0u32;
    let bond = |k: u64, uf: &UnionFind| {
        let slot = bond_slot(lattice, perm.apply(k));
        if let Some((u, v, _)) = slot {
            uf.prefetch(u);
            uf.prefetch(v);
        }
        slot
    };
    let mut ahead = Lookahead::new(slots, |j| bond(j, &o.uf));
    for k in 0..slots {
        let Some((u, v, _)) = ahead.take(k, |j| bond(j, &o.uf)) else {
            continue;
        };
        n += 1;
        let (ru, rv) = (o.uf.find(u), o.uf.find(v));
        if ru != rv {
            rec.tally.merge(o.uf.root_size(ru), o.uf.root_size(rv));
            let spanned = o.merge_roots(ru, rv);
            rec.events(spanned, n);
        }
        rec.observe(n);
        if rec.done() {
            break;
        }
    }
    rec.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::percolation::canonical::crossing_probability;
    use crate::rng::unit_rng;
    use rand::Rng;
    use std::collections::VecDeque;

    /// Independent oracle: BFS over one configuration. Returns the bit mask of
    /// axes along which some cluster wraps (periodic: a BFS non-tree edge
    /// whose endpoints' unwrapped positions disagree) or spans (open: touches
    /// both faces). `bond_open(site, axis)` says whether the forward bond is open.
    fn oracle(
        lattice: &Lattice,
        site_open: &[bool],
        bond_open: impl Fn(u32, usize) -> bool,
    ) -> u32 {
        let n = lattice.n_sites() as usize;
        let d = lattice.dim();
        let mut pos: Vec<Option<Vec<i64>>> = vec![None; n];
        let mut mask = 0u32;
        for start in 0..n {
            if !site_open[start] || pos[start].is_some() {
                continue;
            }
            pos[start] = Some(vec![0; d]);
            let (mut low, mut high) = (0u32, 0u32);
            let mut queue = VecDeque::from([start as u32]);
            while let Some(u) = queue.pop_front() {
                let c = lattice.coords(u);
                for (a, &x) in c.iter().enumerate().take(d) {
                    if x == 0 {
                        low |= 1 << a;
                    }
                    if x + 1 == lattice.side(a) {
                        high |= 1 << a;
                    }
                }
                let pu = pos[u as usize].clone().unwrap();
                lattice.for_each_neighbor(u, |a, step, v| {
                    let bond = if step > 0 {
                        bond_open(u, a)
                    } else {
                        bond_open(v, a)
                    };
                    if !bond || !site_open[v as usize] {
                        return;
                    }
                    let mut pv = pu.clone();
                    pv[a] += step as i64;
                    match &pos[v as usize] {
                        None => {
                            pos[v as usize] = Some(pv);
                            queue.push_back(v);
                        }
                        Some(old) => {
                            for ax in 0..d {
                                if old[ax] != pv[ax] {
                                    mask |= 1 << ax;
                                }
                            }
                        }
                    }
                });
            }
            if lattice.boundary() == Boundary::Open {
                mask |= low & high;
            }
        }
        mask
    }

    /// Compares the canonical crossing probability of Newman–Ziff sweeps with
    /// direct sampling of independent configurations at fixed p, checked by
    /// the BFS oracle. Tolerance: 4 combined standard errors.
    fn check_against_direct_sampling(lattice: Lattice, kind: Kind, p: f64) {
        const SAMPLES: u64 = 3000;
        let sweeps = run_sweeps(
            &lattice,
            &SweepConfig {
                kind,
                samples: SAMPLES,
                seed: 17,
                track_observables: false,
            },
            None,
        )
        .unwrap();
        let mut hits = [0u32; 2];
        let mut rng = unit_rng(99, &[lattice.dim() as u64]);
        for _ in 0..SAMPLES {
            let n = lattice.n_sites() as usize;
            let (sites, bonds): (Vec<bool>, Vec<bool>) = match kind {
                Kind::Site => (
                    (0..n).map(|_| rng.random::<f64>() < p).collect(),
                    vec![true; n * lattice.dim()],
                ),
                Kind::Bond => (
                    vec![true; n],
                    (0..n * lattice.dim())
                        .map(|_| rng.random::<f64>() < p)
                        .collect(),
                ),
            };
            let mask = oracle(&lattice, &sites, |s, a| {
                bonds[s as usize * lattice.dim() + a]
            });
            hits[0] += (mask != 0) as u32;
            hits[1] += mask & 1;
        }
        for (axis, h) in [None, Some(0)].into_iter().zip(hits) {
            let (r, r_err) = crossing_probability(&sweeps.first_events(axis), sweeps.n_elements, p);
            let direct = h as f64 / SAMPLES as f64;
            let direct_err = (direct * (1.0 - direct) / SAMPLES as f64).sqrt();
            let tol = 4.0 * (r_err * r_err + direct_err * direct_err).sqrt();
            assert!((r - direct).abs() < tol, "{lattice:?} {kind} p={p} axis={axis:?}: NZ {r:.4}±{r_err:.4} vs direct {direct:.4}±{direct_err:.4}");
        }
    }

    #[test]
    fn site_wrapping_matches_direct_sampling() {
        check_against_direct_sampling(
            Lattice::new(&[6, 7], Boundary::Periodic).unwrap(),
            Kind::Site,
            0.58,
        );
        check_against_direct_sampling(
            Lattice::hypercube(3, 4, Boundary::Periodic).unwrap(),
            Kind::Site,
            0.33,
        );
    }

    #[test]
    fn bond_wrapping_matches_direct_sampling() {
        check_against_direct_sampling(
            Lattice::new(&[5, 6], Boundary::Periodic).unwrap(),
            Kind::Bond,
            0.5,
        );
        check_against_direct_sampling(
            Lattice::hypercube(3, 3, Boundary::Periodic).unwrap(),
            Kind::Bond,
            0.27,
        );
    }

    #[test]
    fn spanning_matches_direct_sampling() {
        check_against_direct_sampling(
            Lattice::new(&[6, 5], Boundary::Open).unwrap(),
            Kind::Site,
            0.6,
        );
        check_against_direct_sampling(
            Lattice::hypercube(3, 4, Boundary::Open).unwrap(),
            Kind::Bond,
            0.3,
        );
    }

    #[test]
    fn one_dimension_percolates_only_when_full() {
        // p_c = 1 in d = 1: a ring wraps, a segment spans, only when every
        // element is occupied.
        for (boundary, kind) in [
            (Boundary::Periodic, Kind::Site),
            (Boundary::Periodic, Kind::Bond),
            (Boundary::Open, Kind::Site),
            (Boundary::Open, Kind::Bond),
        ] {
            let l = Lattice::new(&[9], boundary).unwrap();
            let s = run_sweeps(
                &l,
                &SweepConfig {
                    kind,
                    samples: 50,
                    seed: 3,
                    track_observables: false,
                },
                None,
            )
            .unwrap();
            assert!(
                s.records.iter().all(|r| r.first_any as u64 == s.n_elements),
                "{boundary} {kind}"
            );
        }
    }

    #[test]
    fn two_by_two_open_spanning_is_exact() {
        // On the open 2×2 lattice a cluster spans axis 0 once both sites of a
        // column are occupied. Of the C(4, 2) = 6 two-site sets, 2 are columns;
        // every three-site set holds a column. So the first span along axis 0
        // comes at n = 2 with probability 1/3 and at n = 3 otherwise.
        const SAMPLES: u64 = 6000;
        let l = Lattice::new(&[2, 2], Boundary::Open).unwrap();
        let s = run_sweeps(
            &l,
            &SweepConfig {
                kind: Kind::Site,
                samples: SAMPLES,
                seed: 5,
                track_observables: false,
            },
            None,
        )
        .unwrap();
        let firsts = s.first_events(Some(0));
        assert!(firsts.iter().all(|&n| n == 2 || n == 3));
        let at_two = firsts.iter().filter(|&&n| n == 2).count() as f64 / SAMPLES as f64;
        let se = (1.0 / 3.0 * 2.0 / 3.0 / SAMPLES as f64).sqrt();
        assert!((at_two - 1.0 / 3.0).abs() < 4.0 * se, "{at_two}");
    }

    #[test]
    fn observables_end_in_one_full_cluster() {
        for boundary in [Boundary::Periodic, Boundary::Open] {
            for kind in [Kind::Site, Kind::Bond] {
                let l = Lattice::new(&[5, 4], boundary).unwrap();
                let s = run_sweeps(
                    &l,
                    &SweepConfig {
                        kind,
                        samples: 10,
                        seed: 1,
                        track_observables: true,
                    },
                    None,
                )
                .unwrap();
                let o = s.observables.unwrap();
                let last = o.grid.len() - 1;
                assert_eq!(o.grid[last] as u64, s.n_elements);
                assert_eq!(o.largest[last], 10 * 20, "{boundary} {kind}");
                assert_eq!(o.clusters[last], 10);
                assert_eq!(o.second_moment[last], 0);
                let first_clusters = if kind == Kind::Site { 0 } else { 10 * 20 };
                assert_eq!(o.clusters[0], first_clusters);
            }
        }
    }

    #[test]
    fn results_do_not_depend_on_thread_count() {
        let l = Lattice::new(&[16, 16], Boundary::Periodic).unwrap();
        let cfg = SweepConfig {
            kind: Kind::Site,
            samples: 64,
            seed: 8,
            track_observables: true,
        };
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| run_sweeps(&l, &cfg, None).unwrap())
        };
        let (a, b) = (run(1), run(2));
        assert_eq!(a.records, b.records);
        assert_eq!(a.observables, b.observables);
    }
}

#[cfg(test)]
mod range_tests {
    use super::*;

    #[test]
    fn consecutive_ranges_concatenate_to_one_run() {
        let l = Lattice::new(&[12, 12], Boundary::Periodic).unwrap();
        let cfg = |samples| SweepConfig {
            kind: Kind::Bond,
            samples,
            seed: 5,
            track_observables: false,
        };
        let whole = run_sweeps(&l, &cfg(30), None).unwrap();
        let mut parts = run_sweeps_from(&l, &cfg(7), 0, None).unwrap().records;
        parts.extend(run_sweeps_from(&l, &cfg(23), 7, None).unwrap().records);
        assert_eq!(whole.records, parts);
        // A different range is a different set of samples.
        let shifted = run_sweeps_from(&l, &cfg(30), 1, None).unwrap();
        assert_ne!(whole.records, shifted.records);
    }
}
