//! The sweep order ahead of use: the next sites (with their coordinates) or
//! bonds of a random permutation, computed and prefetched a few steps before
//! the sweep reaches them.

use crate::lattice::{Coords, Lattice};
use crate::permutation::RandomPermutation;

/// How many steps ahead a sweep computes the sites (bonds) it will add and
/// prefetches the memory they touch.
const AHEAD: usize = 16;

/// The next [`AHEAD`] items of a sweep order (sites with their coordinates,
/// or bonds), each computed by `make`, which also prefetches the nodes it
/// will touch, AHEAD steps before it is used. The order is known in advance
/// (a [`RandomPermutation`]), so the cache misses of those random accesses
/// overlap with the work on the current item.
pub(super) struct Lookahead<T> {
    ring: [T; AHEAD],
    len: u64,
}

impl<T: Copy + Default> Lookahead<T> {
    /// Items `0..min(AHEAD, len)` of an order of `len` items.
    pub(super) fn new(len: u64, mut make: impl FnMut(u64) -> T) -> Self {
        let mut ring = [T::default(); AHEAD];
        for (k, slot) in ring
            .iter_mut()
            .enumerate()
            .take(len.min(AHEAD as u64) as usize)
        {
            *slot = make(k as u64);
        }
        Lookahead { ring, len }
    }

    /// Item `k` (taken in order 0, 1, …), replaced by item `k + AHEAD`.
    #[inline]
    pub(super) fn take(&mut self, k: u64, make: impl FnOnce(u64) -> T) -> T {
        let slot = &mut self.ring[k as usize % AHEAD];
        let item = *slot;
        if k + (AHEAD as u64) < self.len {
            *slot = make(k + AHEAD as u64);
        }
        item
    }
}

/// The `k`-th site of the sweep order with its coordinates; calls
/// `prefetch` on each of its neighbours.
#[inline]
pub(super) fn site_ahead(
    lattice: &Lattice,
    perm: &RandomPermutation,
    k: u64,
    prefetch: impl Fn(u32),
) -> (u32, Coords) {
    let w = perm.apply(k) as u32;
    let c = lattice.coords(w);
    for (axis, &x) in c.iter().enumerate().take(lattice.dim()) {
        for (v, _) in [lattice.forward(w, x, axis), lattice.backward(w, x, axis)]
            .into_iter()
            .flatten()
        {
            prefetch(v);
        }
    }
    (w, c)
}

/// Bond slot `b` (`site · dim + axis`) as `(u, v, axis)` with `v` the `+1`
/// neighbour of `u`; `None` for a slot across an open face.
#[inline]
pub(super) fn bond_slot(lattice: &Lattice, b: u64) -> Option<(u32, u32, usize)> {
    let dim = lattice.dim() as u64;
    let u = (b / dim) as u32;
    let axis = (b % dim) as usize;
    lattice
        .forward(u, lattice.coord(u, axis), axis)
        .map(|(v, _)| (u, v, axis))
}
