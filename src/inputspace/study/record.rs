//! What one class unit records: the detector's view of each input, the
//! bypassed pairs, and the unit's result as a whole.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::inputspace::attack::AttackKind;
use crate::inputspace::detector::DetectorFeatures;
use crate::inputspace::local::LocalBarriers;
use crate::inputspace::pairs::PairRecord;

/// The detector's view of one input claimed as the unit's class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionSample {
    /// Data-set index of the input (for an attacked input: of its source).
    pub index: u64,
    /// CE against the unit's class.
    pub loss: f64,
    /// The model's predicted class.
    pub predicted: u32,
    /// Whether the model predicts the unit's class.
    pub success: bool,
    /// Maximum softmax probability.
    pub max_softmax: f64,
    /// Euclidean distance to the nearest detector reference.
    pub nearest_distance: f64,
    /// Barrier features against the references.
    pub features: DetectorFeatures,
    /// Local barriers (short random paths out of the input); empty in units
    /// written before they existed, or with `detector.local.radii = []`.
    #[serde(default)]
    pub local: LocalBarriers,
}

impl DetectionSample {
    /// What the reference-barrier detector sees: the barrier features on a
    /// log scale ([`DetectorFeatures::to_log_vec`]).
    pub fn barrier_row(&self) -> Vec<f64> {
        self.features.to_log_vec()
    }

    /// What the extended detector sees: [`DetectionSample::barrier_row`]
    /// followed by the local rises ([`LocalBarriers::rises`]).
    pub fn extended_row(&self) -> Vec<f64> {
        let mut row = self.barrier_row();
        row.extend(self.local.rises(self.loss));
        row
    }
}

/// One bypassed real–real pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BypassRecord {
    /// Data-set index of A.
    pub index_a: u64,
    /// Data-set index of C.
    pub index_c: u64,
    /// Gap of the linear path.
    pub primary_gap: f64,
    /// Gap of the bent path A → B' → C.
    pub bypass_gap: f64,
    /// `max|B' − B|` over the input range width.
    pub relative_bend: f64,
}

/// Everything measured for one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassUnitResult {
    /// Class y of the unit: the target of every loss and attack it measures.
    pub class: u32,
    /// Seed of the unit, derived from the master seed and the class; every draw of the
    /// unit uses it.
    pub seed: u64,
    /// Kept pairs of every kind.
    pub pairs: Vec<PairRecord>,
    /// Detector view of the clean class-y inputs.
    pub clean: Vec<DetectionSample>,
    /// Detector view of the attacked inputs, keyed by attack.
    pub attacked: BTreeMap<AttackKind, Vec<DetectionSample>>,
    /// Bypassed real–real pairs (empty when the bypass is off).
    pub bypass: Vec<BypassRecord>,
}
