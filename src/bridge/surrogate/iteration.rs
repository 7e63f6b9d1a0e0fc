//! The IAAFT iteration: a seeded shuffle of the values, then alternating
//! amplitude adjustment in Fourier space and rank-order remapping onto the
//! original values, until the spectrum error stops improving.

use rand::seq::SliceRandom;
use rayon::prelude::*;
use rustfft::num_complex::Complex;

use super::fft::GridFft;
use super::spectrum::TargetSpectrum;
use super::{Surrogate, SurrogateOptions, SITES_PER_TASK, SURROGATE_BYTES_PER_SITE};
use crate::bridge::field::LossField;
use crate::error::{Error, Result};
use crate::rng::unit_rng;

/// An IAAFT surrogate of `field` (see the module docs): the same values,
/// nearly the same power spectrum, random Fourier phases drawn from `seed`.
///
/// The result is a function of `field`, `seed` and `opts` only — identical
/// for any number of rayon threads.
///
/// # Errors
///
/// [`Error::InvalidParameter`] if an axis has fewer than 3 points (`"surrogate
/// grid"`: along 2 points the only non-zero frequency is the alternation
/// `+1, −1`, whose phase is just a sign), if a value is not
/// finite or all values are equal (`"field"`), if `opts.max_iterations` is 0
/// or `opts.tolerance` is negative or not finite; [`Error::TooLarge`] if the
/// working buffers ([`SURROGATE_BYTES_PER_SITE`] per site) would exceed
/// [`crate::memory::limit_bytes`].
///
/// # Example
///
/// ```
/// use ismc::bridge::LossField;
/// use ismc::bridge::{iaaft, SurrogateOptions};
/// // A smooth 17 × 17 landscape: ridges along the diagonal plus slower waves.
/// let side = 17;
/// let values: Vec<f32> = (0..side * side)
///     .map(|i| {
///         let (r, c) = ((i / side) as f32, (i % side) as f32);
///         (0.4 * (r - c)).cos() + 0.5 * (0.3 * r).sin() * (0.5 * c).cos()
///     })
///     .collect();
/// let field = LossField::new(vec![side, side], values.clone()).unwrap();
/// let s = iaaft(&field, 7, &SurrogateOptions::default()).unwrap();
///
/// // The same values, bit for bit, in another arrangement...
/// let sorted = |v: &[f32]| {
///     let mut v: Vec<u32> = v.iter().map(|x| x.to_bits()).collect();
///     v.sort_unstable();
///     v
/// };
/// assert_eq!(sorted(&s.field.values), sorted(&values));
/// assert_ne!(s.field.values, values);
/// // ...with nearly the original spectrum, far closer than a plain shuffle.
/// assert!(s.spectrum_error < 0.5 * s.initial_spectrum_error);
/// // The same seed gives the same surrogate.
/// assert_eq!(iaaft(&field, 7, &SurrogateOptions::default()).unwrap(), s);
/// ```
pub fn iaaft(field: &LossField, seed: u64, opts: &SurrogateOptions) -> Result<Surrogate> {
    validate(field, opts)?;
    let n = field.n_sites();
    crate::memory::ensure_fits(
        format!("an IAAFT surrogate of {n} sites (sides {:?})", field.sides),
        (n as u64).saturating_mul(SURROGATE_BYTES_PER_SITE),
        "use a grid with fewer sites",
    )?;

    let mut fft = GridFft::new(&field.sides);
    let mut buf = vec![Complex::new(0.0, 0.0); n];
    load(&field.values, &mut buf);
    fft.forward(&mut buf);
    let target = TargetSpectrum::new(&buf)?;

    let mut sorted = field.values.clone();
    sorted.par_sort_unstable_by(f32::total_cmp);
    let mut current = field.values.clone();
    current.shuffle(&mut unit_rng(seed, &[]));
    load(&current, &mut buf);
    fft.forward(&mut buf);
    let initial_spectrum_error = target.error(&buf);

    let mut spectrum_error = initial_spectrum_error;
    let mut order: Vec<usize> = (0..n).collect();
    let mut iterations = 0;
    while iterations < opts.max_iterations {
        // `buf` holds the transform of `current`: impose the amplitudes, go
        // back, remap the values, and transform the remapped field, which
        // both measures its error and starts the next iteration.
        target.impose(&mut buf);
        fft.inverse(&mut buf);
        rank_remap(&buf, &sorted, &mut order, &mut current);
        load(&current, &mut buf);
        fft.forward(&mut buf);
        let error = target.error(&buf);
        iterations += 1;
        let change = (spectrum_error - error).abs();
        spectrum_error = error;
        if change < opts.tolerance {
            break;
        }
    }

    Ok(Surrogate {
        field: LossField {
            sides: field.sides.clone(),
            values: current,
        },
        iterations,
        spectrum_error,
        initial_spectrum_error,
    })
}

