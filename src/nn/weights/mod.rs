//! Weights I/O: safetensors in and out, PyTorch checkpoints in the zip
//! format (through `candle_core::pickle`) and in the legacy pre-1.6 format
//! ([`torch_legacy`], native), pickled dicts of numpy arrays
//! ([`numpy_pickle`], native), and checking a set of tensors against what an
//! architecture needs.

pub mod numpy_pickle;
pub mod pickle;
pub mod torch_legacy;

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::error::{Error, Result};

/// Named tensors in file order.
pub type NamedTensors = Vec<(String, Tensor)>;

/// A file format of weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// safetensors.
    Safetensors,
    /// PyTorch ≥ 1.6 zip checkpoint.
    TorchZip,
    /// PyTorch < 1.6 legacy checkpoint.
    TorchLegacy,
    /// A pickled dict of numpy arrays ([`numpy_pickle`]).
    NumpyPickle,
}

/// Guesses the format from the first bytes.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if torch_legacy::is_legacy(bytes) {
        Some(Format::TorchLegacy)
    } else if numpy_pickle::is_numpy_pickle(bytes) {
        Some(Format::NumpyPickle)
    } else if bytes.starts_with(b"PK\x03\x04") {
        Some(Format::TorchZip)
    } else if bytes.len() >= 9 && bytes[8] == b'{' {
        Some(Format::Safetensors)
    } else {
        None
    }
}

/// Reads the tensors of a weights file of any supported format, with the
/// safetensors metadata (empty for PyTorch files).
pub fn read_any(path: &Path) -> Result<(NamedTensors, HashMap<String, String>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    match sniff(&bytes) {
        Some(Format::TorchLegacy) => Ok((torch_legacy::parse(&bytes, path)?, HashMap::new())),
        Some(Format::TorchZip) => {
            let t = candle_core::pickle::read_all(path)
                .map_err(|e| Error::corrupt(path, e.to_string()))?;
            Ok((t, HashMap::new()))
        }
        Some(Format::Safetensors) => parse_safetensors(&bytes, path),
        Some(Format::NumpyPickle) => Ok((numpy_pickle::parse(&bytes, path)?, HashMap::new())),
        None => Err(Error::corrupt(
            path,
            "not a safetensors file or PyTorch checkpoint (unrecognised first bytes)",
        )),
    }
}

/// Parses safetensors bytes into tensors (sorted by name) and metadata.
pub fn parse_safetensors(
    bytes: &[u8],
    path: &Path,
) -> Result<(NamedTensors, HashMap<String, String>)> {
    let corrupt = |e: String| Error::corrupt(path, e);
    let (_, meta) =
        safetensors::SafeTensors::read_metadata(bytes).map_err(|e| corrupt(e.to_string()))?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    let map = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
        .map_err(|e| corrupt(e.to_string()))?;
    let mut tensors: NamedTensors = map.into_iter().collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((tensors, metadata))
}

