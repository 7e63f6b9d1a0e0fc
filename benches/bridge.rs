//! Bridge benchmarks: dense LeNet5 slice evaluation (evaluations/s),
//! union-find in loss order on a 10⁶-site field, and two one-shot
//! measurements printed to stderr (a single run is the unit of interest and
//! takes seconds, so criterion's repetition would only multiply the cost):
//! invasion on a k = 16, L = 33 slice (33¹⁶ ≈ 2·10²⁴ virtual sites) of the
//! trained LeNet5 for a real–real pair, and the quick slice study.
//!
//! Run: `cargo bench --bench bridge` (or `-- dense` etc. for one group).

use std::time::Instant;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ismc::bridge::sweep_loss_order;
use ismc::bridge::SliceStudyConfig;
use ismc::bridge::{evaluate_dense, DenseOptions, LossField};
use ismc::bridge::{invade, ModelSites};
use ismc::bridge::{measure_slice, Frame, PairLabel};
use ismc::bridge::{GridSpec, Slice};
use ismc::nn::Network;

fn pairs(n: usize) -> Vec<(Vec<f32>, Vec<f32>, u32)> {
    let data = ismc::data::load("mnist").unwrap();
    (0..n)
        .map(|p| {
            let class = (p % 10) as u8;
            let idx: Vec<usize> = (0..data.len())
                .filter(|&i| data.labels()[i] == class)
                .skip(2 * (p / 10))
                .take(2)
                .collect();
            (data.item(idx[0]), data.item(idx[1]), class as u32)
        })
        .collect()
}

fn lenet() -> Network {
    ismc::nn::zoo::load_named("lenet5-mnist").unwrap()
}

fn dense(c: &mut Criterion) {
    ismc::memory::tune_allocator();
    let model = lenet();
    let (a, cc, class) = pairs(1).remove(0);
    let slice = Slice::random(&a, &cc, &GridSpec::cube(2, 64, 1.0), 1).unwrap();
    let mut g = c.benchmark_group("dense");
    g.sample_size(10);
    g.throughput(Throughput::Elements(slice.n_sites() as u64));
    g.bench_function(BenchmarkId::new("lenet5", "64x64"), |b| {
        b.iter(|| evaluate_dense(&model, &slice, class, &DenseOptions::default()).unwrap())
    });
    g.finish();
}

fn loss_order(c: &mut Criterion) {
    ismc::memory::tune_allocator();
    let n = 1_000_000u64;
    let values = (0..n).map(|i| (ismc::rng::mix64(i) >> 40) as f32).collect();
    let field = LossField::new(vec![1000, 1000], values).unwrap();
    let mut g = c.benchmark_group("loss_order");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    g.bench_function("1000x1000", |b| {
        b.iter(|| sweep_loss_order(&field, 500, 999 * 1000 + 500, 100).unwrap())
    });
    g.finish();
}

/// One-shot: invasion on k = 16, L = 33, and the quick study.
fn one_shots(_: &mut Criterion) {
    let model = lenet();
    let (a, c, class) = pairs(1).remove(0);
    let slice = Slice::random(&a, &c, &GridSpec::cube(16, 33, 1.0), 7).unwrap();
    let mut oracle = ModelSites::new(&model, &slice, class).unwrap();
    let r = invade(&mut oracle, slice.a_coords(), slice.c_coords(), 5_000_000).unwrap();
    eprintln!(
        "invasion k=16 L=33 lenet5 real-real: barrier {} after {} invaded, {} evaluations in {:.1} s ({:.0} evaluations/s), fraction of {:.3e} sites evaluated {:.3e}",
        r.minimax_barrier,
        r.invaded,
        r.evaluations,
        r.seconds,
        r.evaluations_per_sec(),
        r.grid_sites,
        r.fraction_evaluated
    );
    let cfg = SliceStudyConfig::quick();
    let started = Instant::now();
    let mut spans = vec![Vec::new(); cfg.dims.len()];
    let label = PairLabel {
        model: "lenet5-mnist",
        pair_kind: "real-real",
        pair: 0,
    };
    for (p, (a, c, class)) in pairs(3).into_iter().enumerate() {
        let frame = Frame::random(a.len(), cfg.frame_size(), p as u64);
        for (i, &k) in cfg.dims.iter().enumerate() {
            let m = measure_slice(
                &model,
                &label,
                &a,
                &c,
                class,
                &frame,
                &cfg.plan(k),
                p as u64,
            )
            .unwrap();
            spans[i].extend(m.record.p_span);
        }
    }
    eprintln!(
        "quick study slices: 3 pairs × k = 1..4 (with nulls and surrogates) in {:.1} s; p_span per k: {:?}",
        started.elapsed().as_secs_f64(),
        spans
    );
}

criterion_group!(benches, dense, loss_order, one_shots);
criterion_main!(benches);
