//! Gradients and values of the custom ops against candle's own ops and the
//! definitions.

use super::*;
use candle_core::{DType, Device, Var};

fn grad_of(pool: impl Fn(&Tensor) -> Result<Tensor>) -> Vec<f32> {
    let x = Tensor::new(
        &[[[[1f32, 5.0, 0.0, 0.0], [2.0, 3.0, 7.0, 7.0]]]],
        &Device::Cpu,
    )
    .unwrap();
    let v = Var::from_tensor(&x).unwrap();
    let y = pool(v.as_tensor()).unwrap();
    assert_eq!(
        y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        vec![5.0, 7.0]
    );
    let g = y.sum_all().unwrap().backward().unwrap();
    g.get(v.as_tensor())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

#[test]
fn gradient_goes_to_the_first_maximum() {
    assert_eq!(
        grad_of(|t| max_pool2d(t, 2)),
        vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    );
}

/// Output and gradients of `Σ g · op(x, w)` with respect to `x` and `w`,
/// flattened.
fn value_and_grads(
    op: impl Fn(&Tensor, &Tensor) -> Result<Tensor>,
    x: &Tensor,
    w: &Tensor,
    g: &Tensor,
) -> [Vec<f64>; 3] {
    let (xv, wv) = (Var::from_tensor(x).unwrap(), Var::from_tensor(w).unwrap());
    let y = op(xv.as_tensor(), wv.as_tensor()).unwrap();
    let grads = (y.clone() * g)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
    [
        flat(&y),
        flat(grads.get(xv.as_tensor()).unwrap()),
        flat(grads.get(wv.as_tensor()).unwrap()),
    ]
}

/// Largest absolute difference between matching entries.
fn worst(a: &[Vec<f64>; 3], b: &[Vec<f64>; 3]) -> f64 {
    a.iter()
        .zip(b)
        .flat_map(|(u, v)| u.iter().zip(v).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f64::max)
}

/// In f64 the two implementations differ only in summation order over
/// at most 27 terms of size ~1, far below 1e-10.
#[test]
fn conv_gradients_match_candle_conv() {
    let dev = Device::Cpu;
    for (k, pad) in [(3, 1), (3, 0), (5, 2), (5, 1)] {
        let x = Tensor::randn(0f64, 1.0, (2, 3, 7, 7), &dev).unwrap();
        let w = Tensor::randn(0f64, 1.0, (4, 3, k, k), &dev).unwrap();
        let side = 7 + 2 * pad + 1 - k;
        let g = Tensor::randn(0f64, 1.0, (2, 4, side, side), &dev).unwrap();
        let mine = value_and_grads(|x, w| conv2d(x, w, pad), &x, &w, &g);
        let theirs = value_and_grads(|x, w| x.conv2d(w, pad, 1, 1, 1), &x, &w, &g);
        assert!(worst(&mine, &theirs) < 1e-10, "k {k} pad {pad}");
        let gx = conv2d_input_grad(&g, &w, pad).unwrap();
        let gx = gx.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let d = gx.iter().zip(&theirs[1]).map(|(p, q)| (p - q).abs());
        assert!(d.fold(0.0, f64::max) < 1e-10);
    }
}

/// Strided convolutions (ResNet's 3×3/2, 1×1/2 and 7×7/2 layers, on
/// even and odd sides) agree with candle's `conv2d` in values, input
/// gradients and kernel gradients. This also pins that candle 0.11's own
/// backward pass is right for stride 2 (its input gradient is a
/// `conv_transpose2d` with an output padding that depends on the side):
/// the two share no code, and [`super::conv`]'s kernels are checked
/// against the defining sum on their own.
#[test]
fn strided_conv_matches_candle_conv() {
    let dev = Device::Cpu;
    for (k, pad, stride, side) in [
        (3, 1, 2, 8),
        (3, 1, 2, 7),
        (1, 0, 2, 8),
        (1, 0, 2, 7),
        (7, 3, 2, 12),
        (7, 3, 2, 11),
        (3, 0, 3, 10),
    ] {
        let x = Tensor::randn(0f64, 1.0, (2, 3, side, side), &dev).unwrap();
        let w = Tensor::randn(0f64, 1.0, (4, 3, k, k), &dev).unwrap();
        let out = (side + 2 * pad - k) / stride + 1;
        let g = Tensor::randn(0f64, 1.0, (2, 4, out, out), &dev).unwrap();
        let mine = value_and_grads(|x, w| conv2d_strided(x, w, pad, stride), &x, &w, &g);
        let theirs = value_and_grads(|x, w| x.conv2d(w, pad, stride, 1, 1), &x, &w, &g);
        assert_eq!(mine[0].len(), 2 * 4 * out * out);
        assert!(
            worst(&mine, &theirs) < 1e-10,
            "k {k} pad {pad} stride {stride} side {side}"
        );
        let b = Tensor::randn(0f64, 1.0, 4, &dev).unwrap();
        let with_bias = conv2d_bias_strided(&x, &w, &b, pad, stride).unwrap();
        let sep = x
            .conv2d(&w, pad, stride, 1, 1)
            .unwrap()
            .broadcast_add(&b.reshape((1, 4, 1, 1)).unwrap())
            .unwrap();
        let d = (with_bias - sep).unwrap().abs().unwrap().max_all().unwrap();
        assert!(d.to_scalar::<f64>().unwrap() < 1e-10);
    }
}

/// Strided, padded max-pooling against the definition: each output is
/// the maximum over the real cells of its window, and its gradient goes
/// to the first such maximum in row-major order (summed where windows
/// overlap). Random values make ties improbable; one plane of equal
/// values checks the first-maximum rule, and candle's pooling (no
/// padding) must give the same values.
#[test]
fn strided_pool_matches_definition() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for (k, stride, pad, h, w) in [
        (3, 2, 1, 8, 8),
        (3, 2, 1, 7, 9),
        (3, 2, 0, 9, 8),
        (2, 1, 0, 5, 6),
        (3, 3, 1, 7, 7),
        (2, 2, 0, 5, 7),
    ] {
        let (n, c) = (2, 3);
        let mut v: Vec<f64> = (0..n * c * h * w)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        // Plane 0 constant: every window ties.
        v[..h * w].iter_mut().for_each(|x| *x = 0.5);
        let x = Tensor::from_vec(v.clone(), (n, c, h, w), &Device::Cpu).unwrap();
        let (oh, ow) = (
            (h + 2 * pad - k) / stride + 1,
            (w + 2 * pad - k) / stride + 1,
        );
        let g: Vec<f64> = (0..n * c * oh * ow)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let mut want_y = vec![0.0; g.len()];
        let mut want_gx = vec![0.0; v.len()];
        for pl in 0..n * c {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut best: Option<(f64, usize)> = None;
                    for a in 0..k {
                        for b in 0..k {
                            let yy = (oy * stride + a) as isize - pad as isize;
                            let xx = (ox * stride + b) as isize - pad as isize;
                            if yy < 0 || xx < 0 || yy >= h as isize || xx >= w as isize {
                                continue;
                            }
                            let i = pl * h * w + yy as usize * w + xx as usize;
                            if best.is_none_or(|(bv, _)| v[i] > bv) {
                                best = Some((v[i], i));
                            }
                        }
                    }
                    let (bv, bi) = best.unwrap();
                    let o = (pl * oh + oy) * ow + ox;
                    want_y[o] = bv;
                    want_gx[bi] += g[o];
                }
            }
        }
        let xv = Var::from_tensor(&x).unwrap();
        let y = max_pool2d_strided(xv.as_tensor(), k, stride, pad).unwrap();
        assert_eq!(y.dims(), &[n, c, oh, ow]);
        let gt = Tensor::from_vec(g, y.shape(), &Device::Cpu).unwrap();
        let grads = (y.clone() * gt)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let case = format!("k {k} s {stride} p {pad} {h}x{w}");
        assert_eq!(flat(&y), want_y, "{case}");
        let gx = flat(grads.get(xv.as_tensor()).unwrap());
        let err = gx.iter().zip(&want_gx).map(|(a, b)| (a - b).abs());
        assert!(err.fold(0.0, f64::max) < 1e-12, "{case}");
        if pad == 0 {
            let theirs = x.max_pool2d_with_stride(k, stride).unwrap();
            assert_eq!(flat(&theirs), want_y, "{case}");
        }
    }
    assert!(max_pool2d_strided(
        &Tensor::zeros((1, 1, 4, 4), DType::F32, &Device::Cpu).unwrap(),
        3,
        2,
        2
    )
    .is_err());
}

