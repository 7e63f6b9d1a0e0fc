//! Throughput of the hot path: forward + loss and forward + input gradient
//! at batch 256, with 1 and 2 threads, for the bundled LeNet5 and an untrained
//! MLP 784-256-256-10. Run with `cargo bench --bench nn`; criterion reports
//! inputs/s (elements).

use candle_core::Tensor;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ismc::nn::arch::{mlp, Arch};
use ismc::nn::{Classifier, Network};

const BATCH: usize = 256;

fn batch() -> (Tensor, Vec<u32>) {
    let data = ismc::data::load("mnist").unwrap();
    let idx: Vec<usize> = (0..BATCH).map(|i| i * 37 % data.len()).collect();
    let targets = idx.iter().map(|&i| data.labels()[i] as u32).collect();
    (data.images(&idx).unwrap(), targets)
}

fn untrained_mlp() -> Network {
    let arch = Arch::Mlp(mlp::Config::default());
    let vm = candle_nn::VarMap::new();
    let vb =
        candle_nn::VarBuilder::from_varmap(&vm, candle_core::DType::F32, &candle_core::Device::Cpu);
    arch.build(vb).unwrap();
    ismc::nn::init::apply(&vm, ismc::nn::init::Init::PytorchDefault, 1).unwrap();
    let tensors: Vec<(String, Tensor)> = vm
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    Network::from_tensors(arch, tensors).unwrap()
}

fn bench(c: &mut Criterion) {
    let (x, targets) = batch();
    let models: Vec<(&str, Network)> = vec![
        ("lenet5", ismc::nn::zoo::load_named("lenet5-mnist").unwrap()),
        ("mlp-784-256-256-10", untrained_mlp()),
    ];
    for threads in [1usize, 2] {
        // candle's matrix products read RAYON_NUM_THREADS; the pool bounds the rest.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for (name, model) in &models {
            let mut g = c.benchmark_group(format!("{name}/threads-{threads}"));
            g.throughput(Throughput::Elements(BATCH as u64));
            g.sample_size(20);
            g.bench_function("forward+loss", |b| {
                b.iter(|| pool.install(|| model.loss(&x, &targets).unwrap()))
            });
            g.bench_function("forward+input-grad", |b| {
                b.iter(|| pool.install(|| model.loss_and_input_grad(&x, &targets).unwrap()))
            });
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
