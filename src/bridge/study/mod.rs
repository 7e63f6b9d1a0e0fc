//! The slice-percolation study's slice parameters and its statistics.
//!
//! [`SliceStudyConfig`] is what an experiment file's `[params.slice]`
//! holds (unknown keys refused); it turns into one [`SlicePlan`](super::measure::SlicePlan) per slice
//! dimension — every `k` on the same side `L`, so that only `k` changes
//! along a scan and slices nest — and into the nested grids of the
//! finite-size-scaling scan ([`SliceStudyConfig::fss_plans`]).
//!
//! [`summarise`] turns the records of many pairs into per-group (model,
//! pair kind) statistics: the excursion-set spanning fraction `p_span(k)`
//! with bootstrap intervals beside both nulls and the lattice `p_c^site(k)`,
//! the normalised gap fraction `g(k)` (median with a 95 % interval over the
//! pairs whose straight path has a gap above the floor), the fitted decay law
//! of `g(k)`, the smallest `k` whose grid matches the optimised bypass of the
//! same pair, and the finite-size extrapolation of `p_span` over nested
//! grids at fixed `k`.
//!
//! ```
//! use ismc::bridge::SliceStudyConfig;
//! let cfg: SliceStudyConfig = toml::from_str("dims = [1, 2, 3]\nside = 5").unwrap();
//! cfg.validate().unwrap();
//! assert_eq!(cfg.plan(3).side, 5);
//! assert_eq!(cfg.frame_size(), 2);
//! ```

mod config;
mod nesting;
mod statistics;
mod summary;

pub use config::SliceStudyConfig;
pub use nesting::nested_bounds;
pub use statistics::{above_floor, lattice_pc_site, summarise};
pub use summary::{FssAtK, FssSeries, GroupAtK, GroupSummary, MeanSe, PairOutcome, SliceSummary};
