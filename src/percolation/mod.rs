//! Percolation on the hypercubic lattice: Newman–Ziff sweeps on finite
//! lattices, the canonical (fixed-p) ensemble, invasion percolation on an
//! unbounded lattice, and connected-component labelling of user grids.
//!
//! The observables of one Newman–Ziff sample are recorded as functions of the
//! number `n` of occupied sites (or bonds) — the *microcanonical* ensemble —
//! and converted to functions of the occupation probability `p` by
//! [`canonical`] convolution with binomial weights; [`curve`] gives the
//! canonical curves of a set of sweeps.
//!
//! The sweeps themselves ([`run_sweeps`], configured by [`SweepConfig`],
//! giving [`Sweeps`]) live in the private `newman_ziff/` folder — the
//! records, the runner, the prefetching sample loops for periodic and open
//! boundaries — and are re-exported here.

pub mod canonical;
pub mod curve;
pub mod forest;
pub mod invasion;
pub mod label;
mod newman_ziff;
pub mod two_point;

pub use newman_ziff::{
    bytes_per_worker, run_sweeps, run_sweeps_from, Event, Kind, ObservableSums, SampleRecord,
    SweepConfig, Sweeps, NEVER,
};
