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

mod construction;
mod directions;

pub use directions::{gradient_directions, principal_directions, DirectionKind};

use serde::{Deserialize, Serialize};

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
    /// Points per axis `L_i`; its length is the slice dimension k.
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

impl Slice {
    /// Dimension k of the slice.
    pub fn dim(&self) -> usize {
        self.def.sides.len()
    }

    /// Length of one input.
    pub fn item_len(&self) -> usize {
        self.a.len()
    }

    /// Points per axis `L_i` of the grid; its length is the slice dimension k.
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

    /// Endpoint A as a flat input, the slice's origin.
    pub fn a(&self) -> &[f32] {
        &self.a
    }

    /// Endpoint C as a flat input, on axis 0 at `c_coords`.
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
