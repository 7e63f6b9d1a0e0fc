//! Throughput of the hot path: forward + loss and forward + input gradient,
//! with 1 and 2 threads, for the bundled LeNet5 and an untrained MLP
//! 784-256-256-10 at batch 256 (MNIST digits), and an untrained CIFAR-shaped
//! ResNet-18 (`untrained:resnet18:pytorch:1`, 3×32×32 uniform noise) at
//! batch [`RESNET_BATCH`] — about 0.56 GFLOP per input forward, so a batch
//! of 256 would take seconds per iteration; the fetched small MNIST CNN
//! `mnist-cnn-small` at batch 256 (skipped with a note when not fetched);
//! and at batch 16 (all threads)
//! for the fetched ImageNet models `squeezenet-1.1` and `efficientnet-lite0`
//! on the fetched photos (group `imagenet/…`, skipped with a note when not
//! fetched). Run with `cargo bench --bench nn`; criterion reports inputs/s
//! (elements).
//!
//! The machine these run on is shared, so wall-clock figures move with the
//! load. With `ISMC_NN_CPU_TIME=ITERS` set, the bench first prints the
//! process CPU time (user + system, from `/proc/self/stat`, Linux only) per
//! batch of every case over ITERS iterations, a figure that other processes
//! disturb much less: `ISMC_NN_CPU_TIME=10 cargo bench --bench nn -- lenet5`.

use candle_core::Tensor;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ismc::nn::arch::{mlp, Arch};
use ismc::nn::{Classifier, Network};

const BATCH: usize = 256;
/// Batch of the ResNet-18 cases.
const RESNET_BATCH: usize = 32;

/// A batch of inputs with one target each.
type Batch = (Tensor, Vec<u32>);

fn batch() -> Batch {
    let data = ismc::data::load("mnist").unwrap();
    let idx: Vec<usize> = (0..BATCH).map(|i| i * 37 % data.len()).collect();
    let targets = idx.iter().map(|&i| data.labels()[i] as u32).collect();
    (data.images(&idx).unwrap(), targets)
}

/// Uniform noise in [0, 1), 3×32×32, with arbitrary targets.
fn cifar_batch() -> Batch {
    use rand::Rng;
    let mut rng = ismc::rng::unit_rng(1, &[0xBE]);
    let v: Vec<f32> = (0..RESNET_BATCH * 3 * 32 * 32)
        .map(|_| rng.random::<f32>())
        .collect();
    let x = Tensor::from_vec(v, (RESNET_BATCH, 3, 32, 32), &candle_core::Device::Cpu).unwrap();
    (x, (0..RESNET_BATCH as u32).map(|i| i % 10).collect())
}

fn untrained_mlp() -> Network {
    let arch = Arch::Mlp(mlp::Config::default());
    ismc::nn::zoo::untrained(arch, ismc::nn::init::Init::PytorchDefault, 1).unwrap()
}

/// CPU time (user + system) of this process so far, in seconds; `None`
/// where `/proc/self/stat` is unavailable. Assumes 100 clock ticks per
/// second, the Linux default.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Prints CPU and wall time per batch (of `batch` inputs) of `f` over
/// `iters` calls.
fn report_cpu_time(label: &str, batch: usize, iters: usize, mut f: impl FnMut()) {
    f();
    let (c0, t0) = (cpu_seconds(), std::time::Instant::now());
    for _ in 0..iters {
        f();
    }
    let wall = t0.elapsed().as_secs_f64() / iters as f64;
    if let (Some(a), Some(b)) = (c0, cpu_seconds()) {
        let cpu = (b - a) / iters as f64;
        eprintln!(
            "{label}: cpu {:.1} ms/batch ({:.0} inputs per cpu-second), wall {:.1} ms/batch",
            cpu * 1e3,
            batch as f64 / cpu,
            wall * 1e3
        );
    }
}

fn bench(c: &mut Criterion) {
    ismc::memory::tune_allocator();
    let mnist = batch();
    let cifar = cifar_batch();
    let resnet =
        ismc::nn::zoo::load_spec("untrained:resnet18:pytorch:1", &[3, 32, 32], 10).unwrap();
    let mut models: Vec<(&str, Network, &Batch)> = vec![
        (
            "lenet5",
            ismc::nn::zoo::load_named("lenet5-mnist").unwrap(),
            &mnist,
        ),
        ("mlp-784-256-256-10", untrained_mlp(), &mnist),
        ("resnet18-cifar", resnet, &cifar),
    ];
    match ismc::nn::zoo::load_spec("mnist-cnn-small", &[1, 28, 28], 10) {
        Ok(m) => models.push(("mnist-cnn-small", m, &mnist)),
        Err(e) => eprintln!("skipping mnist-cnn-small: {e}"),
    }
    for threads in [1usize, 2] {
        // candle's matrix products read RAYON_NUM_THREADS; the pool bounds the rest.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for (name, model, (x, targets)) in &models {
            let n = x.dims()[0];
            if let Some(iters) = std::env::var("ISMC_NN_CPU_TIME")
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
            {
                let label = format!("{name}/threads-{threads}");
                report_cpu_time(&format!("{label}/forward+loss"), n, iters, || {
                    pool.install(|| model.loss(x, targets).unwrap());
                });
                report_cpu_time(&format!("{label}/forward+input-grad"), n, iters, || {
                    pool.install(|| model.loss_and_input_grad(x, targets).unwrap());
                });
            }
            let mut g = c.benchmark_group(format!("{name}/threads-{threads}"));
            g.throughput(Throughput::Elements(n as u64));
            g.sample_size(if n < BATCH { 10 } else { 20 });
            g.bench_function("forward+loss", |b| {
                b.iter(|| pool.install(|| model.loss(x, targets).unwrap()))
            });
            g.bench_function("forward+input-grad", |b| {
                b.iter(|| pool.install(|| model.loss_and_input_grad(x, targets).unwrap()))
            });
            g.finish();
        }
    }
}

/// Batch size of the ImageNet cases.
const IMAGENET_BATCH: usize = 16;

fn bench_imagenet(c: &mut Criterion) {
    ismc::memory::tune_allocator();
    for name in ["squeezenet-1.1", "efficientnet-lite0"] {
        let model = match ismc::nn::zoo::load_spec(name, &[], 0) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("skipping imagenet/{name}: {e}");
                continue;
            }
        };
        let side = model.spec().item_shape[1];
        let paths: Result<Vec<_>, _> = ismc::data::photos::PHOTOS
            .iter()
            .cycle()
            .take(IMAGENET_BATCH)
            .map(|p| ismc::data::photos::path_of(p.name))
            .collect();
        let paths = match paths {
            Ok(p) => p,
            Err(e) => {
                eprintln!("skipping imagenet/{name}: {e}");
                continue;
            }
        };
        let x = ismc::data::photos::batch(&paths, side).unwrap();
        let targets: Vec<u32> = (0..IMAGENET_BATCH as u32).map(|i| i * 61 % 1000).collect();
        let mut g = c.benchmark_group(format!("imagenet/{name}/batch-{IMAGENET_BATCH}"));
        g.throughput(Throughput::Elements(IMAGENET_BATCH as u64));
        g.sample_size(10);
        g.bench_function("forward+loss", |b| {
            b.iter(|| model.loss(&x, &targets).unwrap())
        });
        g.bench_function("forward+input-grad", |b| {
            b.iter(|| model.loss_and_input_grad(&x, &targets).unwrap())
        });
        g.finish();
    }
}

criterion_group!(benches, bench, bench_imagenet);
criterion_main!(benches);
