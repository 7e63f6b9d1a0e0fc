//! Reading a user's occupancy grid from a NumPy `.npy` file.
//!
//! Accepted: `.npy` format versions 1–3 holding a `bool` (`|b1`) or `uint8`
//! (`|u1`) array with 1 to 16 axes, in C or Fortran order, whose values are
//! all 0 or 1 (1 = occupied). Fortran-ordered data are transposed to C order.
//!
//! The header is parsed here rather than with `ndarray-npy` because the user
//! must be told exactly what is wrong and what was expected: `ndarray-npy`
//! reads one element type per call (a `bool` read refuses `|u1` and vice
//! versa), reports a wrong dtype as a bare descriptor mismatch, has no way to
//! say *where* a `uint8` value other than 0/1 sits, and would build an
//! `ArrayD` that then has to be copied into the C-order `Vec<bool>` the
//! labeller takes. This reader checks the file length against the header
//! before reading the data, so a wrong or truncated file is refused without
//! allocating for it, and it converts in one pass. The format is documented
//! in NumPy's `numpy.lib.format`; tests check it against files written by
//! `ndarray-npy`.

mod dtype;
mod order;

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::lattice::MAX_DIM;
use crate::memory::ensure_fits;
use crate::unionfind::MAX_ELEMENTS;

use crate::npy::{parse_header, MAGIC};
use dtype::Dtype;
use order::{file_coords, fortran_to_c};

/// An occupancy grid: its shape and its sites in C order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    /// Sides of the grid, one per axis.
    pub shape: Vec<usize>,
    /// `true` for an occupied site, C order (last axis fastest).
    pub occupied: Vec<bool>,
}

/// What every error message tells the user to provide.
const EXPECTED: &str = "expected a .npy file (numpy.save) holding a bool or uint8 array of 0s and 1s with 1 to 16 axes";

/// Reads the grid stored in the `.npy` file at `path`.
///
/// Errors: [`Error::Io`] when the file cannot be opened or read,
/// [`Error::InvalidFile`] (naming the file, the problem and what was expected)
/// when it is not a `.npy` file, has an unsupported dtype or shape, holds
/// values other than 0/1, or is truncated, and [`Error::TooLarge`] when the
/// grid would not fit in memory.
pub fn read_grid(path: &Path) -> Result<Grid> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    read_grid_from(std::io::BufReader::new(file), file_len, path)
}

