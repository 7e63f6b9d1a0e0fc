//! Throughput of connected-component labelling (`ismc lattice label`) on
//! ~16 M-site grids at the site-percolation threshold of each dimension,
//! open boundaries, cluster sizes included. Single thread.
//!
//! Run with `cargo bench --bench label`; throughput is reported in sites/s.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::Rng;

use ismc::percolation::label::label;

/// Master seed of the benchmark grids.
const SEED: u64 = 2024;

/// (shape, site threshold p_c(d)) for d = 2..6, each about 16 M sites.
const CASES: [(&[usize], f64); 5] = [
    (&[4096, 4096], 0.5927),
    (&[256, 256, 256], 0.3116),
    (&[64, 64, 64, 64], 0.1969),
    (&[28, 28, 28, 28, 28], 0.1408),
    (&[16, 16, 16, 16, 16, 16], 0.1090),
];

fn grid(shape: &[usize], density: f64) -> Vec<bool> {
    let mut rng = ismc::rng::unit_rng(SEED, &[shape.len() as u64]);
    let n: usize = shape.iter().product();
    (0..n).map(|_| rng.random::<f64>() < density).collect()
}

fn bench_label(c: &mut Criterion) {
    ismc::memory::tune_allocator();
    let mut group = c.benchmark_group("label_open_pc");
    group.sample_size(10);
    for (shape, p_c) in CASES {
        let occupied = grid(shape, p_c);
        group.throughput(Throughput::Elements(occupied.len() as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("d{}", shape.len())),
            &occupied,
            |b, occ| b.iter(|| label(occ, shape, false).expect("valid grid")),
        );
    }
    group.finish();
}

criterion_group!(benches, bench_label);
criterion_main!(benches);