/// Writes tensors as safetensors with `metadata`, atomically.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: &HashMap<String, String>,
) -> Result<()> {
    let mut sorted: Vec<(&str, &Tensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let contiguous: Vec<(&str, Tensor)> = sorted
        .into_iter()
        .map(|(k, v)| Ok((k, v.contiguous()?)))
        .collect::<candle_core::Result<_>>()?;
    let meta = if metadata.is_empty() {
        None
    } else {
        Some(metadata.clone())
    };
    let bytes = safetensors::tensor::serialize(contiguous.iter().map(|(k, v)| (*k, v)), meta)
        .map_err(|e| Error::corrupt(path, e.to_string()))?;
    let bytes = canonical_header(bytes).map_err(|e| Error::corrupt(path, e))?;
    crate::assets::write_file(path, &bytes)
}

/// Rewrites the JSON header of serialised safetensors with its
/// `__metadata__` keys in sorted order.
///
/// The `safetensors` crate takes the metadata as a `HashMap` and writes it
/// in hash order, which changes from process to process; sorting makes the
/// file a pure function of the tensors and the metadata, so two runs of the
/// same seeded training write byte-identical weights. Only key order
/// changes, so the header keeps its length and every data offset stays.
fn canonical_header(mut bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    let n = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
        .ok_or("serialised safetensors shorter than its 8-byte header length")?;
    let header = bytes.get(8..8 + n).ok_or("header length beyond the end")?;
    let mut value: serde_json::Value =
        serde_json::from_slice(header).map_err(|e| format!("header does not parse: {e}"))?;
    if let Some(meta) = value
        .get_mut("__metadata__")
        .and_then(serde_json::Value::as_object_mut)
    {
        let sorted: std::collections::BTreeMap<String, serde_json::Value> =
            std::mem::take(meta).into_iter().collect();
        meta.extend(sorted);
    }
    let mut text = serde_json::to_vec(&value).expect("a JSON value serialises");
    if text.len() > n {
        return Err(format!(
            "canonical header is {} bytes, longer than the original {n}",
            text.len()
        ));
    }
    // safetensors pads the header with spaces (to keep the data aligned).
    text.resize(n, b' ');
    bytes[8..8 + n].copy_from_slice(&text);
    Ok(bytes)
}

/// The names and shapes of the parameters an architecture creates, found by
/// building it once on a recording backend (sorted by name).
///
/// The backend hands out zero-size broadcast views instead of allocating
/// each parameter, and counts the elements asked for: an architecture whose
/// parameters would not fit in memory (a corrupted width in a file's
/// metadata, say) is refused with [`Error::TooLarge`] at the first tensor
/// that crosses the limit, before anything of its size is allocated.
pub fn expected_shapes<F>(build: F) -> Result<Vec<(String, Vec<usize>)>>
where
    F: FnOnce(candle_nn::VarBuilder) -> candle_core::Result<()>,
{
    let recorder = ShapeRecorder {
        limit_elements: crate::memory::limit_bytes() / 4,
        state: std::sync::Mutex::new(Recorded::default()),
    };
    let built = {
        let backend: Box<dyn candle_nn::var_builder::SimpleBackend + '_> = Box::new(&recorder);
        build(candle_nn::VarBuilder::from_backend(
            backend,
            DType::F32,
            Device::Cpu,
        ))
    };
    let state = recorder.state.into_inner().expect("recorder lock");
    if let Some(needed) = state.too_large {
        return Err(Error::TooLarge {
            what: "the architecture's parameters".into(),
            needed_bytes: needed.saturating_mul(4),
            limit_bytes: crate::memory::limit_bytes(),
            hint: "check the architecture's widths (a corrupted or mistyped file?)".into(),
        });
    }
    built?;
    let mut out: Vec<(String, Vec<usize>)> = state.shapes.into_iter().collect();
    out.sort();
    Ok(out)
}

/// What [`ShapeRecorder`] saw.
#[derive(Default)]
struct Recorded {
    shapes: HashMap<String, Vec<usize>>,
    elements: u64,
    too_large: Option<u64>,
}

/// A variable-builder backend that records parameter shapes without
/// allocating them.
struct ShapeRecorder {
    limit_elements: u64,
    state: std::sync::Mutex<Recorded>,
}

impl candle_nn::var_builder::SimpleBackend for &ShapeRecorder {
    fn get(
        &self,
        s: candle_core::Shape,
        name: &str,
        _h: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let mut st = self.state.lock().expect("recorder lock");
        if !st.shapes.contains_key(name) {
            let n = s
                .dims()
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
                .unwrap_or(u64::MAX);
            st.elements = st.elements.saturating_add(n);
            if st.elements > self.limit_elements {
                st.too_large = Some(st.elements);
                return Err(candle_core::Error::Msg(format!(
                    "parameter `{name}` of shape {s:?} exceeds the memory limit"
                )));
            }
            st.shapes.insert(name.to_string(), s.dims().to_vec());
        }
        Tensor::zeros((), dtype, dev)?.broadcast_as(s)
    }

    fn get_unchecked(
        &self,
        name: &str,
        _dtype: DType,
        _dev: &Device,
    ) -> candle_core::Result<Tensor> {
        Err(candle_core::Error::Msg(format!(
            "parameter `{name}` requested without a shape"
        )))
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.state
            .lock()
            .expect("recorder lock")
            .shapes
            .contains_key(name)
    }
}

/// Checks `tensors` against `expected` (every needed tensor present with the
/// right shape; extra tensors are ignored) and returns the needed ones as
/// f32.
pub fn check_against(
    expected: &[(String, Vec<usize>)],
    tensors: NamedTensors,
) -> Result<HashMap<String, Tensor>> {
    let mut have: HashMap<String, Tensor> = tensors.into_iter().collect();
    let mut out = HashMap::new();
    for (name, shape) in expected {
        let t = have.remove(name).ok_or_else(|| Error::MissingTensor {
            tensor: name.clone(),
            expected: shape.clone(),
        })?;
        if t.dims() != shape.as_slice() {
            return Err(Error::ShapeMismatch {
                tensor: name.clone(),
                expected: shape.clone(),
                found: t.dims().to_vec(),
            });
        }
        let t = t.to_dtype(DType::F32)?;
        let v: Vec<f32> = t.flatten_all()?.to_vec1()?;
        crate::error::check_finite(&format!("weight tensor `{name}`"), &v)?;
        out.insert(name.clone(), t);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safetensors_round_trip_keeps_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.safetensors");
        let t = Tensor::arange(0f32, 6.0, &Device::Cpu)
            .unwrap()
            .reshape((2, 3))
            .unwrap();
        let meta = HashMap::from([("k".to_string(), "v".to_string())]);
        write_safetensors(&p, &[("a".into(), t.clone())], &meta).unwrap();
        let (back, m) = read_any(&p).unwrap();
        assert_eq!(m, meta);
        assert_eq!(back[0].0, "a");
        assert_eq!(
            back[0].1.to_vec2::<f32>().unwrap(),
            t.to_vec2::<f32>().unwrap()
        );
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 3]).unwrap();
        let e = read_any(&p).unwrap_err();
        assert!(
            matches!(e, Error::Corrupt { .. }) && e.is_user_error(),
            "{e}"
        );
    }

    #[test]
    fn safetensors_bytes_do_not_depend_on_hash_order() {
        // Each HashMap has its own random hash order: with 20 keys, two maps
        // iterate differently almost surely, so unsorted output would differ.
        let dir = tempfile::tempdir().unwrap();
        let t = Tensor::arange(0f32, 4.0, &Device::Cpu).unwrap();
        let entries: Vec<(String, String)> = (0..20)
            .map(|i| (format!("key{i:02}"), format!("value {i}")))
            .collect();
        let mut files = Vec::new();
        for (n, order) in [entries.clone(), entries.iter().rev().cloned().collect()]
            .into_iter()
            .enumerate()
        {
            let meta: HashMap<String, String> = order.into_iter().collect();
            let p = dir.path().join(format!("w{n}.safetensors"));
            write_safetensors(
                &p,
                &[("b".into(), t.clone()), ("a".into(), t.clone())],
                &meta,
            )
            .unwrap();
            let (_, back) = read_any(&p).unwrap();
            assert_eq!(back, meta);
            files.push(std::fs::read(&p).unwrap());
        }
        assert_eq!(files[0], files[1]);
        let text = String::from_utf8_lossy(&files[0]);
        let positions: Vec<usize> = entries
            .iter()
            .map(|(k, _)| text.find(&format!("\"{k}\"")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    }

    #[test]
    fn check_against_names_tensor_and_shapes() {
        let t = Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap();
        let exp = vec![("w".to_string(), vec![3, 2])];
        let e = check_against(&exp, vec![("w".into(), t.clone())]).unwrap_err();
        assert!(
            matches!(&e, Error::ShapeMismatch { tensor, expected, found } if tensor == "w" && expected == &[3, 2] && found == &[2, 3])
        );
        let e = check_against(&exp, vec![("v".into(), t)]).unwrap_err();
        assert!(matches!(e, Error::MissingTensor { .. }));
    }
}
