//! Finite-size scaling and threshold estimates: from Newman–Ziff sweeps on
//! several lattice sizes ([`fss`]), or from invasion runs of several cluster
//! sizes ([`invasion_fit`]), to `p_c(d)` with an error bar ([`threshold`]),
//! compared with the literature ([`literature`]).

pub mod fss;
pub mod invasion_fit;
pub mod literature;
pub mod threshold;
