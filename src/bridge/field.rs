//! Dense loss fields: the loss at every site of a slice, and their storage.
//!
//! For a slice with sites `x(j)` and the class `y` shared by A and C, the
//! field is `ℓ(j) = CE(f(x(j)), y) = logsumexp(z) − z_y` with `z` the logits.
//! Sites are evaluated in fixed chunks of consecutive C-order indices, each
//! chunk filled into one buffer and passed to [`Classifier::loss_flat`];
//! chunks run in parallel with rayon and are written to disjoint parts of the
//! output, so the result is identical for any thread count and memory stays
//! bounded by `threads × chunk × item_len` floats besides the field itself.
//!
//! A field is stored in a directory as `field.npy` (f32, shape = the grid
//! sides, C order), `axes.npy` (`[k, item_len]`), `endpoints.npy`
//! (`[2, item_len]`: A then C; the slice's origin is A) and `slice.json` (the
//! [`SliceDefinition`] plus class and evaluation counters), so analyses
//! rerun without the model; [`StoredField::load`] reads it back.

use std::path::Path;
use std::time::Instant;

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::slice::{Slice, SliceDefinition};
use crate::error::{Error, Result};
use crate::nn::Classifier;

/// Bytes per site that a dense analysis holds at once: the f32 field, the
/// u32 loss order and the u32 union-find entry, plus a margin for the null
/// model's shuffled copy.
pub const DENSE_BYTES_PER_SITE: u64 = 16;

/// A loss value at every site of a grid, C order (last axis fastest).
#[derive(Debug, Clone, PartialEq)]
pub struct LossField {
    /// Points per axis `L_i` of the grid; the product is the number of values.
    pub sides: Vec<usize>,
    /// One loss per site.
    pub values: Vec<f32>,
}

impl LossField {
    /// A field from its sides and values; errors if the sizes disagree.
    pub fn new(sides: Vec<usize>, values: Vec<f32>) -> Result<Self> {
        let n: usize = sides.iter().product();
        if n != values.len() || sides.is_empty() {
            return Err(Error::invalid(
                "field",
                values.len(),
                format!("expected {n} values for sides {sides:?}"),
            ));
        }
        Ok(LossField { sides, values })
    }

    /// Number of grid sites, the length of `values`.
    pub fn n_sites(&self) -> usize {
        self.values.len()
    }

    /// The C-order index of `coords`.
    pub fn index(&self, coords: &[u32]) -> usize {
        coords
            .iter()
            .zip(&self.sides)
            .fold(0usize, |acc, (&x, &s)| acc * s + x as usize)
    }

    /// The field as an `ndarray` of shape `sides`.
    pub fn to_array(&self) -> ArrayD<f32> {
        ArrayD::from_shape_vec(IxDyn(&self.sides), self.values.clone())
            .expect("sizes checked at construction")
    }
}

/// Refuses a dense grid that would not fit in memory or in a `u32` lattice,
/// with the estimate, before anything is allocated.
pub fn check_dense_size(sides: &[usize]) -> Result<usize> {
    let n: u128 = sides.iter().map(|&s| s as u128).product();
    let cap = (crate::unionfind::MAX_ELEMENTS - 2 * crate::lattice::MAX_DIM) as u128;
    let needed = n
        .saturating_mul(DENSE_BYTES_PER_SITE as u128)
        .min(u64::MAX as u128) as u64;
    if n > cap {
        return Err(Error::TooLarge {
            what: format!("a dense grid of {n} sites (sides {sides:?})"),
            needed_bytes: needed,
            limit_bytes: (cap * DENSE_BYTES_PER_SITE as u128) as u64,
            hint: format!(
                "dense grids hold at most {cap} sites; use smaller sides or the invasion method"
            ),
        });
    }
    crate::memory::ensure_fits(
        format!("a dense grid of {n} sites (sides {sides:?})"),
        needed,
        "use smaller sides or the invasion method",
    )?;
    Ok(n as usize)
}

/// Inputs per forward pass everywhere in the bridge. A network's batched
/// matrix products may round a row's logits differently depending on how many
/// rows the batch has, so every evaluation is padded to whole blocks of this
/// size: a site's loss is then the same bit pattern whether the dense sweep,
/// invasion (whose `2k ≤ 32` neighbours fill one block) or a path re-evaluation
/// computes it — the exactness that `dense barrier == invasion barrier`
/// relies on.
pub const EVAL_BLOCK: usize = 32;