/// Refuses options and fields that have no surrogate (see [`iaaft`]).
fn validate(field: &LossField, opts: &SurrogateOptions) -> Result<()> {
    if opts.max_iterations == 0 {
        return Err(Error::invalid(
            "max_iterations",
            0,
            "expected at least 1 iteration (a transform pair and a rank remap)",
        ));
    }
    if !(opts.tolerance.is_finite() && opts.tolerance >= 0.0) {
        return Err(Error::invalid(
            "tolerance",
            opts.tolerance,
            "expected a finite change of the spectrum error, 0 or more",
        ));
    }
    let n = field
        .sides
        .iter()
        .try_fold(1usize, |acc, &s| acc.checked_mul(s));
    if field.sides.is_empty() || n != Some(field.values.len()) {
        return Err(Error::invalid(
            "field",
            field.values.len(),
            format!("expected one value per site of sides {:?}", field.sides),
        ));
    }
    if field.sides.iter().any(|&s| s < 3) {
        return Err(Error::invalid(
            "surrogate grid",
            format!("{:?}", field.sides),
            "every axis needs at least 3 points for a power spectrum with a non-zero frequency",
        ));
    }
    if let Some((site, value)) = field
        .values
        .iter()
        .enumerate()
        .find(|(_, v)| !v.is_finite())
    {
        return Err(Error::invalid(
            "field",
            format!("{value} at site {site}"),
            "expected finite losses: a surrogate permutes the values by rank and \
             matches their power spectrum, which a NaN or infinite loss has not",
        ));
    }
    let first = field.values[0];
    if field.values.iter().all(|&v| v == first) {
        return Err(Error::invalid(
            "field",
            format!("constant {first}"),
            "expected at least two distinct losses: a constant field has no \
             spectrum to preserve (its only surrogate is itself)",
        ));
    }
    Ok(())
}

/// Copies real values into a complex buffer of the same length.
fn load(values: &[f32], buf: &mut [Complex<f64>]) {
    buf.par_iter_mut()
        .with_min_len(SITES_PER_TASK)
        .zip(values.par_iter())
        .for_each(|(z, &v)| *z = Complex::new(f64::from(v), 0.0));
}

