//! The MNIST adversarial study as library functions: one unit of work per
//! class, and a summary over units. An experiment runner calls
//! [`run_class_unit`] for every class (in any order, on any thread) and then
//! [`summarise`]; both are deterministic functions of the config, the data,
//! the model and the unit's seed.
//!
//! ## One class unit (class y)
//!
//! 1. The **pool**: `pool_size` class-y images drawn with the unit's seed
//!    among those with `CE(·, y) ≤ low_loss_threshold` (the real modes; the
//!    paper's "lowest-loss images" of a trained MNIST LeNet5 are far more
//!    confident than typical digits, and would set the paper's attack stop
//!    losses that only the most confident adversarials reach), split into the
//!    detector's `references`, the `clean_inputs` (class-y inputs the
//!    detector must accept) and the remaining endpoints.
//! 2. **Pairs** ([`crate::inputspace::pairs`]): `selection.candidates`
//!    candidates per kind — real–real (two endpoints), real–adversarial (an
//!    endpoint and the paper's attack on a random image of another class,
//!    stopped at that endpoint's CE), cross-class (an endpoint and a random
//!    image of another class; target y) — of which the selection rule keeps
//!    the ones with comparable endpoint losses.
//! 3. **Attacks**, all targeted at y, on `attacked_inputs` random images of
//!    other classes: `paper`, `fgsm`, `pgd`, `adaptive` (whose path
//!    penalty uses `adaptive_references` pool images that are *not* the
//!    detector's references) and `adaptive_local` (PGD against the local
//!    barriers, [`attack::adaptive_local`](super::attack::adaptive_local)). Each attacked input (and each clean input)
//!    gets its detector features against the references, its local
//!    barriers ([`super::local`], `detector.local`), its maximum softmax
//!    probability and its distance to the nearest reference; `success` says
//!    whether the model predicts y for it.
//! 4. Optional **bypass** (one projected bend) of the kept real–real pairs.
//!
//! ## Summary
//!
//! Medians of barrier max and gap per pair kind; the detector — a logistic
//! regression on the features, trained on the even-numbered samples of every
//! class (clean vs successful `paper` adversarials) and evaluated on the
//! odd-numbered ones of each attack (successful adversarials vs clean), with
//! a bootstrap 95 % interval, refitted per attack (`known_attack`), and
//! fitted once on all standard attacks (`pooled`: paper, FGSM, PGD); the
//! same three for the *extended* detector, whose rows append the local rises
//! to the barrier features (`auroc_local…`); a threshold rule on one
//! feature; the baselines (`max_softmax`: score 1 − MSP;
//! `nearest_reference`: distance; `local_rise`: the mean local rise alone);
//! and the bypass medians. Units are combined in class order, so the summary does not
//! depend on the order in which units were run.

mod config;
mod record;
mod summary;
mod unit;

pub use config::{AdversarialStudyConfig, DetectorConfig};
pub use record::{BypassRecord, ClassUnitResult, DetectionSample};
pub use summary::{summarise, AdversarialSummary, Row};
pub use unit::{check_class_unit, run_class_unit};
