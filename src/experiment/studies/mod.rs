//! The studies: one folder per experiment kind, each a set of parameters
//! (serde, `deny_unknown_fields`, a `validate` that names `params.FIELD`)
//! and a type implementing [`runner::Experiment`](super::runner::Experiment)
//! that computes its units, writes its tables, draws its figures and writes
//! its report.
//!
//! A study imports the runner core ([`runner`](super::runner),
//! [`store`](super::store)) and the domain layers, never another study and
//! never the module that parses configurations and dispatches them to a
//! study, which is the only one that names every kind.

pub mod adversarial;
pub mod evaluation;
pub mod imagenet_demo;
pub mod lattice;
pub mod slice_percolation;
pub mod training;
pub mod untrained_connectivity;
