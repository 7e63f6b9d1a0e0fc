//! The shape of a grid: its sides validated against the data and the
//! memory limit, its C-order strides, and its layers.

use super::label_memory_bytes;
use crate::error::{Error, Result};
use crate::lattice::MAX_DIM;
use crate::unionfind::MAX_ELEMENTS;

/// A validated shape with its C-order strides.
pub(super) struct Geometry {
    pub(super) shape: Vec<usize>,
    pub(super) strides: Vec<usize>,
    pub(super) n: usize,
}

impl Geometry {
    pub(super) fn new(shape: &[usize], len: usize) -> Result<Self> {
        let d = shape.len();
        let shape_str = || format!("{shape:?}");
        if d == 0 || d > MAX_DIM {
            return Err(Error::invalid(
                "shape",
                shape_str(),
                format!("expected 1 to {MAX_DIM} axes, got {d}"),
            ));
        }
        if let Some(axis) = shape.iter().position(|&s| s == 0) {
            return Err(Error::invalid(
                "shape",
                shape_str(),
                format!("side of axis {axis} is 0; expected every side to be at least 1"),
            ));
        }
        let n = shape
            .iter()
            .try_fold(1usize, |acc, &s| acc.checked_mul(s))
            .filter(|&n| n <= MAX_ELEMENTS);
        let Some(n) = n else {
            let n: u128 = shape.iter().map(|&s| s as u128).product();
            return Err(Error::TooLarge {
                what: format!("labelling a grid of {n} sites"),
                needed_bytes: (n.saturating_mul(4) + n.div_ceil(8)).min(u64::MAX as u128) as u64,
                limit_bytes: label_memory_bytes(MAX_ELEMENTS as u64),
                hint: format!(
                    "ismc labels grids of at most {MAX_ELEMENTS} sites; use a smaller grid"
                ),
            });
        };
        if len != n {
            return Err(Error::invalid(
                "occupied",
                format!("{len} values"),
                format!("shape {} has {n} sites", shape_str()),
            ));
        }
        let mut strides = vec![1usize; d];
        for axis in (0..d - 1).rev() {
            strides[axis] = strides[axis + 1] * shape[axis + 1];
        }
        Ok(Geometry {
            shape: shape.to_vec(),
            strides,
            n,
        })
    }

    pub(super) fn dim(&self) -> usize {
        self.shape.len()
    }

    /// Calls `f(site)` for every site of the layer `x_axis = layer`, in
    /// increasing order, until `f` returns `false`.
    pub(super) fn for_each_in_layer(
        &self,
        axis: usize,
        layer: usize,
        mut f: impl FnMut(usize) -> bool,
    ) {
        let stride = self.strides[axis];
        let block = stride * self.shape[axis];
        for outer in (0..self.n).step_by(block) {
            let start = outer + layer * stride;
            for site in start..start + stride {
                if !f(site) {
                    return;
                }
            }
        }
    }
}
