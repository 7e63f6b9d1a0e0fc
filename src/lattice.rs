//! Geometry of the hypercubic lattice Z^d cut to a finite box.
//!
//! A [`Lattice`] has `dim` axes with sides `L_0, …, L_{d−1}` (each ≥ 2) and
//! either periodic (a torus) or open boundaries. Sites are numbered in C
//! (row-major) order — the last axis varies fastest — so a site index is
//! `Σ x_i · stride_i` with `stride_{d−1} = 1`, matching the memory layout of a
//! NumPy array of shape `(L_0, …, L_{d−1})`.
//!
//! Every site "owns" its forward bond along each axis: bond `b = site·d + axis`
//! joins `site` to its `+1` neighbour on `axis`. With open boundaries the bonds
//! leaving the last layer do not exist ([`Lattice::bond_exists`]).
//!
//! Site indices are `u32`: a lattice holds at most `2^31 − 1 − 2·dim` sites, the
//! capacity of [`UnionFind`](crate::unionfind::UnionFind) minus its auxiliary
//! face nodes. Larger systems are refused with [`Error::TooLarge`].

use crate::error::{Error, Result};
use crate::unionfind::MAX_ELEMENTS;

/// The largest supported dimension.
pub const MAX_DIM: usize = 16;

/// Boundary conditions of a finite lattice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Boundary {
    /// Opposite faces are identified: a torus. Clusters can *wrap*.
    Periodic,
    /// No identification. Clusters can *span* from one face to the opposite.
    Open,
}

impl std::fmt::Display for Boundary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Boundary::Periodic => "periodic",
            Boundary::Open => "open",
        })
    }
}

/// A finite box of Z^d with its boundary conditions. Cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lattice {
    dim: usize,
    sides: [u32; MAX_DIM],
    strides: [u32; MAX_DIM],
    n_sites: u32,
    boundary: Boundary,
}

/// Coordinates of one site; only the first `dim` entries are meaningful.
pub type Coords = [u32; MAX_DIM];

impl Lattice {
    /// A lattice with the given per-axis sides. Errors if `sides` is empty or
    /// longer than [`MAX_DIM`], a side is below 2, or the site count exceeds
    /// the union-find capacity.
    pub fn new(sides: &[usize], boundary: Boundary) -> Result<Self> {
        let dim = sides.len();
        if dim == 0 || dim > MAX_DIM {
            return Err(Error::invalid(
                "dim",
                dim,
                format!("expected 1..={MAX_DIM}"),
            ));
        }
        if let Some((axis, &s)) = sides.iter().enumerate().find(|(_, &s)| s < 2) {
            return Err(Error::invalid(
                format!("side of axis {axis}"),
                s,
                "expected at least 2",
            ));
        }
        let capacity = (MAX_ELEMENTS - 2 * MAX_DIM) as u128;
        let n: u128 = sides.iter().map(|&s| s as u128).product();
        if n > capacity {
            return Err(Error::TooLarge {
                what: format!("a lattice of {n} sites"),
                needed_bytes: (n * 4).min(u64::MAX as u128) as u64,
                limit_bytes: (capacity * 4) as u64,
                hint: format!("ismc lattices hold at most {capacity} sites; use smaller sides"),
            });
        }
        let mut s = [1u32; MAX_DIM];
        let mut strides = [0u32; MAX_DIM];
        let mut acc = 1u32;
        for axis in (0..dim).rev() {
            s[axis] = sides[axis] as u32;
            strides[axis] = acc;
            acc *= sides[axis] as u32;
        }
        Ok(Lattice {
            dim,
            sides: s,
            strides,
            n_sites: acc,
            boundary,
        })
    }

    /// The hypercube `side^dim`.
    pub fn hypercube(dim: usize, side: usize, boundary: Boundary) -> Result<Self> {
        if dim == 0 || dim > MAX_DIM {
            return Err(Error::invalid(
                "dim",
                dim,
                format!("expected 1..={MAX_DIM}"),
            ));
        }
        Self::new(&vec![side; dim], boundary)
    }

    /// Number of axes.
    #[inline]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Side length along `axis`.
    #[inline]
    pub fn side(&self, axis: usize) -> u32 {
        self.sides[axis]
    }

    /// Side lengths of all axes.
    pub fn sides(&self) -> &[u32] {
        &self.sides[..self.dim]
    }

    /// Index distance between neighbours along `axis`.
    #[inline]
    pub fn stride(&self, axis: usize) -> u32 {
        self.strides[axis]
    }

    /// Number of sites.
    #[inline]
    pub fn n_sites(&self) -> u32 {
        self.n_sites
    }

    /// Boundary conditions.
    #[inline]
    pub fn boundary(&self) -> Boundary {
        self.boundary
    }

    /// Number of bond slots `dim · n_sites` (see [`bond_exists`](Self::bond_exists)).
    pub fn n_bond_slots(&self) -> u64 {
        self.dim as u64 * self.n_sites as u64
    }

    /// Number of existing bonds.
    pub fn n_bonds(&self) -> u64 {
        match self.boundary {
            Boundary::Periodic => self.n_bond_slots(),
            Boundary::Open => (0..self.dim)
                .map(|a| self.n_sites as u64 / self.sides[a] as u64 * (self.sides[a] as u64 - 1))
                .sum(),
        }
    }

    /// Writes the coordinates of `site` into `out` (first `dim` entries).
    #[inline]
    pub fn coords_into(&self, mut site: u32, out: &mut Coords) {
        debug_assert!(site < self.n_sites);
        for axis in (0..self.dim).rev() {
            let s = self.sides[axis];
            out[axis] = site % s;
            site /= s;
        }
    }

