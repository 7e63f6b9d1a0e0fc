//! # ismc — input-space mode connectivity, measured as percolation
//!
//! ismc tests, numerically and at scale, whether inputs of a neural network
//! that receive the same prediction are joined by low-loss paths, and whether
//! that connectivity is the percolation effect of high dimension that lattice
//! theory predicts. It has four pillars:
//!
//! 1. **Lattice percolation on Z^d** ([`percolation`], [`scaling`]): a compact
//!    union-find, Newman–Ziff sweeps, invasion percolation on unbounded hashed
//!    lattices and finite-size scaling, giving p_c(d) with error bars that are
//!    checked against the literature ([`scaling::literature`]).
//! 2. **Networks** ([`nn`], [`data`]): real trained classifiers and real data
//!    shipped inside package registries, untrained architectures, training and
//!    evaluation, with batched loss and input gradients as the hot path.
//! 3. **Input-space measurements**: paths, barriers, bypasses, synthetic inputs,
//!    attacks and a barrier-based detector.
//! 4. **The bridge**: low-loss connectivity on k-dimensional grids of input
//!    space compared with lattice p_c(k).
//!
//! ## Layers
//!
//! Modules import only from layers below them:
//! foundations ([`unionfind`], [`lattice`], [`permutation`], [`rng`],
//! [`stats`], [`atomic`]) → domain ([`percolation`], [`scaling`], [`nn`],
//! [`data`], [`inputspace`], [`bridge`]) → orchestration ([`experiment`],
//! [`plot`]) → the `ismc` binary's `cli`.
//!
//! ## Example: the site threshold of the square lattice
//!
//! ```
//! use ismc::lattice::{Boundary, Lattice};
//! use ismc::percolation::{Kind, SweepConfig, run_sweeps};
//!
//! let lattice = Lattice::new(&[32, 32], Boundary::Periodic).unwrap();
//! let cfg = SweepConfig { kind: Kind::Site, samples: 64, seed: 1, track_observables: false };
//! let sweeps = run_sweeps(&lattice, &cfg, None).unwrap();
//! // Mean occupied fraction at which a cluster first wraps around the torus:
//! let p_wrap = sweeps.mean_wrap_fraction_any();
//! assert!((p_wrap - 0.5927).abs() < 0.03);
//! ```

// No unsafe code, with two audited exceptions in `memory`: the allocator
// tuning (`tune_allocator`, two `mallopt` calls) and a cache prefetch hint
// (`prefetch`).
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod assets;
pub mod atomic;
pub mod bridge;
pub mod data;
mod error;
pub mod experiment;
pub mod fetch;
pub mod inputspace;
pub mod lattice;
pub mod memory;
pub mod nn;
pub mod npy;
pub mod percolation;
pub mod permutation;
pub mod plot;
pub mod progress;
pub mod rng;
pub mod scaling;
pub mod stats;
pub mod unionfind;

pub use error::{Error, Result};
