//! A k-dimensional affine slice of input space through two inputs A and C.
//!
//! The slice is the grid
//!
//! ```text
//! x(j) = (1 − t(j₀))·A + t(j₀)·C + Σ_{i=1}^{k−1} (j_i − m_i)·h_i·u_i,
//! t(j₀) = (j₀ − a₀) / (c₀ − a₀),
//! ```
//!
//! for integer coordinates `0 ≤ j_i < L_i`. Axis 0 runs along `C − A`: A sits
//! at coordinate `a₀` and C at `c₀ > a₀`, chosen so that the axis covers
//! `span₀·|C − A|` (`span₀ ≥ 1`) centred on the segment; the linear
//! interpolation form puts A and C on their sites *exactly* (bit for bit), not
//! just up to rounding. The other `k − 1` axes `u_i` are orthonormal to
//! `C − A` and to each other (Gram–Schmidt in f64), with spacing
//! `h_i = span_i·|C − A| / (L_i − 1)`, and A and C sit on their middle layer
//! `m_i = ⌊(L_i − 1)/2⌋` (exactly centred for odd `L_i`).
//!
//! Directions come from a seeded Gaussian ([`DirectionKind::Random`]), from
//! the principal components of data ([`principal_directions`]), or from input
//! gradients of the loss along the segment ([`gradient_directions`]). Points
//! are not clipped to the classifier's input range: the slice is affine.
//!
//! A slice never stores its sites: [`Slice::point_into`] maps coordinates to an
//! input, so the same slice serves dense grids of 10⁶ sites and the virtual
//! grids of 10²⁴ sites that invasion explores.

use crate::error::{Error, Result};
use crate::nn::Classifier;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Where the directions of axes `1..k` come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DirectionKind {
    /// Seeded isotropic Gaussian vectors.
    #[default]
    Random,
    /// Principal components of a data set.
    Pca,
    /// Input gradients of the loss at points along the A–C segment.
    Gradient,
}

impl std::fmt::Display for DirectionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DirectionKind::Random => "random",
            DirectionKind::Pca => "pca",
            DirectionKind::Gradient => "gradient",
        })
    }
}

/// The user's description of a slice's grid: points per axis and extents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridSpec {
    /// Points per axis `L_i` (each ≥ 2); its length is the slice dimension k.
    pub sides: Vec<usize>,
    /// Extent of each axis in units of `|C − A|`; axis 0 needs `≥ 1` so that
    /// both endpoints lie on it.
    pub spans: Vec<f64>,
}

impl GridSpec {
    /// A hypercubic grid: `k` axes of `side` points, axis 0 spanning exactly
    /// the segment A–C and the others `span·|C − A|`.
    pub fn cube(k: usize, side: usize, span: f64) -> Self {
        let mut spans = vec![span; k];
        if k > 0 {
            spans[0] = 1.0;
        }
        GridSpec {
            sides: vec![side; k],
            spans,
        }
    }

    /// Number of sites `Π L_i` (exact, may exceed any machine integer's
    /// use as an index).
    pub fn n_sites(&self) -> u128 {
        self.sides
            .iter()
            .fold(1u128, |acc, &s| acc.saturating_mul(s as u128))
    }
}

/// The stored definition of a slice: everything but the vectors themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceDefinition {
    /// Points per axis.
    pub sides: Vec<usize>,
    /// Requested extents, in units of `|C − A|`.
    pub spans: Vec<f64>,
    /// Grid spacing along each axis in input-space units (axis 0: `|C−A|/(c₀−a₀)`).
    pub steps: Vec<f64>,
    /// Grid coordinates of A.
    pub a_coords: Vec<u32>,
    /// Grid coordinates of C.
    pub c_coords: Vec<u32>,
    /// `|C − A|`.
    pub distance: f64,
    /// How axes `1..k` were chosen.
    pub directions: DirectionKind,
    /// Seed of the random directions (recorded for every kind).
    pub seed: u64,
}

