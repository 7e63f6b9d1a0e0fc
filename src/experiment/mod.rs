//! Orchestration: experiments that combine domain computations, run as
//! resumable units by the runner, store their results as CSV/JSON/.npy, and
//! draw figures from the stored results.
//!
//! * The runner core knows no study: [`runner`] (the [`runner::Experiment`]
//!   trait, [`runner::run`], [`runner::merge`], shards and unit files),
//!   [`manifest`] (the provenance of a run directory) and [`store`] (the CSV
//!   and JSON tables and figure links every study writes and reads).
//! * [`studies`] holds one module per experiment kind; each imports only the
//!   core and the domain layers.
//! * [`registry`] parses the declarative TOML files of `experiments/`, and is
//!   the only module that names every study: it dispatches a parsed
//!   configuration to its study and hands it to the runner; [`limits`] holds
//!   the rules every configuration obeys whatever its kind.

pub mod estimate;
pub mod limits;
pub mod lock;
pub mod manifest;
pub mod registry;
pub mod runner;
pub mod store;
pub mod studies;
