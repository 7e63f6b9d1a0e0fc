//! Element order in the file: the array index of a stored value, and the
//! transposition of Fortran-ordered data into C order.

use crate::lattice::MAX_DIM;

/// The array index of the `k`-th value stored in the file.
pub(super) fn file_coords(mut k: usize, shape: &[usize], fortran_order: bool) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    let axes: Vec<usize> = if fortran_order {
        (0..shape.len()).collect()
    } else {
        (0..shape.len()).rev().collect()
    };
    for axis in axes {
        index[axis] = k % shape[axis];
        k /= shape[axis];
    }
    index
}

/// Transposes Fortran-ordered 0/1 bytes into a C-ordered grid.
pub(super) fn fortran_to_c(data: &[u8], shape: &[usize]) -> Vec<bool> {
    let d = shape.len();
    let mut c_strides = vec![1usize; d];
    for axis in (0..d - 1).rev() {
        c_strides[axis] = c_strides[axis + 1] * shape[axis + 1];
    }
    let mut out = vec![false; data.len()];
    let mut coords = [0usize; MAX_DIM];
    let mut c = 0usize;
    for &b in data {
        out[c] = b == 1;
        // Advance the Fortran-order counter: axis 0 varies fastest.
        for axis in 0..d {
            coords[axis] += 1;
            c += c_strides[axis];
            if coords[axis] < shape[axis] {
                break;
            }
            c -= coords[axis] * c_strides[axis];
            coords[axis] = 0;
        }
    }
    out
}
