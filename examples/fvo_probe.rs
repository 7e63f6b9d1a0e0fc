use ismc::inputspace::fvo::{synthesize, FvoConfig};
use ismc::nn::Classifier;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let spec = &args[1];
    let shape: Vec<usize> = args[2].split('x').map(|s| s.parse().unwrap()).collect();
    let wd: f64 = args[3].parse().unwrap();
    let net = ismc::nn::zoo::load_spec(spec, &shape, 10).unwrap();
    for iters in args[4].split(',').map(|s| s.parse::<usize>().unwrap()) {
        let cfg = FvoConfig {
            iterations: iters,
            weight_decay: wd,
            ..FvoConfig::default()
        };
        let t = std::time::Instant::now();
        let r = synthesize(&net, &[0, 1], &[1, 2], &cfg).unwrap();
        let len = net.spec().item_len();
        for i in 0..2 {
            let x = &r.inputs[i * len..(i + 1) * len];
            let n: f64 = x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
            let m = (9.0 / r.losses[i] as f64).ln();
            println!("{spec} wd={wd} iters={iters} i={i} loss={:.3e} it={} |x|={n:.1} floor_pred={:.3e} t={:.0}s",
                r.losses[i], r.iterations[i], wd * n * n / m, t.elapsed().as_secs_f64());
        }
    }
}