/// `CE(model(x), class)` for the inputs in `xs` (whole inputs back to back),
/// evaluated in padded blocks of [`EVAL_BLOCK`] (padding repeats the last
/// input and is discarded).
pub fn loss_blocked<C: Classifier + ?Sized>(model: &C, xs: &[f32], class: u32) -> Result<Vec<f32>> {
    let item_len = model.spec().item_len();
    let n = xs.len() / item_len.max(1);
    if n == 0 || n * item_len != xs.len() {
        return model.loss_flat(xs, &[class], EVAL_BLOCK);
    }
    let padded_n = n.div_ceil(EVAL_BLOCK) * EVAL_BLOCK;
    if padded_n == n {
        return model.loss_flat(xs, &[class], EVAL_BLOCK);
    }
    let mut padded = Vec::with_capacity(padded_n * item_len);
    padded.extend_from_slice(xs);
    let last = &xs[(n - 1) * item_len..];
    for _ in n..padded_n {
        padded.extend_from_slice(last);
    }
    let mut out = model.loss_flat(&padded, &[class], EVAL_BLOCK)?;
    out.truncate(n);
    Ok(out)
}

/// How a dense evaluation is chunked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenseOptions {
    /// Sites per chunk (one buffer, one `loss_flat` call, one parallel task).
    pub chunk_sites: usize,
    /// Requested inputs per forward pass; currently every pass uses
    /// [`EVAL_BLOCK`] inputs (see there), and this field is kept for when
    /// classifiers guarantee batch-invariant rounding.
    pub batch: usize,
}

impl Default for DenseOptions {
    fn default() -> Self {
        DenseOptions {
            chunk_sites: 1024,
            batch: EVAL_BLOCK,
        }
    }
}

/// A dense field with its cost.
#[derive(Debug, Clone)]
pub struct FieldEvaluation {
    /// The loss `CE(model(x), class)` at every site of the slice.
    pub field: LossField,
    /// Number of model evaluations (= sites).
    pub evaluations: u64,
    /// Wall-clock seconds of the evaluation.
    pub seconds: f64,
}

impl FieldEvaluation {
    /// Model evaluations per wall-clock second, `evaluations / seconds`.
    pub fn evaluations_per_sec(&self) -> f64 {
        self.evaluations as f64 / self.seconds.max(1e-12)
    }
}

