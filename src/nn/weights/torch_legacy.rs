//! PyTorch's legacy (pre-1.6, non-zip) checkpoint format, read natively.
//!
//! `torch.save` before 1.6 wrote a sequence of pickles followed by raw data:
//!
//! 1. the magic number `0x1950a86a20f9469cfc6c` (a pickled long),
//! 2. the protocol version `1001`,
//! 3. a dict of system information (`little_endian`, type sizes),
//! 4. the object itself — for a state dict, an `OrderedDict` mapping names
//!    to `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)`
//!    where `storage` is the persistent id
//!    `('storage', torch.FloatStorage, key, location, numel, view_metadata)`,
//! 5. the list of storage keys in the order their data follows,
//! 6. for each key: the element count as a little-endian u64, then the raw
//!    little-endian elements.
//!
//! Reference: `torch/serialization.py` (`_legacy_save`, `_legacy_load`) of
//! PyTorch 1.4.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use super::pickle::{self, Value};
use crate::error::{Error, Result};

/// The pickled magic number that opens every legacy checkpoint (protocol 2).
pub const MAGIC: [u8; 15] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
];

/// Whether `bytes` start like a legacy checkpoint.
pub fn is_legacy(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

struct TensorRef {
    name: String,
    key: String,
    dtype: DType,
    offset: usize,
    size: Vec<usize>,
    stride: Vec<usize>,
}

/// Reads every tensor of a legacy state dict, in file order. `path` names
/// the source in errors.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Vec<(String, Tensor)>> {
    let corrupt = |r: String| Error::corrupt(path, r);
    let perr = |e: pickle::PickleError| Error::corrupt(path, e.to_string());
    if !is_legacy(bytes) {
        return Err(corrupt(
            "not a legacy PyTorch checkpoint (magic number missing)".into(),
        ));
    }
    let mut pos = MAGIC.len();
    let proto = pickle::load(bytes, &mut pos).map_err(perr)?;
    if proto.as_int() != Some(1001) {
        return Err(corrupt(format!("unsupported protocol version {proto:?}")));
    }
    let sys = pickle::load(bytes, &mut pos).map_err(perr)?;
    if let Value::Dict(items) = &sys {
        for (k, v) in items {
            if k.as_str() == Some("little_endian") && *v != Value::Bool(true) {
                return Err(corrupt("big-endian checkpoints are not supported".into()));
            }
        }
    } else {
        return Err(corrupt("system-information record is not a dict".into()));
    }
    let root = pickle::load(bytes, &mut pos).map_err(perr)?;
    let keys = pickle::load(bytes, &mut pos).map_err(perr)?;
    let keys: Vec<String> = keys
        .as_seq()
        .ok_or_else(|| corrupt("storage key list is not a list".into()))?
        .iter()
        .map(|k| {
            k.as_str()
                .map(str::to_string)
                .ok_or_else(|| corrupt("storage key is not a string".into()))
        })
        .collect::<Result<_>>()?;

    let refs = tensor_refs(root, path)?;
    let mut key_dtype: HashMap<&str, DType> = HashMap::new();
    for r in &refs {
        key_dtype.insert(&r.key, r.dtype);
    }
    // Raw storages follow, in key order.
    let mut storages: HashMap<String, (DType, &[u8])> = HashMap::new();
    for key in &keys {
        let dtype = *key_dtype
            .get(key.as_str())
            .ok_or_else(|| corrupt(format!("storage {key} is not used by any tensor")))?;
        if bytes.len() - pos < 8 {
            return Err(corrupt(format!("truncated before storage {key}")));
        }
        let numel = u64::from_le_bytes(bytes[pos..pos + 8].try_into().expect("8 bytes")) as usize;
        pos += 8;
        let nbytes = numel
            .checked_mul(dtype.size_in_bytes())
            .ok_or_else(|| corrupt(format!("storage {key} size overflows")))?;
        if bytes.len() - pos < nbytes {
            return Err(corrupt(format!(
                "truncated: storage {key} needs {nbytes} bytes, {} left",
                bytes.len() - pos
            )));
        }
        storages.insert(key.clone(), (dtype, &bytes[pos..pos + nbytes]));
        pos += nbytes;
    }
    if pos != bytes.len() {
        return Err(corrupt(format!(
            "{} unexpected trailing bytes",
            bytes.len() - pos
        )));
    }
    refs.into_iter()
        .map(|r| {
            let (_, data) = storages.get(&r.key).ok_or_else(|| {
                corrupt(format!(
                    "tensor {} refers to missing storage {}",
                    r.name, r.key
                ))
            })?;
            let t = strided_tensor(data, &r).map_err(corrupt)?;
            Ok((r.name, t))
        })
        .collect()
}

/// Reads a legacy checkpoint file.
pub fn read(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(&bytes, path)
}