/// The bias gradient of the fused op is the per-channel sum of `g`, and
/// its output is conv + bias.
#[test]
fn conv_bias_matches_separate_bias() {
    let dev = Device::Cpu;
    let x = Tensor::randn(0f64, 1.0, (2, 3, 6, 5), &dev).unwrap();
    let w = Tensor::randn(0f64, 1.0, (4, 3, 3, 3), &dev).unwrap();
    let b = Var::from_tensor(&Tensor::randn(0f64, 1.0, 4, &dev).unwrap()).unwrap();
    let g = Tensor::randn(0f64, 1.0, (2, 4, 6, 5), &dev).unwrap();
    let y = conv2d_bias(&x, &w, b.as_tensor(), 1).unwrap();
    let sep = conv2d(&x, &w, 1)
        .unwrap()
        .broadcast_add(&b.as_tensor().reshape((1, 4, 1, 1)).unwrap())
        .unwrap();
    let d = (y.clone() - sep).unwrap().abs().unwrap().max_all().unwrap();
    assert!(d.to_scalar::<f64>().unwrap() < 1e-12);
    let grads = (y * &g).unwrap().sum_all().unwrap().backward().unwrap();
    let gb = grads.get(b.as_tensor()).unwrap().to_vec1::<f64>().unwrap();
    let expect = g.sum((0, 2, 3)).unwrap().to_vec1::<f64>().unwrap();
    for (p, q) in gb.iter().zip(&expect) {
        assert!((p - q).abs() < 1e-10);
    }
}