/// Evaluates `CE(model(x), class)` at every site of `slice`, streamed in
/// chunks (see the module docs). Refuses grids that do not fit
/// ([`check_dense_size`]).
pub fn evaluate_dense<C: Classifier + ?Sized>(
    model: &C,
    slice: &Slice,
    class: u32,
    opts: &DenseOptions,
) -> Result<FieldEvaluation> {
    let item_len = model.spec().item_len();
    if item_len != slice.item_len() {
        return Err(Error::invalid(
            "slice",
            slice.item_len(),
            format!("expected inputs of length {item_len} for this model"),
        ));
    }
    if class as usize >= model.spec().classes {
        return Err(Error::invalid(
            "class",
            class,
            format!("expected a class below {}", model.spec().classes),
        ));
    }
    let n = check_dense_size(slice.sides())?;
    let chunk = opts.chunk_sites.max(1);
    let started = Instant::now();
    let mut values = vec![0f32; n];
    values
        .par_chunks_mut(chunk)
        .enumerate()
        .try_for_each(|(ci, out)| -> Result<()> {
            let mut buf = vec![0f32; out.len() * item_len];
            slice.fill_range((ci * chunk) as u128, &mut buf);
            let loss = loss_blocked(model, &buf, class)?;
            out.copy_from_slice(&loss);
            Ok(())
        })?;
    Ok(FieldEvaluation {
        field: LossField::new(slice.sides().to_vec(), values)?,
        evaluations: n as u64,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The JSON sidecar of a stored field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldMeta {
    /// Definition of the slice the field was evaluated on (sides, spans, steps,
    /// endpoint coordinates).
    pub slice: SliceDefinition,
    /// The class the loss is measured against.
    pub class: u32,
    /// Model evaluations spent on the field.
    pub evaluations: u64,
    /// Wall-clock seconds the dense evaluation took.
    pub seconds: f64,
    /// Free-form name of the model, for the record.
    pub model: String,
}

/// A field with its slice, as stored on disk.
#[derive(Debug, Clone)]
pub struct StoredField {
    /// The loss values read from `field.npy`.
    pub field: LossField,
    /// The slice (endpoints, axes, definition).
    pub slice: Slice,
    /// The sidecar read from `slice.json`.
    pub meta: FieldMeta,
}

fn npy_bytes<A: WriteNpyExt>(a: &A, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    a.write_npy(&mut bytes).map_err(|e| Error::InvalidFile {
        path: path.into(),
        reason: format!("cannot encode .npy: {e}"),
    })?;
    Ok(bytes)
}

fn read_npy_f32(path: &Path) -> Result<ArrayD<f32>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    ArrayD::<f32>::read_npy(std::io::BufReader::new(file)).map_err(|e| Error::InvalidFile {
        path: path.into(),
        reason: format!("expected an f32 .npy array: {e}"),
    })
}

impl StoredField {
    /// The record of a dense evaluation `eval` of `slice` (loss to `class`
    /// of the model named `model`), ready to [`StoredField::save`].
    pub fn of_evaluation(eval: FieldEvaluation, slice: Slice, class: u32, model: &str) -> Self {
        StoredField {
            meta: FieldMeta {
                slice: slice.definition().clone(),
                class,
                evaluations: eval.evaluations,
                seconds: eval.seconds,
                model: model.to_string(),
            },
            field: eval.field,
            slice,
        }
    }

    /// Writes `field.npy`, `axes.npy`, `endpoints.npy` and `slice.json` into
    /// `dir` (created if needed), each atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let f = dir.join("field.npy");
        crate::atomic::write_atomic(&f, &npy_bytes(&self.field.to_array(), &f)?)?;
        let (k, n) = (self.slice.dim(), self.slice.item_len());
        let axes = ndarray::Array2::from_shape_vec((k, n), self.slice.axes().to_vec())
            .expect("axes are k × item_len");
        let p = dir.join("axes.npy");
        crate::atomic::write_atomic(&p, &npy_bytes(&axes, &p)?)?;
        let ends: Vec<f32> = self
            .slice
            .a()
            .iter()
            .chain(self.slice.c())
            .copied()
            .collect();
        let ends = ndarray::Array2::from_shape_vec((2, n), ends).expect("2 × item_len");
        let p = dir.join("endpoints.npy");
        crate::atomic::write_atomic(&p, &npy_bytes(&ends, &p)?)?;
        let p = dir.join("slice.json");
        let json = serde_json::to_vec_pretty(&self.meta).expect("meta serialises");
        crate::atomic::write_atomic(&p, &json)
    }

    /// Reads a field stored by [`StoredField::save`].
    pub fn load(dir: &Path) -> Result<Self> {
        let p = dir.join("slice.json");
        let text = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        let meta: FieldMeta = serde_json::from_slice(&text).map_err(|e| Error::InvalidFile {
            path: p.clone(),
            reason: format!("expected a slice sidecar: {e}"),
        })?;
        let fp = dir.join("field.npy");
        let arr = read_npy_f32(&fp)?;
        if arr.shape() != meta.slice.sides.as_slice() {
            return Err(Error::InvalidFile {
                path: fp,
                reason: format!(
                    "shape {:?} does not match the slice's sides {:?}",
                    arr.shape(),
                    meta.slice.sides
                ),
            });
        }
        let values: Vec<f32> = arr.iter().copied().collect();
        let axes = read_npy_f32(&dir.join("axes.npy"))?;
        let ends = read_npy_f32(&dir.join("endpoints.npy"))?;
        let n = ends.len() / 2;
        let ends: Vec<f32> = ends.iter().copied().collect();
        let slice = Slice::from_parts(
            ends[..n].to_vec(),
            ends[n..].to_vec(),
            axes.iter().copied().collect(),
            meta.slice.clone(),
        )
        .map_err(|e| Error::InvalidFile {
            path: dir.into(),
            reason: e.to_string(),
        })?;
        Ok(StoredField {
            field: LossField::new(meta.slice.sides.clone(), values)?,
            slice,
            meta,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::slice::GridSpec;

    #[test]
    fn stored_field_round_trips_bit_for_bit() {
        let a: Vec<f32> = (0..12).map(|i| i as f32 / 12.0).collect();
        let c: Vec<f32> = (0..12).map(|i| 1.0 - i as f32 / 24.0).collect();
        let slice = Slice::random(&a, &c, &GridSpec::cube(3, 4, 0.5), 7).unwrap();
        let values: Vec<f32> = (0..64).map(|i| (i as f32 * 0.731).sin() * 1e3).collect();
        let stored = StoredField {
            field: LossField::new(vec![4, 4, 4], values).unwrap(),
            slice,
            meta: FieldMeta {
                slice: Slice::random(&a, &c, &GridSpec::cube(3, 4, 0.5), 7)
                    .unwrap()
                    .definition()
                    .clone(),
                class: 3,
                evaluations: 64,
                seconds: 0.5,
                model: "test".into(),
            },
        };
        let dir = tempfile::tempdir().unwrap();
        stored.save(dir.path()).unwrap();
        let back = StoredField::load(dir.path()).unwrap();
        assert_eq!(back.field, stored.field);
        assert_eq!(back.meta, stored.meta);
        assert_eq!(back.slice.axes(), stored.slice.axes());
        // The reloaded slice maps coordinates to the same inputs.
        assert_eq!(back.slice.point(&[1, 2, 3]), stored.slice.point(&[1, 2, 3]));
    }

    #[test]
    fn oversize_grid_is_refused_with_an_estimate() {
        let e = check_dense_size(&[1000, 1000, 1000, 1000]).unwrap_err();
        assert!(e.is_user_error());
        match e {
            Error::TooLarge { needed_bytes, .. } => {
                assert_eq!(needed_bytes, 1_000_000_000_000 * DENSE_BYTES_PER_SITE)
            }
            other => panic!("expected TooLarge, got {other}"),
        }
    }
}
