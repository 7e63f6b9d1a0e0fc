//! Orchestration: experiments that combine domain computations, run as
//! resumable units by the [`runner`], store their results as CSV/JSON/.npy,
//! and draw figures from the stored results.
//!
//! [`registry`] parses the declarative TOML files of `experiments/` and
//! dispatches a parsed configuration to its experiment.

pub mod adversarial;
pub mod evaluation;
pub mod imagenet_demo;
pub mod lattice_study;
pub mod manifest;
pub mod registry;
pub mod runner;
pub mod slice_percolation;
pub mod store;
pub mod training;
pub mod untrained_connectivity;
