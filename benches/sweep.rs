//! Newman–Ziff sweep throughput: one full site sweep (every site occupied,
//! wrapping tracked, observables recorded) of a ~16 M-site torus, one thread.
//!
//! Run: `cargo bench --bench sweep`. Reported as elements (sites) per second.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ismc::lattice::{Boundary, Lattice};
use ismc::percolation::{run_sweeps, Kind, SweepConfig};

/// Sides giving about 16 M sites in d = 2..6.
const LATTICES: [(usize, usize); 5] = [(2, 4096), (3, 256), (4, 64), (5, 28), (6, 16)];

fn sweeps(c: &mut Criterion) {
    ismc::memory::tune_allocator();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let mut group = c.benchmark_group("site_sweep_periodic");
    group.sample_size(10);
    for (dim, side) in LATTICES {
        let lattice = Lattice::hypercube(dim, side, Boundary::Periodic).expect("lattice");
        group.throughput(Throughput::Elements(lattice.n_sites() as u64));
        let mut seed = 0;
        group.bench_function(format!("d{dim}_L{side}"), |b| {
            b.iter(|| {
                seed += 1;
                let cfg = SweepConfig {
                    kind: Kind::Site,
                    samples: 1,
                    seed,
                    track_observables: true,
                };
                pool.install(|| run_sweeps(&lattice, &cfg, None).expect("sweep"))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, sweeps);
criterion_main!(benches);