/// Reads a grid from `reader`, which holds `file_len` bytes of `.npy` data;
/// `path` is only used in messages.
pub fn read_grid_from(mut reader: impl Read, file_len: u64, path: &Path) -> Result<Grid> {
    let bad = |reason: String| Error::InvalidFile {
        path: path.to_path_buf(),
        reason,
    };
    let io = |e: std::io::Error| Error::io(path, e);

    // Preamble: magic, version, header length.
    let mut preamble = [0u8; 12];
    let got = read_up_to(&mut reader, &mut preamble).map_err(io)?;
    if got == 0 {
        return Err(bad(format!("the file is empty; {EXPECTED}")));
    }
    if !preamble[..got].starts_with(MAGIC) && !MAGIC.starts_with(&preamble[..got]) {
        let what = if preamble.starts_with(b"PK\x03\x04") {
            "it is a zip archive (.npz?); save a single array with numpy.save"
        } else {
            "it does not start with the NumPy magic string"
        };
        return Err(bad(format!("not a .npy file: {what}; {EXPECTED}")));
    }
    let (major, len_bytes) = match preamble.get(6).copied() {
        Some(1) => (1, 2),
        Some(v @ (2 | 3)) => (v, 4),
        Some(v) if got > 7 => {
            return Err(bad(format!(
                "unsupported .npy format version {v}; {EXPECTED}"
            )))
        }
        _ => (0, 0),
    };
    let preamble_len = 8 + len_bytes;
    if major == 0 || got < preamble_len {
        return Err(bad(format!(
            "truncated: the file ends inside the .npy preamble ({got} bytes); {EXPECTED}"
        )));
    }
    let header_len = if len_bytes == 2 {
        u16::from_le_bytes([preamble[8], preamble[9]]) as usize
    } else {
        u32::from_le_bytes([preamble[8], preamble[9], preamble[10], preamble[11]]) as usize
    };
    let data_start = (preamble_len + header_len) as u64;
    if data_start > file_len {
        return Err(bad(format!(
            "truncated: the header says {header_len} header bytes but the file has {file_len} bytes in all; {EXPECTED}"
        )));
    }
    let mut header = preamble[preamble_len..got].to_vec();
    let already = header.len().min(header_len);
    header.truncate(already);
    header.resize(header_len, 0);
    reader.read_exact(&mut header[already..]).map_err(io)?;
    // With version 1 the 12 preamble bytes already include two header bytes.
    let carried = preamble[preamble_len..got]
        .get(header_len..)
        .unwrap_or(&[])
        .to_vec();
    let header = std::str::from_utf8(&header)
        .map_err(|_| bad(format!("the .npy header is not text; {EXPECTED}")))?;
    let header = parse_header(header)
        .map_err(|why| bad(format!("malformed .npy header: {why}; {EXPECTED}")))?;

    let dtype =
        Dtype::from_descr(&header.descr).map_err(|why| bad(format!("{why}; {EXPECTED}")))?;
    let shape = header.shape;
    let d = shape.len();
    if d == 0 || d > MAX_DIM {
        return Err(bad(format!(
            "the array has {d} axes (shape {shape:?}); {EXPECTED}"
        )));
    }
    if let Some(axis) = shape.iter().position(|&s| s == 0) {
        return Err(bad(format!(
            "the array is empty: axis {axis} of shape {shape:?} has length 0; {EXPECTED}"
        )));
    }
    let n = shape
        .iter()
        .try_fold(1usize, |acc, &s| acc.checked_mul(s))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| {
            bad(format!(
                "shape {shape:?} has more than {MAX_ELEMENTS} sites, the most ismc can label; use a smaller grid"
            ))
        })?;
    let expected_len = data_start + n as u64;
    if file_len != expected_len {
        let (rel, by) = if file_len < expected_len {
            ("truncated", expected_len - file_len)
        } else {
            ("too long", file_len - expected_len)
        };
        return Err(bad(format!(
            "{rel}: shape {shape:?} of {} needs {n} data bytes after the {data_start}-byte header, so {expected_len} bytes in all, but the file has {file_len} ({by} bytes {}); {EXPECTED}",
            dtype.name(),
            if file_len < expected_len { "missing" } else { "extra" },
        )));
    }
    ensure_fits(
        format!("reading the {} grid {}", fmt_shape(&shape), path.display()),
        2 * n as u64,
        "use a smaller grid",
    )?;

    let mut data = carried;
    data.reserve_exact(n - data.len().min(n));
    let already = data.len();
    data.resize(n, 0);
    reader.read_exact(&mut data[already..]).map_err(io)?;

    if let Some(k) = data.iter().position(|&b| b > 1) {
        let others = data[k + 1..].iter().filter(|&&b| b > 1).count();
        let index = file_coords(k, &shape, header.fortran_order);
        return Err(bad(format!(
            "{} value {} at index {}{}; {EXPECTED}",
            dtype.name(),
            data[k],
            fmt_index(&index),
            if others > 0 {
                format!(" (and {others} more values other than 0 and 1)")
            } else {
                String::new()
            },
        )));
    }
    let occupied = if header.fortran_order && d > 1 {
        fortran_to_c(&data, &shape)
    } else {
        data.iter().map(|&b| b == 1).collect()
    };
    Ok(Grid { shape, occupied })
}

/// Reads into `buf` until it is full or the reader is exhausted.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn fmt_shape(shape: &[usize]) -> String {
    shape
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" × ")
}

