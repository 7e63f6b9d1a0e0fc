//! A pair's frame of off-axis directions: random, input gradients along
//! the segment, or given; slice `k` uses its first `k − 1`.

use crate::bridge::slice::{gradient_directions, DirectionKind, GridSpec, Slice};
use crate::error::{Error, Result};
use crate::nn::Classifier;
use crate::rng::{derive_seed, slice_stream, stream};

/// A pair's off-axis directions: slice `k` uses the first `k − 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Candidate directions, orthonormalised against `C − A` and each other
    /// in order when a slice is built.
    pub directions: Vec<Vec<f32>>,
    /// Where they came from.
    pub kind: DirectionKind,
    /// Seed of random directions (0 for the others).
    pub seed: u64,
}

impl Frame {
    /// `size` seeded isotropic Gaussian directions of length `item_len`,
    /// drawn one after the other from one stream: the first `m` are the same
    /// for every `size ≥ m`.
    pub fn random(item_len: usize, size: usize, seed: u64) -> Self {
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let directions = (0..size)
            .map(|_| {
                (0..item_len)
                    .map(|_| StandardNormal.sample(&mut rng))
                    .collect()
            })
            .collect();
        Frame {
            directions,
            kind: DirectionKind::Random,
            seed,
        }
    }

    /// The frame of a pair measured with seed `pair_seed`: random directions
    /// from the `FRAME` stream, or input gradients at `size` points of the
    /// segment (the same points for every `k`, so gradient slices nest too).
    pub fn for_pair<C: Classifier + ?Sized>(
        model: &C,
        a: &[f32],
        c: &[f32],
        class: u32,
        kind: DirectionKind,
        size: usize,
        pair_seed: u64,
    ) -> Result<Self> {
        match kind {
            DirectionKind::Random => Ok(Frame::random(
                a.len(),
                size,
                derive_seed(pair_seed, &[stream::SLICE, slice_stream::FRAME]),
            )),
            DirectionKind::Gradient => Ok(Frame {
                directions: gradient_directions(model, a, c, class, size)?,
                kind,
                seed: 0,
            }),
            DirectionKind::Pca => Err(Error::invalid(
                "directions",
                "pca",
                "principal directions need data: build the frame with Frame::given",
            )),
        }
    }

    /// A frame of given directions (e.g. principal components of data).
    pub fn given(directions: Vec<Vec<f32>>, kind: DirectionKind) -> Self {
        Frame {
            directions,
            kind,
            seed: 0,
        }
    }

    /// The slice of dimension `grid.sides.len()` through A and C.
    pub fn slice(&self, a: &[f32], c: &[f32], grid: &GridSpec) -> Result<Slice> {
        let k = grid.sides.len();
        if self.directions.len() + 1 < k {
            return Err(Error::invalid(
                "dims",
                k,
                format!(
                    "the pair's frame has {} directions: expected k ≤ {}",
                    self.directions.len(),
                    self.directions.len() + 1
                ),
            ));
        }
        Slice::from_frame(a, c, grid, &self.directions, self.kind, self.seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_nest_random_directions() {
        let small = Frame::random(7, 2, 3);
        let big = Frame::random(7, 5, 3);
        assert_eq!(small.directions[..], big.directions[..2]);
    }
}