/// A k-dimensional grid slice of input space through A and C.
#[derive(Debug, Clone)]
pub struct Slice {
    a: Vec<f32>,
    c: Vec<f32>,
    /// Unit axes, `k × item_len` back to back; axis 0 is `(C − A)/|C − A|`.
    axes: Vec<f32>,
    def: SliceDefinition,
}

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

    /// Rebuilds a slice from stored parts (see [`crate::bridge::field`]).
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

    /// Dimension k of the slice.
    pub fn dim(&self) -> usize {
        self.def.sides.len()
    }

    /// Length of one input.
    pub fn item_len(&self) -> usize {
        self.a.len()
    }

    /// Points per axis.
    pub fn sides(&self) -> &[usize] {
        &self.def.sides
    }

    /// Number of grid sites `Π L_i`.
    pub fn n_sites(&self) -> u128 {
        self.def.sides.iter().map(|&s| s as u128).product()
    }

    /// The definition (sides, spans, steps, endpoint coordinates, ...).
    pub fn definition(&self) -> &SliceDefinition {
        &self.def
    }

    /// Endpoint A.
    pub fn a(&self) -> &[f32] {
        &self.a
    }

    /// Endpoint C.
    pub fn c(&self) -> &[f32] {
        &self.c
    }

    /// Unit axes, `k × item_len`, row `i` is axis `i`.
    pub fn axes(&self) -> &[f32] {
        &self.axes
    }

    /// Axis `i` as a unit vector.
    pub fn axis(&self, i: usize) -> &[f32] {
        let n = self.item_len();
        &self.axes[i * n..(i + 1) * n]
    }

    /// Grid coordinates of A.
    pub fn a_coords(&self) -> &[u32] {
        &self.def.a_coords
    }

    /// Grid coordinates of C.
    pub fn c_coords(&self) -> &[u32] {
        &self.def.c_coords
    }

    /// Writes the input at real-valued grid coordinates `coords` (length k)
    /// into `out` (length `item_len`). Integer coordinates are grid sites;
    /// fractional ones interpolate between them (used to re-evaluate paths).
    pub fn point_at_into(&self, coords: &[f64], out: &mut [f32]) {
        debug_assert_eq!(coords.len(), self.dim());
        debug_assert_eq!(out.len(), self.item_len());
        let d = &self.def;
        let t =
            ((coords[0] - d.a_coords[0] as f64) / (d.c_coords[0] - d.a_coords[0]) as f64) as f32;
        let s = 1.0 - t;
        for ((o, &x), &y) in out.iter_mut().zip(&self.a).zip(&self.c) {
            *o = s * x + t * y;
        }
        for (i, &x) in coords.iter().enumerate().skip(1) {
            let off = ((x - d.a_coords[i] as f64) * d.steps[i]) as f32;
            if off != 0.0 {
                for (o, &u) in out.iter_mut().zip(self.axis(i)) {
                    *o += off * u;
                }
            }
        }
    }

    /// Writes the input of the grid site with integer coordinates `coords`.
    pub fn point_into(&self, coords: &[u32], out: &mut [f32]) {
        let mut real = [0f64; crate::lattice::MAX_DIM];
        for (r, &x) in real.iter_mut().zip(coords) {
            *r = x as f64;
        }
        self.point_at_into(&real[..coords.len()], out);
    }

    /// The input of the grid site with coordinates `coords`.
    pub fn point(&self, coords: &[u32]) -> Vec<f32> {
        let mut out = vec![0.0; self.item_len()];
        self.point_into(coords, &mut out);
        out
    }

    /// Coordinates of the site with C-order index `site` (last axis fastest).
    pub fn coords_of(&self, mut site: u128, out: &mut [u32]) {
        for axis in (0..self.dim()).rev() {
            let s = self.def.sides[axis] as u128;
            out[axis] = (site % s) as u32;
            site /= s;
        }
    }

    /// The C-order index of the site with coordinates `coords`.
    pub fn index_of(&self, coords: &[u32]) -> u128 {
        coords
            .iter()
            .zip(&self.def.sides)
            .fold(0u128, |acc, (&x, &s)| acc * s as u128 + x as u128)
    }

    /// Fills `out` (length `n · item_len`) with the inputs of the `n`
    /// consecutive sites starting at C-order index `start`.
    pub fn fill_range(&self, start: u128, out: &mut [f32]) {
        let n = self.item_len();
        let mut coords = [0u32; crate::lattice::MAX_DIM];
        for (j, row) in out.chunks_exact_mut(n).enumerate() {
            self.coords_of(start + j as u128, &mut coords);
            self.point_into(&coords[..self.dim()], row);
        }
    }

    /// Fills `out` with the inputs of sites given as flat coordinates
    /// (`k` per site).
    pub fn fill_coords(&self, coords: &[u32], out: &mut [f32]) {
        let (k, n) = (self.dim(), self.item_len());
        for (c, row) in coords.chunks_exact(k).zip(out.chunks_exact_mut(n)) {
            self.point_into(c, row);
        }
    }
}

