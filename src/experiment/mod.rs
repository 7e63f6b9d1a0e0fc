//! Orchestration: studies that combine domain computations, store their
//! results as CSV/JSON, and draw figures from the stored results.

pub mod lattice_study;
