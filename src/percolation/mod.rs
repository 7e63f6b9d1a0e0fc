//! Percolation on the hypercubic lattice: Newman–Ziff sweeps on finite
//! lattices, the canonical (fixed-p) ensemble, invasion percolation on an
//! unbounded lattice, and connected-component labelling of user grids.
//!
//! The observables of one Newman–Ziff sample are recorded as functions of the
//! number `n` of occupied sites (or bonds) — the *microcanonical* ensemble —
//! and converted to functions of the occupation probability `p` by
//! [`canonical`] convolution with binomial weights.

pub mod canonical;
pub mod curve;
pub mod forest;
pub mod invasion;
pub mod label;
pub mod newman_ziff;
pub mod two_point;

pub use newman_ziff::{
    run_sweeps, run_sweeps_from, Event, Kind, SampleRecord, SweepConfig, Sweeps,
};