/// The leading `m` principal directions of `rows` (`n × item_len`, row-major),
/// by power iteration with deflation on the centred data (never forming the
/// `item_len²` covariance). Deterministic: starts from a fixed seeded vector.
pub fn principal_directions(rows: &[f32], item_len: usize, m: usize) -> Result<Vec<Vec<f32>>> {
    if item_len == 0 || rows.len() % item_len != 0 || rows.len() < 2 * item_len {
        return Err(Error::invalid(
            "data",
            rows.len(),
            format!("expected at least two rows of {item_len} values"),
        ));
    }
    if m > item_len {
        return Err(Error::invalid(
            "directions",
            m,
            format!("expected at most {item_len} principal directions"),
        ));
    }
    let n = rows.len() / item_len;
    let mut mean = vec![0f64; item_len];
    for r in rows.chunks_exact(item_len) {
        mean.iter_mut().zip(r).for_each(|(m, &x)| *m += x as f64);
    }
    mean.iter_mut().for_each(|x| *x /= n as f64);
    let centred: Vec<f64> = rows
        .chunks_exact(item_len)
        .flat_map(|r| r.iter().zip(&mean).map(|(&x, m)| x as f64 - m))
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5CA1_AB1E);
    let mut found: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut y = vec![0f64; n];
    for _ in 0..m {
        let mut v: Vec<f64> = (0..item_len)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        for _ in 0..200 {
            // v ← Xᵀ X v, deflated against the directions already found.
            for (yi, r) in y.iter_mut().zip(centred.chunks_exact(item_len)) {
                *yi = r.iter().zip(&v).map(|(a, b)| a * b).sum();
            }
            let mut w = vec![0f64; item_len];
            for (yi, r) in y.iter().zip(centred.chunks_exact(item_len)) {
                w.iter_mut().zip(r).for_each(|(w, x)| *w += yi * x);
            }
            for f in &found {
                let dot: f64 = w.iter().zip(f).map(|(a, b)| a * b).sum();
                w.iter_mut().zip(f).for_each(|(x, y)| *x -= dot * y);
            }
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 || !norm.is_finite() {
                return Err(Error::Numerical {
                    context: "principal directions".into(),
                    reason: format!("the data have rank below {}", found.len() + 1),
                });
            }
            w.iter_mut().for_each(|x| *x /= norm);
            let change: f64 = w.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
            v = w;
            if change < 1e-9 {
                break;
            }
        }
        found.push(v);
    }
    Ok(found
        .into_iter()
        .map(|v| v.into_iter().map(|x| x as f32).collect())
        .collect())
}

/// `m` input-gradient directions: the gradient of the loss (to `class`) at
/// the points `A + (j/(m+1))·(C − A)`, `j = 1..=m`, of the segment.
pub fn gradient_directions<C: Classifier + ?Sized>(
    model: &C,
    a: &[f32],
    c: &[f32],
    class: u32,
    m: usize,
) -> Result<Vec<Vec<f32>>> {
    if m == 0 {
        return Ok(Vec::new());
    }
    let n = a.len();
    let mut xs = Vec::with_capacity(m * n);
    for j in 1..=m {
        let t = j as f32 / (m + 1) as f32;
        xs.extend(a.iter().zip(c).map(|(&x, &y)| (1.0 - t) * x + t * y));
    }
    let (_, grad) = model.loss_grad_flat(&xs, &[class], 64)?;
    Ok(grad.chunks_exact(n).map(|g| g.to_vec()).collect())
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

    #[test]
    fn principal_directions_recover_a_planted_axis() {
        // Data spread mostly along e_3, a little along e_0: PC1 = ±e_3.
        let n = 8;
        let mut rows = Vec::new();
        for i in 0..40 {
            let mut r = vec![0f32; n];
            r[3] = (i as f32 - 20.0) * 1.0;
            r[0] = ((i * 7) % 5) as f32 * 0.1;
            rows.extend(r);
        }
        let pcs = principal_directions(&rows, n, 2).unwrap();
        assert!((pcs[0][3].abs() - 1.0).abs() < 1e-4, "{:?}", pcs[0]);
        let dot: f32 = pcs[0].iter().zip(&pcs[1]).map(|(a, b)| a * b).sum();
        assert!(dot.abs() < 1e-5);
    }
}
