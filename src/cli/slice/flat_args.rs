//! The arguments of the flat form `ismc slice --pair I,J --dims K --side L`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ismc::data::input::PairRef;

/// How the slice's grid is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchMethod {
    /// Evaluate every site, then union-find in loss order (gives p*).
    Dense,
    /// Grow from A by goal-first invasion, evaluating only where the
    /// cluster reaches: the exact minimax barrier. Sites below the current
    /// invasion level are absorbed nearest to C first, and the level rises
    /// (to the lowest boundary loss) only once A's cluster at that level is
    /// exhausted, so a barrier equal to max(ℓ(A), ℓ(C)) costs a walk to C,
    /// not A's whole basin.
    Invasion,
    /// Bracket the minimax barrier within a budget: goal-first invasion
    /// first (exact if it reaches C; otherwise the level it reached is a
    /// lower bound), then bisect the level (--bisect-steps), each search
    /// either finding a path at or below it (an upper bound), refuting it
    /// (a lower bound) or running out of its share of --max-evaluations.
    /// Reports lower_bound, upper_bound and the searches.
    Certify,
    /// Dense when the grid has at most 2²² sites; otherwise certify (goal-first
    /// invasion, then bisection within --max-evaluations).
    Auto,
}

/// Arguments of the flat form `ismc slice --pair I,J --dims K --side L`.
#[derive(Debug, Args)]
pub struct OneSliceArgs {
    /// Model: bundled name, untrained:ARCH:INIT:SEED, or a weights file.
    #[arg(long, default_value = "lenet5-mnist")]
    pub(super) model: String,
    /// Data set the indices refer to (and the PCA directions come from).
    #[arg(long, default_value = "mnist")]
    pub(super) data: String,
    /// Endpoints A,C: data indices or .npy files, e.g. `0,17`.
    #[arg(long, value_name = "I,J", required = true)]
    pub(super) pair: Option<PairRef>,
    /// Target class of the loss (default: the shared class of A and C).
    #[arg(long)]
    pub(super) class: Option<u32>,
    /// Slice dimension k: axis 0 along C − A, axes 1..k−1 from --directions.
    #[arg(long, required = true)]
    pub(super) dims: Option<usize>,
    /// Points per axis.
    #[arg(long, required = true)]
    pub(super) side: Option<usize>,
    /// Extent of axes 1..k−1 in units of |C − A| (axis 0 spans A to C).
    #[arg(long, default_value_t = 1.0)]
    pub(super) span: f64,
    /// Where axes 1..k−1 come from: seeded Gaussian vectors, the principal
    /// components of the data, or input gradients along the segment.
    #[arg(long, value_enum, default_value_t = Directions::Random)]
    pub(super) directions: Directions,
    /// Data items (the first N) whose principal components give `pca` axes.
    #[arg(long, default_value_t = 2000)]
    pub(super) pca_items: usize,
    /// Dense, invasion, certify, or auto (dense up to 2²² sites, else
    /// invasion).
    #[arg(long, value_enum, default_value_t = SearchMethod::Auto)]
    pub(super) method: SearchMethod,
    /// Also measure the fair nulls (dense only): the i.i.d. pinned null (A
    /// and C occupied first, every other site in uniform random order) and
    /// IAAFT surrogates of the field (its histogram and power spectrum,
    /// random phases, A and C pinned): `p_star_null`, `p_span_null_iid`,
    /// `p_star_surrogate`, `p_span_surrogate`.
    #[arg(long)]
    pub(super) null: bool,
    /// Orders of the i.i.d. pinned null.
    #[arg(long, default_value_t = 20)]
    pub(super) null_shuffles: usize,
    /// IAAFT surrogates.
    #[arg(long, default_value_t = 4)]
    pub(super) surrogates: usize,
    /// IAAFT iterations at most per surrogate.
    #[arg(long, default_value_t = 100)]
    pub(super) surrogate_iterations: usize,
    /// Directions in the pair's frame (default k − 1). Random frames nest
    /// whatever the size; gradient and PCA frames depend on it, so pass the
    /// study's largest k − 1 to reproduce a study's slice.
    #[arg(long)]
    pub(super) frame: Option<usize>,
    /// Points on the straight segment A–C for the linear barrier.
    #[arg(long, default_value_t = 500)]
    pub(super) linear_points: usize,
    /// Write the low-loss graph at --level (GraphML or DOT by extension;
    /// dense only).
    #[arg(long)]
    pub(super) graph: Option<PathBuf>,
    /// Loss level of --graph (default: the minimax barrier, where A and C
    /// first share a cluster).
    #[arg(long)]
    pub(super) level: Option<f32>,
    /// Store the dense field here (as `ismc slice dense` does).
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
    /// Give up (exit code 2) after this many model evaluations (invasion
    /// and certify, together).
    #[arg(long, default_value_t = 3_000_000)]
    pub(super) max_evaluations: u64,
    /// Order of the goal-first searches (invasion and certify) below their
    /// level: depth-first (follows one way round an obstacle far) or
    /// best-first by grid distance to C.
    #[arg(long, value_enum, default_value_t = SearchOrderArg::Deep, alias = "certify-order")]
    pub(super) search_order: SearchOrderArg,
    /// Bisection steps of `certify` after its first search (goal-first
    /// invasion); each search gets --max-evaluations / (steps + 1).
    #[arg(long, default_value_t = 8)]
    pub(super) bisect_steps: usize,
    /// Sites sampled uniformly to estimate p* (the fraction of the grid at
    /// or below the barrier) when the grid is not evaluated densely and ℓ*
    /// is exact (0: none).
    #[arg(long, default_value_t = 4096)]
    pub(super) p_star_samples: usize,
    /// Points per grid edge when the minimax path is re-evaluated.
    #[arg(long, default_value_t = 8)]
    pub(super) path_points: usize,
    /// The pair's seed: the frame of random directions, the null orders and
    /// the surrogates derive from it (a study's `slices.csv` records it per
    /// pair, so `--seed` reproduces that row).
    #[arg(long, default_value_t = 1)]
    pub(super) seed: u64,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub(super) json: bool,
}

/// `--search-order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchOrderArg {
    /// Depth-first, nearest to C among the newest sites.
    Deep,
    /// Best-first by grid distance to C.
    Nearest,
}

/// Direction sources of `--directions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Directions {
    /// Seeded isotropic Gaussian vectors.
    Random,
    /// Principal components of the data.
    Pca,
    /// Input gradients of the loss along the segment A–C.
    Gradient,
}
