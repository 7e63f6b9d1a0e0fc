//! A barrier-based adversarial detector and its evaluation (science.md §2).
//!
//! An input x that the model assigns to class y is compared with k real
//! class-y references `r_1 … r_k`: the loss `CE(·, y)` along each linear path
//! `r_j → x` gives barrier metrics, summarised over references into
//! [`DetectorFeatures`]. Real inputs of class y sit in the references'
//! connected low-loss region, adversarial ones tend to lie behind a barrier.
//!
//! * **Threshold rule**: score = one feature (e.g. the median gap); an input
//!   is flagged when its score exceeds a threshold.
//! * **Logistic regression** ([`LogisticRegression`]): the features on a
//!   log scale ([`DetectorFeatures::to_log_vec`]), standardised with the
//!   training split's mean and standard deviation, then
//!   `P(adv | z) = σ(w·z + b)`, fitted by Newton's method (IRLS) on the
//!   L2-penalised negative log-likelihood
//!   `Σ −log p(yᵢ|zᵢ) + (λ/2)|w|²` (the intercept is not penalised).
//! * **ROC / AUROC**: the ROC curve sweeps the threshold over all scores;
//!   AUROC is the Mann–Whitney statistic
//!   `P(score_pos > score_neg) + ½ P(score_pos = score_neg)`, computed from
//!   mid-ranks in O(n log n). Its 95 % interval is the percentile bootstrap
//!   resampling positives and negatives separately (seeded).
//! * **Baselines**: the model's maximum softmax probability (score
//!   `1 − MSP`: low confidence is suspicious) and the input-space distance to
//!   the nearest reference.

mod barrier_features;
mod baseline;
mod logistic;
mod roc;

pub use barrier_features::{features, features_many, DetectorFeatures, LOG_FLOOR};
pub use baseline::{max_softmax, nearest_distance};
pub use logistic::LogisticRegression;
pub use roc::{auroc, auroc_interval, roc_curve, youden_threshold, RocPoint};