fn tensor_refs(root: Value, path: &Path) -> Result<Vec<TensorRef>> {
    let corrupt = |r: String| Error::corrupt(path, r);
    // An OrderedDict arrives as Reduce(OrderedDict, ()) + SETITEMS, possibly
    // wrapped in a Build that attaches `_metadata`.
    let mut root = root;
    if let Value::Build { obj, .. } = root {
        root = *obj;
    }
    let items = match root {
        Value::Dict(items) => items,
        other => {
            return Err(corrupt(format!(
                "expected a state dict, found {}",
                describe(&other)
            )))
        }
    };
    let mut out = Vec::new();
    for (k, v) in items {
        let name = match k {
            Value::Str(s) => s,
            _ => continue,
        };
        if let Some(r) =
            tensor_ref(name.clone(), v).map_err(|e| corrupt(format!("tensor {name}: {e}")))?
        {
            out.push(r);
        }
    }
    if out.is_empty() {
        return Err(corrupt("no tensors in the state dict".into()));
    }
    Ok(out)
}

fn describe(v: &Value) -> String {
    match v {
        Value::Reduce { callable, .. } | Value::Build { obj: callable, .. } => {
            match callable.as_ref() {
                Value::Global { module, name } => {
                    format!("an object of {module}.{name} (a whole pickled module?)")
                }
                Value::Reduce { .. } => describe(callable),
                _ => "an object".into(),
            }
        }
        Value::List(_) => "a list".into(),
        Value::Tuple(_) => "a tuple".into(),
        _ => format!("{v:?}"),
    }
}

fn tensor_ref(name: String, v: Value) -> Result<Option<TensorRef>, String> {
    let (callable, args) = match v {
        Value::Reduce { callable, args } => (*callable, *args),
        _ => return Ok(None),
    };
    // torch._utils._rebuild_parameter(data, requires_grad, hooks)
    let (callable, args) = if callable.is_global("torch._utils", "_rebuild_parameter") {
        match args {
            Value::Tuple(mut a) if !a.is_empty() => match a.swap_remove(0) {
                Value::Reduce { callable, args } => (*callable, *args),
                _ => return Err("parameter does not wrap a tensor".into()),
            },
            _ => return Err("bad _rebuild_parameter arguments".into()),
        }
    } else {
        (callable, args)
    };
    if !(callable.is_global("torch._utils", "_rebuild_tensor_v2")
        || callable.is_global("torch._utils", "_rebuild_tensor"))
    {
        return Ok(None);
    }
    let a = args.as_seq().ok_or("tensor arguments are not a tuple")?;
    if a.len() < 4 {
        return Err(format!(
            "tensor has {} arguments, expected at least 4",
            a.len()
        ));
    }
    let pid = match &a[0] {
        Value::PersId(p) => p.as_seq().ok_or("persistent id is not a tuple")?,
        _ => return Err("first argument is not a storage".into()),
    };
    if pid.len() < 5 || pid[0].as_str() != Some("storage") {
        return Err("persistent id is not a storage record".into());
    }
    let class = match &pid[1] {
        Value::Global { name, .. } => name.as_str(),
        _ => return Err("storage type is not a class".into()),
    };
    let dtype = match class {
        "FloatStorage" => DType::F32,
        "DoubleStorage" => DType::F64,
        "HalfStorage" => DType::F16,
        "BFloat16Storage" => DType::BF16,
        "LongStorage" => DType::I64,
        "ByteStorage" => DType::U8,
        other => return Err(format!("unsupported storage type {other}")),
    };
    let key = pid[2]
        .as_str()
        .ok_or("storage key is not a string")?
        .to_string();
    if pid.len() > 5 && pid[5] != Value::None {
        return Err("storage views (view_metadata) are not supported".into());
    }
    let int = |v: &Value| v.as_int().filter(|&x| x >= 0).map(|x| x as usize);
    let offset = int(&a[1]).ok_or("storage offset is not a non-negative integer")?;
    let dims = |v: &Value| -> Result<Vec<usize>, String> {
        v.as_seq()
            .ok_or("size/stride is not a tuple")?
            .iter()
            .map(|x| int(x).ok_or_else(|| "bad size/stride entry".to_string()))
            .collect()
    };
    let size = dims(&a[2])?;
    let stride = dims(&a[3])?;
    if size.len() != stride.len() {
        return Err("size and stride differ in length".into());
    }
    Ok(Some(TensorRef {
        name,
        key,
        dtype,
        offset,
        size,
        stride,
    }))
}

fn strided_tensor(storage: &[u8], r: &TensorRef) -> Result<Tensor, String> {
    let es = r.dtype.size_in_bytes();
    let numel_storage = storage.len() / es;
    let count: usize = r.size.iter().product();
    if count > 0 {
        let last = r.offset
            + r.size
                .iter()
                .zip(&r.stride)
                .map(|(&s, &st)| (s - 1) * st)
                .sum::<usize>();
        if last >= numel_storage {
            return Err(format!(
                "tensor {} reaches element {last} of a storage of {numel_storage}",
                r.name
            ));
        }
    }
    let mut out = Vec::with_capacity(count * es);
    let mut idx = vec![0usize; r.size.len()];
    for _ in 0..count {
        let off = r.offset
            + idx
                .iter()
                .zip(&r.stride)
                .map(|(&i, &s)| i * s)
                .sum::<usize>();
        out.extend_from_slice(&storage[off * es..(off + 1) * es]);
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < r.size[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Tensor::from_raw_buffer(&out, r.dtype, &r.size, &Device::Cpu).map_err(|e| e.to_string())
}
