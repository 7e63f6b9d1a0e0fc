//! The IDX format of LeCun's MNIST files (and Fashion-MNIST), optionally
//! gzip-compressed: a big-endian header `0x00 0x00 type ndim`, `ndim` u32
//! dimensions, then the raw row-major values. Only unsigned bytes (type 0x08)
//! are used here.

use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Error, Result};

const TYPE_U8: u8 = 0x08;

/// An IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxU8 {
    /// Dimensions, outermost first (e.g. `[10000, 28, 28]`).
    pub dims: Vec<usize>,
    /// `dims.iter().product()` values, row-major.
    pub values: Vec<u8>,
}

impl IdxU8 {
    /// Parses IDX bytes (not compressed); `path` names the source in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self> {
        if bytes.len() < 4 {
            return Err(Error::DataLength {
                path: path.into(),
                unit: "header bytes",
                expected: 4,
                found: bytes.len(),
            });
        }
        if bytes[0] != 0 || bytes[1] != 0 || bytes[2] != TYPE_U8 {
            return Err(Error::corrupt(
                path,
                format!("not an IDX u8 file (magic {:02x?})", &bytes[..4]),
            ));
        }
        let ndim = bytes[3] as usize;
        let header = 4 + 4 * ndim;
        if bytes.len() < header {
            return Err(Error::DataLength {
                path: path.into(),
                unit: "header bytes",
                expected: header,
                found: bytes.len(),
            });
        }
        let dims: Vec<usize> = (0..ndim)
            .map(|i| {
                u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes"))
                    as usize
            })
            .collect();
        let count: usize = dims.iter().product();
        let body = &bytes[header..];
        if body.len() != count {
            return Err(Error::DataLength {
                path: path.into(),
                unit: "data bytes",
                expected: count,
                found: body.len(),
            });
        }
        Ok(IdxU8 {
            dims,
            values: body.to_vec(),
        })
    }

    /// Reads an IDX file, gunzipping it when its name ends in `.gz`.
    pub fn read(path: &Path) -> Result<Self> {
        let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bytes = if path.extension().is_some_and(|e| e == "gz") {
            gunzip(&raw, path)?
        } else {
            raw
        };
        Self::parse(&bytes, path)
    }

    /// Serialises to IDX bytes (not compressed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 4 * self.dims.len() + self.values.len());
        out.extend_from_slice(&[0, 0, TYPE_U8, self.dims.len() as u8]);
        for &d in &self.dims {
            out.extend_from_slice(&(d as u32).to_be_bytes());
        }
        out.extend_from_slice(&self.values);
        out
    }
}

/// Decompresses gzip bytes; `path` names the source in errors.
pub fn gunzip(raw: &[u8], path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(raw)
        .read_to_end(&mut out)
        .map_err(|e| Error::corrupt(path, format!("gzip: {e}")))?;
    Ok(out)
}

/// Compresses bytes with gzip at the best level. The output is deterministic
/// for a given flate2 version (no file name or time stamp in the header).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_length_checks() {
        let a = IdxU8 {
            dims: vec![2, 3],
            values: vec![1, 2, 3, 4, 5, 6],
        };
        let p = Path::new("x.idx");
        let bytes = a.to_bytes();
        assert_eq!(IdxU8::parse(&bytes, p).unwrap(), a);
        let gz = gzip(&bytes);
        assert_eq!(gunzip(&gz, p).unwrap(), bytes);
        let e = IdxU8::parse(&bytes[..bytes.len() - 1], p).unwrap_err();
        assert!(
            matches!(
                e,
                Error::DataLength {
                    expected: 6,
                    found: 5,
                    ..
                }
            ),
            "{e}"
        );
        assert!(IdxU8::parse(&[1, 2, 3, 4], p).is_err());
        assert!(gunzip(&gz[..gz.len() / 2], p).is_err());
    }
}
