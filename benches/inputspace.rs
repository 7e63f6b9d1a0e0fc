//! Throughput of the input-space measurements on the bundled LeNet5:
//! loss along a 1000-point linear path at batch 256, 1024 bypass (Adam)
//! iterations on one input, FGSM and 40-step PGD on a batch of 256 digits.
//! Run with `cargo bench --bench inputspace`; criterion reports inputs/s
//! (elements) or time per iteration. Threads: 2, and the measured calls
//! run inside the pool (as the CLI runs every command), so the calling
//! thread is one of the two workers.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ismc::inputspace::attack::{fgsm, pgd, Goal, PgdConfig};
use ismc::inputspace::bypass::{bend, BypassConfig};
use ismc::inputspace::path::{loss_along, Path};

const BATCH: usize = 256;

fn bench(c: &mut Criterion) {
    ismc::memory::tune_allocator();
    std::env::set_var("RAYON_NUM_THREADS", "2");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let model = ismc::nn::zoo::load_named("lenet5-mnist").unwrap();
    let data = ismc::data::load("mnist").unwrap();
    let idx: Vec<usize> = (0..BATCH).map(|i| i * 37 % data.len()).collect();
    let x = data.values(&idx);
    let labels: Vec<u32> = idx.iter().map(|&i| data.labels()[i] as u32).collect();
    let (a, cc) = (data.item(0), data.item(1));

    let mut g = c.benchmark_group("inputspace/lenet5");
    g.sample_size(10);
    let path = Path::linear(a.clone(), cc.clone()).unwrap();
    g.throughput(Throughput::Elements(1000));
    g.bench_function("path-loss-1000-points-batch-256", |b| {
        b.iter(|| pool.install(|| loss_along(&model, &path, 0, 1000, BATCH).unwrap()))
    });
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("fgsm-batch-256", |b| {
        b.iter(|| pool.install(|| fgsm(&model, &x, &labels, Goal::Untargeted, 0.3, BATCH).unwrap()))
    });
    let cfg = PgdConfig::default();
    g.bench_function("pgd-40-batch-256", |b| {
        b.iter(|| {
            pool.install(|| pgd(&model, &x, &labels, Goal::Untargeted, &cfg, 1, BATCH).unwrap())
        })
    });
    g.throughput(Throughput::Elements(1));
    let d: Vec<f32> = cc.iter().zip(&a).map(|(c, a)| c - a).collect();
    let mid: Vec<f32> = a.iter().zip(&cc).map(|(a, c)| 0.5 * (a + c)).collect();
    let bcfg = BypassConfig::default();
    g.bench_function("bypass-1024-iterations-one-input", |b| {
        b.iter(|| pool.install(|| bend(&model, &mid, &d, &[0], &bcfg).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
