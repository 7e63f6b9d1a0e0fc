//! The sweep runner: samples spread over rayon workers, each worker with
//! its reusable cluster bookkeeping, and the records and observable sums
//! collected in sample order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::open::{bond_open, site_open, OpenClusters};
use super::torus::{bond_torus, site_torus};
use super::{Event, Kind, ObservableSums, SampleRecord, SweepConfig, Sweeps, NEVER};
use crate::error::{Error, Result};
use crate::lattice::{Boundary, Lattice, MAX_DIM};
use crate::percolation::forest::{Forest, Lanes};
use crate::progress::Progress;
use crate::rng::{derive_seed, stream};
use crate::unionfind::UnionFind;

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
            "{} samples of a {} sweep of {:?} on {threads} threads",
            cfg.samples,
            cfg.kind,
            lattice.sides()
        ),
        (per_worker * threads as u64).saturating_add(
            cfg.samples
                .saturating_mul(std::mem::size_of::<SampleRecord>() as u64),
        ),
        "use a smaller side, fewer --threads or fewer samples",
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
