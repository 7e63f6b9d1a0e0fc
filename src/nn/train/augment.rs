//! Data augmentation of training batches: random translations, and random
//! rotations and rescalings by bilinear warping, drawn from the batch's RNG.

use rand::Rng;

pub(super) fn shift_batch(values: &mut [f32], shape: &[usize], s: usize, rng: &mut impl Rng) {
    let (c, h, w) = (shape[0], shape[1], shape[2]);
    let item = c * h * w;
    let mut buf = vec![0f32; item];
    for img in values.chunks_mut(item) {
        let dy = rng.random_range(-(s as i64)..=s as i64);
        let dx = rng.random_range(-(s as i64)..=s as i64);
        buf.iter_mut().for_each(|v| *v = 0.0);
        for ch in 0..c {
            for y in 0..h as i64 {
                let sy = y - dy;
                if sy < 0 || sy >= h as i64 {
                    continue;
                }
                for x in 0..w as i64 {
                    let sx = x - dx;
                    if sx < 0 || sx >= w as i64 {
                        continue;
                    }
                    buf[ch * h * w + (y as usize) * w + x as usize] =
                        img[ch * h * w + (sy as usize) * w + sx as usize];
                }
            }
        }
        img.copy_from_slice(&buf);
    }
}

/// Moves each image of `values` (items of `shape` = `[c, h, w]`) by a
/// random similarity transform about its centre (see [`warp`]): rotation by
/// θ ∈ U(±`rot`°), scaling by f ∈ U(1 ± `scale`), translation by (dy, dx) ∈
/// U(±`s`)².
pub(super) fn affine_batch(
    values: &mut [f32],
    shape: &[usize],
    s: usize,
    rot: f64,
    scale: f64,
    rng: &mut impl Rng,
) {
    let item: usize = shape.iter().product();
    let mut draw = |half: f64| {
        if half > 0.0 {
            rng.random_range(-half..=half)
        } else {
            0.0
        }
    };
    let mut buf = vec![0f32; item];
    for img in values.chunks_mut(item) {
        let theta = draw(rot).to_radians();
        let f = 1.0 + draw(scale);
        let (ty, tx) = (draw(s as f64), draw(s as f64));
        warp(img, &mut buf, shape, theta, f, (ty, tx));
        img.copy_from_slice(&buf);
    }
}

/// Writes into `out` the image `img` (`[c, h, w]`) rotated by `theta`
/// radians, scaled by `f` about its centre `c` and translated by `t`:
/// output pixel `q` takes `img` at `c + R(−θ)(q − c − t) / f` (the inverse
/// map, so every output pixel is defined), sampled bilinearly with zero
/// outside the image.
pub(super) fn warp(
    img: &[f32],
    out: &mut [f32],
    shape: &[usize],
    theta: f64,
    f: f64,
    t: (f64, f64),
) {
    let (c, h, w) = (shape[0], shape[1], shape[2]);
    let (cy, cx) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
    let (sin, cos) = theta.sin_cos();
    for y in 0..h {
        for x in 0..w {
            let (qy, qx) = (y as f64 - cy - t.0, x as f64 - cx - t.1);
            let sy = (cos * qy - sin * qx) / f + cy;
            let sx = (sin * qy + cos * qx) / f + cx;
            let (y0, x0) = (sy.floor(), sx.floor());
            let (wy, wx) = ((sy - y0) as f32, (sx - x0) as f32);
            let (y0, x0) = (y0 as i64, x0 as i64);
            for ch in 0..c {
                let plane = &img[ch * h * w..(ch + 1) * h * w];
                let at = |yy: i64, xx: i64| -> f32 {
                    if yy < 0 || xx < 0 || yy >= h as i64 || xx >= w as i64 {
                        0.0
                    } else {
                        plane[yy as usize * w + xx as usize]
                    }
                };
                let top = at(y0, x0) * (1.0 - wx) + at(y0, x0 + 1) * wx;
                let bottom = at(y0 + 1, x0) * (1.0 - wx) + at(y0 + 1, x0 + 1) * wx;
                out[ch * h * w + y * w + x] = top * (1.0 - wy) + bottom * wy;
            }
        }
    }
}
