//! How a slice is built: the grid laid out around the endpoints, the
//! off-axis directions orthonormalised against `C − A`, and the
//! constructors from random, given or stored directions.

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

use super::{DirectionKind, GridSpec, Slice, SliceDefinition};
use crate::error::{Error, Result};

/// Checks the grid against the endpoints; returns `(a₀, c₀)` and the steps.
fn layout(grid: &GridSpec, distance: f64, item_len: usize) -> Result<(Vec<u32>, Vec<f64>)> {
    let k = grid.sides.len();
    if k == 0 || k > item_len {
        return Err(Error::invalid(
            "dims",
            k,
            format!("expected 1..={item_len} (the input dimension)"),
        ));
    }
    if k > crate::lattice::MAX_DIM {
        return Err(Error::invalid(
            "dims",
            k,
            format!("expected at most {}", crate::lattice::MAX_DIM),
        ));
    }
    if grid.spans.len() != k {
        return Err(Error::invalid(
            "spans",
            grid.spans.len(),
            format!("expected one span per axis ({k})"),
        ));
    }
    if let Some((i, &s)) = grid.sides.iter().enumerate().find(|(_, &s)| s < 2) {
        return Err(Error::invalid(
            format!("side of axis {i}"),
            s,
            "expected at least 2 points",
        ));
    }
    if let Some((i, &s)) = grid.sides.iter().enumerate().find(|(_, &s)| s > 1 << 20) {
        return Err(Error::invalid(
            format!("side of axis {i}"),
            s,
            "expected at most 2^20 points",
        ));
    }
    for (i, &s) in grid.spans.iter().enumerate() {
        if !(s.is_finite() && s > 0.0) {
            return Err(Error::invalid(
                format!("span of axis {i}"),
                s,
                "expected a positive finite multiple of |C − A|",
            ));
        }
    }
    if grid.spans[0] < 1.0 {
        return Err(Error::invalid(
            "span of axis 0",
            grid.spans[0],
            "expected at least 1: axis 0 must contain both endpoints",
        ));
    }
    if !(distance.is_finite() && distance > 0.0) {
        return Err(Error::invalid(
            "endpoints",
            distance,
            "A and C coincide (|C − A| = 0); a slice needs two distinct inputs",
        ));
    }
    let l0 = grid.sides[0];
    let m = (((l0 - 1) as f64 / grid.spans[0]).round() as usize).clamp(1, l0 - 1);
    let a0 = (l0 - 1 - m) / 2;
    let mut a_coords = vec![a0 as u32];
    let mut steps = vec![distance / m as f64];
    for i in 1..k {
        a_coords.push(((grid.sides[i] - 1) / 2) as u32);
        steps.push(grid.spans[i] * distance / (grid.sides[i] - 1) as f64);
    }
    Ok((a_coords, steps))
}

/// Gram–Schmidt (twice, in f64) of `candidates` against the already
/// orthonormal `basis`; errors naming `what` if a candidate is (numerically)
/// in the span of the others.
fn orthonormalise(basis: &mut Vec<Vec<f64>>, candidates: &[Vec<f32>], what: &str) -> Result<()> {
    for (j, v) in candidates.iter().enumerate() {
        let mut w: Vec<f64> = v.iter().map(|&x| x as f64).collect();
        let norm0 = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        for _ in 0..2 {
            for b in basis.iter() {
                let dot: f64 = w.iter().zip(b).map(|(x, y)| x * y).sum();
                w.iter_mut().zip(b).for_each(|(x, y)| *x -= dot * y);
            }
        }
        let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        if !(norm.is_finite() && norm > 1e-6 * norm0.max(f64::MIN_POSITIVE)) || norm0 == 0.0 {
            return Err(Error::invalid(
                what,
                format!("vector {j}"),
                "linearly dependent on C − A and the earlier directions; give independent directions",
            ));
        }
        w.iter_mut().for_each(|x| *x /= norm);
        basis.push(w);
    }
    Ok(())
}

impl Slice {
    /// A slice whose axes `1..k` are seeded Gaussian directions.
    pub fn random(a: &[f32], c: &[f32], grid: &GridSpec, seed: u64) -> Result<Self> {
        let k = grid.sides.len();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let dirs: Vec<Vec<f32>> = (1..k.min(a.len()).max(1))
            .map(|_| {
                (0..a.len())
                    .map(|_| StandardNormal.sample(&mut rng))
                    .collect()
            })
            .collect();
        Self::from_frame(a, c, grid, &dirs, DirectionKind::Random, seed)
    }

    /// A slice whose axes `1..k` are the given vectors, orthonormalised
    /// against `C − A` and each other in order. `kind` is recorded.
    pub fn with_directions(
        a: &[f32],
        c: &[f32],
        grid: &GridSpec,
        directions: &[Vec<f32>],
        kind: DirectionKind,
    ) -> Result<Self> {
        Self::from_frame(a, c, grid, directions, kind, 0)
    }

