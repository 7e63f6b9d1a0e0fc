//! `ismc predict`: the top classes of a model for real images.

use std::process::ExitCode;

use clap::Args;
use ismc::data::{imagenet_classes, photos};
use ismc::nn::{zoo, Classifier};
use serde::Serialize;

/// Arguments of `ismc predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Model: a fetched ImageNet name (`squeezenet-1.1`, `efficientnet-lite0`),
    /// a bundled name (`lenet5-mnist`, …) or a weights file written by ismc.
    #[arg(long)]
    pub model: String,
    /// Images: PNG or JPEG files, names of fetched photos (`chelsea`,
    /// `coffee`, `astronaut`, `motorcycle`, `rocket`), or `.npy` arrays of
    /// one input's values. Images are resized (shorter side) and
    /// centre-cropped to the model's input; grey for one-channel models.
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
    /// How many classes to show per image.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Print one JSON array, an object per image.
    #[arg(long)]
    pub json: bool,
    /// Also write each image as the model sees it (resized, cropped, in
    /// [0, 1], shape `item_shape`) to DIR/NAME.npy, for `ismc path`,
    /// `bypass`, `attack` and `slice` (`--pair DIR/coffee.npy,…`).
    #[arg(long, value_name = "DIR")]
    pub save_npy: Option<std::path::PathBuf>,
}

/// One ranked class.
#[derive(Debug, Serialize)]
struct Ranked {
    class: usize,
    name: String,
    probability: f64,
    logit: f32,
}

/// The ranking of one image.
#[derive(Debug, Serialize)]
struct ImagePrediction {
    image: String,
    model: String,
    top: Vec<Ranked>,
}

/// Softmax probabilities (computed in f64) of one row of logits.
fn softmax(logits: &[f32]) -> Vec<f64> {
    let m = logits
        .iter()
        .fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
    let e: Vec<f64> = logits.iter().map(|&z| (z as f64 - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// Class names for a model with `classes` outputs: the ImageNet names for
/// 1000 classes (if fetched), digits for 10, else `class i`.
fn class_names(classes: usize) -> Vec<String> {
    if classes == imagenet_classes::CLASSES {
        match imagenet_classes::load() {
            Ok(n) => return n,
            Err(e) => eprintln!("note: {e}; showing class indices"),
        }
    }
    if classes == 10 {
        return (0..10).map(|d| d.to_string()).collect();
    }
    (0..classes).map(|i| format!("class {i}")).collect()
}

/// Runs `ismc predict`.
pub fn run(args: PredictArgs) -> anyhow::Result<ExitCode> {
    if args.top == 0 {
        return Err(ismc::Error::invalid("--top", 0, "expected at least 1").into());
    }
    let model = zoo::load_spec(&args.model, &[1, 28, 28], 10)?;
    let spec = model.spec().clone();
    let names = class_names(spec.classes);
    let mut out = Vec::with_capacity(args.images.len());
    for arg in &args.images {
        let path = photos::resolve(arg)?;
        let x = photos::input_for(&path, &spec.item_shape)?;
        if let Some(dir) = &args.save_npy {
            std::fs::create_dir_all(dir).map_err(|e| ismc::Error::Io {
                path: dir.clone(),
                source: e,
            })?;
            let stem = path
                .file_stem()
                .map_or_else(|| "image".into(), |s| s.to_string_lossy().into_owned());
            ismc::data::input::write_inputs_npy(
                &dir.join(format!("{stem}.npy")),
                &x,
                &spec.item_shape,
            )?;
        }
        let mut shape = vec![1];
        shape.extend_from_slice(&spec.item_shape);
        let t = candle_core::Tensor::from_vec(x, shape, &candle_core::Device::Cpu)?;
        let logits: Vec<f32> = model.logits(&t)?.flatten_all()?.to_vec1()?;
        let p = softmax(&logits);
        let mut order: Vec<usize> = (0..logits.len()).collect();
        // Highest logit first; ties by class index.
        order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
        let top = order
            .into_iter()
            .take(args.top)
            .map(|c| Ranked {
                class: c,
                name: names
                    .get(c)
                    .cloned()
                    .unwrap_or_else(|| format!("class {c}")),
                probability: p[c],
                logit: logits[c],
            })
            .collect();
        out.push(ImagePrediction {
            image: arg.clone(),
            model: args.model.clone(),
            top,
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (i, pred) in out.iter().enumerate() {
            if i > 0 {
                println!();
            }
            println!("{} ({})", pred.image, pred.model);
            for (rank, r) in pred.top.iter().enumerate() {
                println!(
                    "  {:>2}. {:>6.2}%  {:>4}  {}",
                    rank + 1,
                    100.0 * r.probability,
                    r.class,
                    r.name
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_normalised() {
        let p = softmax(&[1000.0, 1000.0, 0.0]);
        assert!((p[0] - 0.5).abs() < 1e-12 && p[2] < 1e-300);
        let s: f64 = softmax(&[0.1, -2.0, 3.5]).iter().sum();
        assert!((s - 1.0).abs() < 1e-12);
    }

    #[test]
    fn names_for_ten_classes_are_digits() {
        assert_eq!(class_names(10)[7], "7");
        assert_eq!(class_names(3)[2], "class 2");
    }
}