#[test]
fn linear_gradients_match_candle_matmul() {
    let dev = Device::Cpu;
    let x = Tensor::randn(0f64, 1.0, (5, 7), &dev).unwrap();
    let w = Tensor::randn(0f64, 1.0, (3, 7), &dev).unwrap();
    let g = Tensor::randn(0f64, 1.0, (5, 3), &dev).unwrap();
    let mine = value_and_grads(linear, &x, &w, &g);
    let theirs = value_and_grads(|x, w| x.matmul(&w.t()?), &x, &w, &g);
    assert!(worst(&mine, &theirs) < 1e-12);
}

/// The fused op equals ReLU then pooling (values and input gradients,
/// exactly: both route each gradient to the same single input), for the
/// unrolled k = 2 path and the general one, with sides not divisible by
/// k; and the values agree with candle's own pooling.
#[test]
fn fused_pool_relu_matches_relu_then_pool() {
    let dev = Device::Cpu;
    for k in [2, 3] {
        let x = Tensor::randn(0f64, 1.0, (2, 3, 6, 7), &dev).unwrap();
        let g = Tensor::randn(0f64, 1.0, (2, 3, 6 / k, 7 / k), &dev).unwrap();
        let run = |f: &dyn Fn(&Tensor) -> Result<Tensor>| {
            let xv = Var::from_tensor(&x).unwrap();
            let y = f(xv.as_tensor()).unwrap();
            let grads = (y.clone() * &g)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            (flat(&y), flat(grads.get(xv.as_tensor()).unwrap()))
        };
        let fused = run(&|t| max_pool2d_relu(t, k));
        let separate = run(&|t| max_pool2d(&t.relu()?, k));
        assert_eq!(fused, separate, "k {k}");
        let candle = x.max_pool2d(k).unwrap().relu().unwrap();
        let candle = candle.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        assert_eq!(fused.0, candle, "k {k}");
        assert!(fused.1.iter().filter(|v| **v != 0.0).count() > 0);
    }
}

#[test]
fn candle_max_pool_backward_is_still_scaled() {
    // Documents the upstream bug this module works around: if this starts
    // failing, candle fixed it and max_pool2d could go back to candle's.
    let g = grad_of(|t| t.max_pool2d(2));
    assert_eq!(g[1], 0.25);
}