    /// The coordinates of `site`.
    pub fn coords(&self, site: u32) -> Coords {
        let mut c = [0; MAX_DIM];
        self.coords_into(site, &mut c);
        c
    }

    /// The coordinate of `site` along one axis.
    #[inline]
    pub fn coord(&self, site: u32, axis: usize) -> u32 {
        (site / self.strides[axis]) % self.sides[axis]
    }

    /// The site with the given coordinates (each below its side).
    pub fn index(&self, coords: &[u32]) -> u32 {
        debug_assert_eq!(coords.len(), self.dim);
        coords
            .iter()
            .zip(&self.strides[..self.dim])
            .map(|(&x, &s)| x * s)
            .sum()
    }

    /// The `+1` neighbour of `site` along `axis`, given its coordinate `x` on
    /// that axis; `None` across an open boundary. The flag is true when the
    /// step crosses the periodic seam.
    #[inline]
    pub fn forward(&self, site: u32, x: u32, axis: usize) -> Option<(u32, bool)> {
        let s = self.sides[axis];
        if x + 1 < s {
            Some((site + self.strides[axis], false))
        } else if self.boundary == Boundary::Periodic {
            Some((site + self.strides[axis] - s * self.strides[axis], true))
        } else {
            None
        }
    }

    /// The `−1` neighbour of `site` along `axis`, given its coordinate `x` on
    /// that axis; `None` across an open boundary. The flag is true when the
    /// step crosses the periodic seam.
    #[inline]
    pub fn backward(&self, site: u32, x: u32, axis: usize) -> Option<(u32, bool)> {
        if x > 0 {
            Some((site - self.strides[axis], false))
        } else if self.boundary == Boundary::Periodic {
            Some((site + (self.sides[axis] - 1) * self.strides[axis], true))
        } else {
            None
        }
    }

    /// Calls `f(axis, step, neighbour)` for each of the up-to-`2·dim`
    /// neighbours of `site`, where `step` is `+1` or `−1`. No allocation.
    #[inline]
    pub fn for_each_neighbor(&self, site: u32, mut f: impl FnMut(usize, i32, u32)) {
        let mut c = [0; MAX_DIM];
        self.coords_into(site, &mut c);
        for (axis, &x) in c.iter().enumerate().take(self.dim) {
            if let Some((nb, _)) = self.forward(site, x, axis) {
                f(axis, 1, nb);
            }
            if let Some((nb, _)) = self.backward(site, x, axis) {
                f(axis, -1, nb);
            }
        }
    }

    /// Whether bond slot `bond = site·dim + axis` exists (always with periodic
    /// boundaries; with open ones, not for sites on the last layer of `axis`).
    #[inline]
    pub fn bond_exists(&self, bond: u64) -> bool {
        let site = (bond / self.dim as u64) as u32;
        let axis = (bond % self.dim as u64) as usize;
        self.boundary == Boundary::Periodic || self.coord(site, axis) + 1 < self.sides[axis]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_order_indexing_round_trips() {
        let l = Lattice::new(&[3, 4, 5], Boundary::Open).unwrap();
        assert_eq!(l.n_sites(), 60);
        assert_eq!(l.stride(2), 1);
        assert_eq!(l.stride(0), 20);
        for site in 0..60 {
            let c = l.coords(site);
            assert_eq!(l.index(&c[..3]), site);
        }
        assert_eq!(l.coords(23)[..3], [1, 0, 3]);
    }

    #[test]
    fn neighbour_counts_match_boundaries() {
        let periodic = Lattice::hypercube(3, 4, Boundary::Periodic).unwrap();
        let open = Lattice::hypercube(3, 4, Boundary::Open).unwrap();
        let count = |l: &Lattice, s| {
            let mut n = 0;
            l.for_each_neighbor(s, |_, _, _| n += 1);
            n
        };
        assert!((0..64).all(|s| count(&periodic, s) == 6));
        assert_eq!(count(&open, 0), 3);
        assert_eq!(count(&open, l_index(&open, [1, 1, 1])), 6);
        // every bond is seen from both ends
        let total: usize = (0..64).map(|s| count(&open, s)).sum();
        assert_eq!(total as u64, 2 * open.n_bonds());
        assert_eq!(open.n_bonds(), 3 * 16 * 3);
        assert_eq!(
            (0..open.n_bond_slots())
                .filter(|&b| open.bond_exists(b))
                .count() as u64,
            open.n_bonds()
        );
    }

    fn l_index(l: &Lattice, c: [u32; 3]) -> u32 {
        l.index(&c)
    }

    #[test]
    fn periodic_steps_wrap_and_say_so() {
        let l = Lattice::new(&[3, 5], Boundary::Periodic).unwrap();
        let s = l.index(&[2, 4]);
        assert_eq!(l.forward(s, 4, 1), Some((l.index(&[2, 0]), true)));
        assert_eq!(l.forward(s, 2, 0), Some((l.index(&[0, 4]), true)));
        assert_eq!(
            l.backward(l.index(&[0, 0]), 0, 0),
            Some((l.index(&[2, 0]), true))
        );
        assert_eq!(l.backward(s, 4, 1), Some((l.index(&[2, 3]), false)));
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert!(matches!(
            Lattice::new(&[], Boundary::Open),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Lattice::new(&[4, 1], Boundary::Open),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Lattice::hypercube(17, 2, Boundary::Open),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Lattice::hypercube(4, 400, Boundary::Open),
            Err(Error::TooLarge { .. })
        ));
    }
}