/// Step 3: gives the site of rank `r` in the real parts of `buf` the value
/// `sorted[r]` (ties in rank broken by site index, so the ranking — and the
/// result — is unique). `order` is reused across iterations: it starts
/// nearly sorted, which the sort exploits.
fn rank_remap(buf: &[Complex<f64>], sorted: &[f32], order: &mut [usize], out: &mut [f32]) {
    order.par_sort_unstable_by(|&a, &b| buf[a].re.total_cmp(&buf[b].re).then(a.cmp(&b)));
    for (&site, &value) in order.iter().zip(sorted) {
        out[site] = value;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{coords, FIELD_SEED};
    use super::*;
    use rand::Rng;

    /// Seed of the surrogates.
    const SURROGATE_SEED: u64 = 3;

    /// Uniform noise in [0, 1), quantised to 1/64 so that values repeat
    /// (ties must survive the remap too), with `-0.0` and `0.0` planted so
    /// that "bit for bit" is tested and not only `==`.
    fn tied_noise(sides: &[usize]) -> LossField {
        let n: usize = sides.iter().product();
        let mut rng = unit_rng(FIELD_SEED, &[n as u64]);
        let mut values: Vec<f32> = (0..n)
            .map(|_| (rng.random::<f32>() * 64.0).floor() / 64.0)
            .collect();
        values[0] = -0.0;
        values[n / 2] = 0.0;
        LossField::new(sides.to_vec(), values).unwrap()
    }

    /// Sorted bit patterns: equal iff two fields hold the same multiset of
    /// `f32`s, bit for bit.
    fn sorted_bits(values: &[f32]) -> Vec<u32> {
        let mut bits: Vec<u32> = values.iter().map(|v| v.to_bits()).collect();
        bits.sort_unstable();
        bits
    }

    #[test]
    fn histogram_is_exact_bit_for_bit() {
        for sides in [vec![257], vec![33, 33], vec![9, 9, 9, 9]] {
            let field = tied_noise(&sides);
            let s = iaaft(&field, SURROGATE_SEED, &SurrogateOptions::default()).unwrap();
            assert_eq!(s.field.sides, sides);
            assert_eq!(
                sorted_bits(&s.field.values),
                sorted_bits(&field.values),
                "sides {sides:?}"
            );
            assert_ne!(s.field.values, field.values, "sides {sides:?}");
        }
    }

    /// A smooth correlated field: a few low-frequency plane waves plus
    /// `NOISE_AMPLITUDE` of seeded uniform noise (so that values do not
    /// repeat and the spectrum has a floor).
    fn waves(sides: &[usize]) -> LossField {
        const NOISE_AMPLITUDE: f64 = 0.05;
        // (amplitude, wave numbers per axis (cycles across the grid), phase)
        const WAVES: [(f64, [f64; 3], f64); 3] = [
            (1.0, [1.0, 0.0, 0.0], 0.3),
            (0.7, [0.0, 2.0, 1.0], 1.1),
            (0.5, [1.0, 3.0, 2.0], 2.0),
        ];
        let n: usize = sides.iter().product();
        let mut rng = unit_rng(FIELD_SEED, &[sides.len() as u64, n as u64]);
        let values = (0..n)
            .map(|site| {
                let coords = coords(sides, site);
                let smooth: f64 = WAVES
                    .iter()
                    .map(|(amp, q, phase)| {
                        let arg: f64 = coords
                            .iter()
                            .zip(sides)
                            .zip(q)
                            .map(|((&x, &l), &qa)| qa * x as f64 / l as f64)
                            .sum();
                        amp * (std::f64::consts::TAU * arg + phase).cos()
                    })
                    .sum();
                (2.0 + smooth + NOISE_AMPLITUDE * rng.random::<f64>()) as f32
            })
            .collect();
        LossField::new(sides.to_vec(), values).unwrap()
    }

    /// A field with a broad spectrum: seeded uniform noise averaged over a
    /// periodic box of `2·BOX_RADIUS + 1` sites along every axis. Its lag-1
    /// autocorrelation along each axis is about `2R / (2R + 1)` and its
    /// spectrum spreads over many frequencies, so a surrogate with random
    /// phases is nearly uncorrelated with it, site by site.
    fn smoothed_noise(sides: &[usize]) -> LossField {
        const BOX_RADIUS: usize = 1;
        let n: usize = sides.iter().product();
        let mut rng = unit_rng(FIELD_SEED, &[0x6e, n as u64]);
        let mut values: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
        for axis in 0..sides.len() {
            let stride: usize = sides[axis + 1..].iter().product();
            let len = sides[axis];
            let mut next = vec![0.0; n];
            for (site, out) in next.iter_mut().enumerate() {
                let x = (site / stride) % len;
                let base = site - x * stride;
                *out = (0..=2 * BOX_RADIUS)
                    .map(|d| values[base + ((x + len + d - BOX_RADIUS) % len) * stride])
                    .sum();
            }
            values = next;
        }
        LossField::new(sides.to_vec(), values.iter().map(|&v| v as f32).collect()).unwrap()
    }

    /// Pearson correlation of `x[i]` and `y[i]` over the given pairs.
    fn pearson(pairs: impl Iterator<Item = (f64, f64)> + Clone) -> f64 {
        let n = pairs.clone().count() as f64;
        let (mx, my) = pairs
            .clone()
            .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for (x, y) in pairs {
            sxy += (x - mx) * (y - my);
            sxx += (x - mx) * (x - mx);
            syy += (y - my) * (y - my);
        }
        sxy / (sxx * syy).sqrt()
    }

    /// Lag-1 autocorrelation along `axis`: the correlation of each site
    /// with its successor on that axis (open boundary: pairs that wrap are
    /// left out).
    fn lag1_autocorrelation(field: &LossField, axis: usize) -> f64 {
        let stride: usize = field.sides[axis + 1..].iter().product();
        let len = field.sides[axis];
        let v = &field.values;
        pearson(
            (0..v.len())
                .filter(move |&site| (site / stride) % len + 1 < len)
                .map(move |site| (f64::from(v[site]), f64::from(v[site + stride]))),
        )
    }

    /// Ceiling on the final spectrum error of the smooth test fields. IAAFT
    /// cannot reach 0 — the rank remap moves every value a little off the
    /// spectrum-exact field — and on these fields it settles at about 0.01
    /// (33 × 33: 0.008–0.011 over seeds 0–3) and 0.001 (17³: 0.0007–0.001);
    /// a broken amplitude step or remap leaves the error of order 1 (a
    /// shuffle's is 1.35–1.39 here).
    const MAX_SPECTRUM_ERROR: f64 = 0.05;
    /// Ceiling on `spectrum_error / initial_spectrum_error`: measured below
    /// 0.008 on the smooth fields.
    const MAX_ERROR_RATIO: f64 = 0.05;

    #[test]
    fn spectrum_is_preserved_on_smooth_fields() {
        for sides in [vec![33, 33], vec![17, 17, 17]] {
            let field = waves(&sides);
            let s = iaaft(&field, SURROGATE_SEED, &SurrogateOptions::default()).unwrap();
            assert!(
                s.spectrum_error < MAX_SPECTRUM_ERROR,
                "sides {sides:?}: spectrum error {}",
                s.spectrum_error
            );
            assert!(
                s.spectrum_error < MAX_ERROR_RATIO * s.initial_spectrum_error,
                "sides {sides:?}: {} from {}",
                s.spectrum_error,
                s.initial_spectrum_error
            );
            assert!(s.iterations < SurrogateOptions::default().max_iterations);
        }
    }

    /// Ceiling on the site-by-site correlation of a surrogate with its
    /// original. With random phases the expected correlation is 0, with a
    /// spread of about `1/√(independent sites)` — `√(9/1089) ≈ 0.09` for
    /// the 33 × 33 box-smoothed noise, `√(27/4913) ≈ 0.07` for 17³ — so 0.4
    /// is over 4 standard deviations; returning the original gives 1.
    const MAX_SURROGATE_CORRELATION: f64 = 0.4;
    /// Largest change of the lag-1 autocorrelation along an axis (about
    /// 2/3 in the originals). The spectrum fixes the periodic
    /// autocorrelation up to the remaining spectrum error (< 0.005 here);
    /// the open-boundary estimate differs from it by boundary terms of
    /// order `1/side`.
    const LAG1_TOLERANCE: f64 = 0.05;

    #[test]
    fn phases_are_random_and_correlations_kept() {
        for sides in [vec![33, 33], vec![17, 17, 17]] {
            let field = smoothed_noise(&sides);
            let s = iaaft(&field, SURROGATE_SEED, &SurrogateOptions::default()).unwrap();
            let r = pearson(
                field
                    .values
                    .iter()
                    .zip(&s.field.values)
                    .map(|(&a, &b)| (f64::from(a), f64::from(b))),
            );
            assert!(
                r.abs() < MAX_SURROGATE_CORRELATION,
                "sides {sides:?}: r = {r}"
            );
            for axis in 0..sides.len() {
                let original = lag1_autocorrelation(&field, axis);
                let surrogate = lag1_autocorrelation(&s.field, axis);
                assert!(original > 0.5, "the test field should be correlated");
                assert!(
                    (surrogate - original).abs() < LAG1_TOLERANCE,
                    "sides {sides:?}, axis {axis}: lag-1 {surrogate} vs {original}"
                );
            }
        }
    }

    #[test]
    fn same_seed_same_surrogate_for_any_thread_count() {
        // 33³ sites: several rayon tasks per line pass, transpose and sum.
        let field = waves(&[33, 33, 33]);
        let opts = SurrogateOptions::default();
        let reference = iaaft(&field, SURROGATE_SEED, &opts).unwrap();
        assert_eq!(iaaft(&field, SURROGATE_SEED, &opts).unwrap(), reference);
        for threads in [1, 2, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let s = pool
                .install(|| iaaft(&field, SURROGATE_SEED, &opts))
                .unwrap();
            assert_eq!(s, reference, "{threads} threads");
        }
        let other = iaaft(&field, SURROGATE_SEED + 1, &opts).unwrap();
        assert_ne!(other.field.values, reference.field.values);
    }

    #[test]
    fn iteration_count_respects_the_options() {
        let field = waves(&[17, 17]);
        for max_iterations in [1, 3] {
            let opts = SurrogateOptions {
                max_iterations,
                tolerance: 0.0,
            };
            let s = iaaft(&field, SURROGATE_SEED, &opts).unwrap();
            assert_eq!(s.iterations, max_iterations);
        }
        // A loose tolerance stops after the first iteration that improves
        // the error by less than it.
        let loose = SurrogateOptions {
            max_iterations: 200,
            tolerance: 10.0,
        };
        assert_eq!(iaaft(&field, SURROGATE_SEED, &loose).unwrap().iterations, 1);
    }

    /// Asserts that `result` is a user error naming parameter `name`.
    fn assert_invalid(result: Result<Surrogate>, name: &str) {
        let e = result.expect_err(name);
        assert!(e.is_user_error(), "{e}");
        match &e {
            Error::InvalidParameter { name: got, .. } => assert_eq!(got, name, "{e}"),
            other => panic!("expected invalid {name}, got {other:?}"),
        }
    }

    #[test]
    fn bad_input_is_refused_by_name() {
        let opts = SurrogateOptions::default();
        let small = LossField::new(vec![2, 9], (0..18).map(|i| i as f32).collect()).unwrap();
        let result = iaaft(&small, SURROGATE_SEED, &opts);
        assert!(result.as_ref().unwrap_err().to_string().contains("[2, 9]"));
        assert_invalid(result, "surrogate grid");

        let constant = LossField::new(vec![5, 5], vec![0.25; 25]).unwrap();
        assert_invalid(iaaft(&constant, SURROGATE_SEED, &opts), "field");

        let mut values: Vec<f32> = (0..25).map(|i| i as f32).collect();
        values[7] = f32::NAN;
        let nan = LossField::new(vec![5, 5], values).unwrap();
        assert_invalid(iaaft(&nan, SURROGATE_SEED, &opts), "field");

        let good = waves(&[5, 5]);
        let zero = SurrogateOptions {
            max_iterations: 0,
            ..opts
        };
        assert_invalid(iaaft(&good, SURROGATE_SEED, &zero), "max_iterations");
        let negative = SurrogateOptions {
            tolerance: -1.0,
            ..opts
        };
        assert_invalid(iaaft(&good, SURROGATE_SEED, &negative), "tolerance");
    }
}
