//! Neural networks: architectures, initialisations, weights I/O, training and
//! evaluation, behind one [`Classifier`] trait.
//!
//! Bundled models load by name; every model answers batched logits, per-input
//! cross-entropy and the input gradient of that loss:
//!
//! ```no_run
//! use ismc::nn::{zoo, Classifier};
//! let model = zoo::load_named("lenet5-mnist").unwrap();
//! let digits = ismc::data::load("mnist").unwrap();
//! let x = digits.images(&[0, 1000]).unwrap();
//! let lg = model.loss_and_input_grad(&x, &[0, 0]).unwrap();
//! assert_eq!(lg.grad.dims(), x.dims());
//! ```

pub mod arch;
mod classifier;
pub mod conv;
pub mod depthwise;
pub mod eval;
pub mod fold;
pub mod init;
pub mod ops;
pub mod overlapping_pool;
pub mod preprocess;
pub mod train;
pub mod weights;
pub mod zoo;

pub use classifier::{
    arch_from_metadata, check_batch, cross_entropy, Classifier, InputSpec, LossGrad, Network,
};