fn fmt_index(index: &[usize]) -> String {
    format!(
        "[{}]",
        index
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn, ShapeBuilder};
    use ndarray_npy::WriteNpyExt;

    fn npy_of<T: ndarray_npy::WritableElement>(array: &ArrayD<T>) -> Vec<u8> {
        let mut bytes = Vec::new();
        array.write_npy(&mut bytes).unwrap();
        bytes
    }

    fn read(bytes: &[u8]) -> Result<Grid> {
        read_grid_from(bytes, bytes.len() as u64, Path::new("grid.npy"))
    }

    fn reason(bytes: &[u8]) -> String {
        let err = read(bytes).unwrap_err();
        assert!(matches!(err, Error::InvalidFile { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.starts_with("grid.npy: "), "{msg}");
        assert!(msg.contains(EXPECTED), "{msg}");
        msg
    }

    /// A hand-made `.npy` file with the given header dict and data.
    fn handmade(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut header = dict.as_bytes().to_vec();
        let pad = (64 - (10 + header.len() + 1) % 64) % 64;
        header.extend(std::iter::repeat_n(b' ', pad));
        header.push(b'\n');
        let mut bytes = MAGIC.to_vec();
        bytes.extend([1, 0]);
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header);
        bytes.extend(data);
        bytes
    }

    #[test]
    fn reads_bool_and_uint8_in_c_and_fortran_order() {
        let values: Vec<u8> = (0..24)
            .map(|i| u8::from(i % 3 == 0 || i % 7 == 1))
            .collect();
        let c = ArrayD::from_shape_vec(IxDyn(&[2, 3, 4]), values.clone()).unwrap();
        let expected = Grid {
            shape: vec![2, 3, 4],
            occupied: values.iter().map(|&v| v == 1).collect(),
        };
        assert_eq!(read(&npy_of(&c)).unwrap(), expected);
        assert_eq!(read(&npy_of(&c.mapv(|v| v == 1))).unwrap(), expected);
        let mut f = ArrayD::zeros(IxDyn(&[2, 3, 4]).f());
        f.assign(&c);
        let bytes = npy_of(&f);
        assert!(String::from_utf8_lossy(&bytes).contains("'fortran_order': True"));
        assert_eq!(read(&bytes).unwrap(), expected);
    }

    #[test]
    fn reads_one_dimensional_and_versions_2_and_3() {
        let one =
            ArrayD::from_shape_vec(IxDyn(&[5]), vec![true, false, true, true, false]).unwrap();
        assert_eq!(
            read(&npy_of(&one)).unwrap().occupied,
            one.as_slice().unwrap()
        );
        for version in [2u8, 3] {
            let dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }\n";
            let mut bytes = MAGIC.to_vec();
            bytes.extend([version, 0]);
            bytes.extend((dict.len() as u32).to_le_bytes());
            bytes.extend(dict.as_bytes());
            bytes.extend([1, 0, 0, 1]);
            assert_eq!(
                read(&bytes).unwrap().occupied,
                vec![true, false, false, true]
            );
        }
    }

    #[test]
    fn refuses_values_other_than_zero_and_one() {
        let msg = reason(&handmade(
            "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }",
            &[0, 1, 0, 0, 2, 7],
        ));
        assert!(
            msg.contains("uint8 value 2 at index [1, 1] (and 1 more"),
            "{msg}"
        );
        let msg = reason(&handmade(
            "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }",
            &[0, 1, 0, 0, 2, 1],
        ));
        assert!(msg.contains("value 2 at index [0, 2];"), "{msg}");
    }

    #[test]
    fn refuses_other_dtypes() {
        let float = ArrayD::from_shape_vec(IxDyn(&[2]), vec![0.0f64, 1.0]).unwrap();
        let msg = reason(&npy_of(&float));
        assert!(msg.contains("dtype '<f8' (floating-point)"), "{msg}");
        let int = ArrayD::from_shape_vec(IxDyn(&[2]), vec![0i32, 1]).unwrap();
        assert!(reason(&npy_of(&int)).contains("'<i4' (signed integer)"));
        let msg = reason(&handmade(
            "{'descr': [('a', '|u1')], 'fortran_order': False, 'shape': (1,), }",
            &[0],
        ));
        assert!(msg.contains("structured dtype"), "{msg}");
    }

    #[test]
    fn refuses_malformed_files() {
        assert!(reason(b"").contains("empty"));
        assert!(reason(b"hello, world").contains("NumPy magic"));
        assert!(reason(b"PK\x03\x04rest of a zip").contains(".npz"));
        assert!(reason(b"\x93NUM").contains("preamble"));
        let good = handmade(
            "{'descr': '|b1', 'fortran_order': False, 'shape': (2, 2), }",
            &[1, 0, 0, 1],
        );
        assert!(reason(&good[..good.len() - 1])
            .contains("truncated: shape [2, 2] of bool needs 4 data bytes"));
        assert!(reason(&[&good[..], &[0]].concat()).contains("too long"));
        assert!(reason(&good[..20]).contains("truncated"));
        let msg = reason(&handmade(
            "{'descr': '|b1', 'fortran_order': False, 'shape': (2, 2), ",
            &[1, 0, 0, 1],
        ));
        assert!(msg.contains("malformed .npy header"), "{msg}");
        assert!(
            reason(&handmade("{'descr': '|b1', 'shape': (2,), }", &[1, 0]))
                .contains("no 'fortran_order'")
        );
        assert!(reason(&handmade(
            "{'descr': '|b1', 'fortran_order': False, 'shape': (), }",
            &[1]
        ))
        .contains("0 axes"));
        assert!(reason(&handmade(
            "{'descr': '|b1', 'fortran_order': False, 'shape': (3, 0), }",
            &[]
        ))
        .contains("empty"));
        let mut v9 = good.clone();
        v9[6] = 9;
        assert!(reason(&v9).contains("version 9"));
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let err = read_grid(Path::new("/nonexistent/grid.npy")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert!(err.to_string().contains("/nonexistent/grid.npy"));
    }
}