    /// A slice whose axes `1..k` are the first `k − 1` of a pair's frame of
    /// `directions` (orthonormalised in order, so slices of one frame nest);
    /// `kind` and `seed` are recorded.
    pub fn from_frame(
        a: &[f32],
        c: &[f32],
        grid: &GridSpec,
        directions: &[Vec<f32>],
        kind: DirectionKind,
        seed: u64,
    ) -> Result<Self> {
        if a.len() != c.len() || a.is_empty() {
            return Err(Error::invalid(
                "endpoints",
                format!("lengths {} and {}", a.len(), c.len()),
                "expected two inputs of the same, non-zero length",
            ));
        }
        if a.iter().chain(c).any(|x| !x.is_finite()) {
            return Err(Error::invalid(
                "endpoints",
                "non-finite value",
                "expected finite inputs",
            ));
        }
        let item_len = a.len();
        let diff: Vec<f64> = a
            .iter()
            .zip(c)
            .map(|(&x, &y)| y as f64 - x as f64)
            .collect();
        let distance = diff.iter().map(|x| x * x).sum::<f64>().sqrt();
        let (a_coords, steps) = layout(grid, distance, item_len)?;
        let k = grid.sides.len();
        if directions.len() < k - 1 {
            return Err(Error::invalid(
                "directions",
                directions.len(),
                format!("expected {} direction vectors for k = {k}", k - 1),
            ));
        }
        if let Some((j, d)) = directions
            .iter()
            .enumerate()
            .find(|(_, d)| d.len() != item_len)
        {
            return Err(Error::invalid(
                "directions",
                format!("vector {j} of length {}", d.len()),
                format!("expected length {item_len}"),
            ));
        }
        let mut basis = vec![diff.iter().map(|x| x / distance).collect::<Vec<f64>>()];
        orthonormalise(&mut basis, &directions[..k - 1], "directions")?;
        let axes = basis.iter().flatten().map(|&x| x as f32).collect();
        let mut c_coords = a_coords.clone();
        let l0 = grid.sides[0];
        let m = (((l0 - 1) as f64 / grid.spans[0]).round() as usize).clamp(1, l0 - 1);
        c_coords[0] += m as u32;
        Ok(Slice {
            a: a.to_vec(),
            c: c.to_vec(),
            axes,
            def: SliceDefinition {
                sides: grid.sides.clone(),
                spans: grid.spans.clone(),
                steps,
                a_coords,
                c_coords,
                distance,
                directions: kind,
                seed,
            },
        })
    }

    /// Rebuilds a slice from stored parts (see [`crate::bridge::StoredField`]).
    pub fn from_parts(
        a: Vec<f32>,
        c: Vec<f32>,
        axes: Vec<f32>,
        def: SliceDefinition,
    ) -> Result<Self> {
        let k = def.sides.len();
        if a.len() != c.len() || axes.len() != k * a.len() || def.steps.len() != k {
            return Err(Error::invalid(
                "slice",
                format!("k = {k}, item length {}", a.len()),
                "endpoints, axes and definition disagree in size",
            ));
        }
        Ok(Slice { a, c, axes, def })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(n: usize) -> (Vec<f32>, Vec<f32>) {
        let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin().abs()).collect();
        let c: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos().abs()).collect();
        (a, c)
    }

    #[test]
    fn axes_are_orthonormal_and_endpoints_are_exact_sites() {
        let (a, c) = endpoints(50);
        for (sides, span0) in [
            (vec![9, 7, 6, 5], 1.0),
            (vec![12, 4, 5], 2.5),
            (vec![2], 1.0),
        ] {
            let k = sides.len();
            let mut spans = vec![0.7; k];
            spans[0] = span0;
            let grid = GridSpec { sides, spans };
            let s = Slice::random(&a, &c, &grid, 42).unwrap();
            for i in 0..k {
                for j in 0..k {
                    let dot: f64 = s
                        .axis(i)
                        .iter()
                        .zip(s.axis(j))
                        .map(|(&x, &y)| x as f64 * y as f64)
                        .sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    // f32 storage of unit vectors: each product errs by ~1e-7.
                    assert!((dot - want).abs() < 1e-5, "axes {i},{j}: {dot}");
                }
            }
            assert_eq!(s.point(s.a_coords()), a, "A must be exactly on its site");
            assert_eq!(s.point(s.c_coords()), c, "C must be exactly on its site");
            // Axis 0 of the grid is along C − A with the stated spacing.
            let mut next = s.a_coords().to_vec();
            next[0] += 1;
            let p = s.point(&next);
            let step: f64 = p
                .iter()
                .zip(&a)
                .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!((step - s.definition().steps[0]).abs() < 1e-5 * s.definition().distance);
        }
    }

    #[test]
    fn invalid_slices_are_user_errors_naming_the_parameter() {
        let (a, c) = endpoints(10);
        let cases: Vec<(GridSpec, &[f32], &str)> = vec![
            (GridSpec::cube(11, 3, 1.0), &c, "dims"),
            (GridSpec::cube(2, 3, 0.0), &c, "span of axis 1"),
            (GridSpec::cube(2, 1, 1.0), &c, "side of axis 0"),
            (GridSpec::cube(2, 5, 1.0), &a, "endpoints"),
        ];
        for (grid, c, name) in cases {
            let e = Slice::random(&a, c, &grid, 1).unwrap_err();
            assert!(e.is_user_error(), "{e}");
            match e {
                Error::InvalidParameter { name: n, .. } => assert_eq!(n, name),
                other => panic!("expected InvalidParameter({name}), got {other}"),
            }
        }
    }
}
