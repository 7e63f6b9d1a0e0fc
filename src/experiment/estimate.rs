//! What a run will need, estimated before it starts: the numbers
//! `ismc check` prints, to size a job (a Slurm array's memory request, a
//! run's wall time) before submitting it.

use serde::Serialize;

use crate::error::human_bytes;

/// The resources a run of an experiment needs, as far as the study can
/// tell without running it. Each number says what it is; `None` where a
/// study cannot estimate it honestly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceEstimate {
    /// Peak memory of the process, bytes.
    pub peak_memory_bytes: u64,
    /// The same, readable (e.g. `1.5 GiB`).
    pub peak_memory: String,
    /// Wall-clock seconds of the whole run on the 2-core reference
    /// machine, where the study has a cost model.
    pub reference_seconds: Option<f64>,
    /// How the numbers were obtained, and what they leave out.
    pub basis: String,
}

impl ResourceEstimate {
    /// An estimate of `peak_memory_bytes` and `reference_seconds`,
    /// explained by `basis`.
    pub fn new(peak_memory_bytes: u64, reference_seconds: Option<f64>, basis: String) -> Self {
        ResourceEstimate {
            peak_memory_bytes,
            peak_memory: human_bytes(peak_memory_bytes),
            reference_seconds,
            basis,
        }
    }

    /// The estimate of a study without a cost model: the memory measured
    /// once its models and data are loaded (a lower bound), and no time.
    pub fn loaded() -> Self {
        Self::new(
            crate::memory::resident_peak_bytes().unwrap_or(0),
            None,
            "memory: the peak resident size after loading the study's models and data, \
             a lower bound (each running unit's working memory comes on top); time: not \
             estimated, as it depends on how fast optimisations converge (the manifest.json \
             of a finished run records every unit's seconds)"
                .into(),
        )
    }
}
