//! A union-find forest that also stores each element's displacement to its
//! parent, to detect clusters that *wrap* around a torus.
//!
//! On a periodic lattice every site has many lifts to Z^d. Keep, for each
//! element `x`, the vector `disp(x) = pos(x) − pos(parent(x))` in the unwrapped
//! lattice. When a bond of step `s·e_a` joins two sites `u`, `v` of one cluster,
//! the winding `w = disp*(u) + s·e_a − disp*(v)` (with `disp*` summed up to the
//! root) is the difference of two lifts of `v`: zero for an ordinary cycle, a
//! non-zero multiple of the side along every axis the cluster wraps around
//! (Newman & Ziff, PRE 64, 016706, §III.B; Machta et al. 1996).
//!
//! The `dim` components of a displacement are packed into one `u64` as lanes
//! of `lane_bits` bits each and added with SWAR arithmetic modulo
//! `2^lane_bits`. A lane needs `lane_bits ≥ ⌈log₂ L⌉ + 2` so that windings of
//! `±L`, `±2L` and `±3L` are all non-zero modulo `2^lane_bits`. The packed
//! displacement is stored in one or two 32-bit words beside the parent word, so
//! a node is 8 bytes (when `dim · lane_bits ≤ 32`) or 12 bytes.

use crate::lattice::MAX_DIM;

/// Root marker bit in the parent word; the low 31 bits then hold the size.
const ROOT: u32 = 1 << 31;
const LOW: u32 = ROOT - 1;

/// SWAR arithmetic on `dim` lanes of `lane_bits` bits packed in a `u64`.
#[derive(Debug, Clone, Copy)]
pub struct Lanes {
    lane_bits: u32,
    dim: usize,
    /// All used bits.
    used: u64,
    /// The top bit of every lane.
    high: u64,
    /// `+1` in lane `a` for each axis.
    unit: [u64; MAX_DIM],
    /// `−1` (all ones) in lane `a` for each axis.
    neg_unit: [u64; MAX_DIM],
}

impl Lanes {
    /// Lanes for `dim` axes whose sides are at most `max_side`, or `None` when
    /// they do not fit in 64 bits.
    pub fn for_lattice(dim: usize, max_side: u32) -> Option<Self> {
        let lane_bits = (32 - (max_side.max(2) - 1).leading_zeros()) + 2;
        if dim == 0 || dim > MAX_DIM || dim as u32 * lane_bits > 64 {
            return None;
        }
        let lane_mask = (1u64 << lane_bits) - 1;
        let mut unit = [0; MAX_DIM];
        let mut neg_unit = [0; MAX_DIM];
        let mut high = 0;
        for a in 0..dim {
            let shift = a as u32 * lane_bits;
            unit[a] = 1 << shift;
            neg_unit[a] = lane_mask << shift;
            high |= 1 << (shift + lane_bits - 1);
        }
        let total = dim as u32 * lane_bits;
        let used = if total == 64 {
            u64::MAX
        } else {
            (1 << total) - 1
        };
        Some(Lanes {
            lane_bits,
            dim,
            used,
            high,
            unit,
            neg_unit,
        })
    }

    /// Bits per lane.
    pub fn lane_bits(&self) -> u32 {
        self.lane_bits
    }

    /// 32-bit words needed to store a packed vector.
    pub fn words(&self) -> usize {
        if self.used >> 32 == 0 {
            1
        } else {
            2
        }
    }

    /// Lane-wise `a + b` modulo `2^lane_bits`.
    #[inline]
    pub fn add(&self, a: u64, b: u64) -> u64 {
        (((a & !self.high) + (b & !self.high)) ^ ((a ^ b) & self.high)) & self.used
    }

    /// Lane-wise `a − b` modulo `2^lane_bits`.
    #[inline]
    pub fn sub(&self, a: u64, b: u64) -> u64 {
        (((a | self.high) - (b & !self.high)) ^ ((a ^ !b) & self.high)) & self.used
    }

    /// The packed vector `step · e_axis` (`step` = ±1).
    #[inline]
    pub fn step(&self, axis: usize, step: i32) -> u64 {
        if step > 0 {
            self.unit[axis]
        } else {
            self.neg_unit[axis]
        }
    }

    /// Bit `a` set for every axis `a` whose lane is non-zero.
    #[inline]
    pub fn nonzero_axes(&self, x: u64) -> u32 {
        let low_ones = self.used & !self.high;
        let tops = (((x & low_ones) + low_ones) | x) & self.high;
        let mut mask = 0;
        for a in 0..self.dim {
            if tops >> (a as u32 * self.lane_bits + self.lane_bits - 1) & 1 == 1 {
                mask |= 1 << a;
            }
        }
        mask
    }

    /// Packs a signed vector (for tests and diagnostics).
    pub fn pack(&self, v: &[i64]) -> u64 {
        let lane_mask = (1u64 << self.lane_bits) - 1;
        v.iter().enumerate().fold(0, |acc, (a, &x)| {
            acc | (((x as u64) & lane_mask) << (a as u32 * self.lane_bits))
        })
    }

    /// Unpacks lane `axis` as a signed integer (for tests and diagnostics).
    pub fn lane(&self, x: u64, axis: usize) -> i64 {
        let raw = (x >> (axis as u32 * self.lane_bits)) & ((1u64 << self.lane_bits) - 1);
        let sign = 1u64 << (self.lane_bits - 1);
        raw as i64
            - if raw & sign != 0 {
                1i64 << self.lane_bits
            } else {
                0
            }
    }
}

/// What happened when a bond between two occupied elements was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Two clusters of the given sizes merged.
    Merged {
        /// Size of the first cluster before merging.
        size_a: u32,
        /// Size of the second cluster before merging.
        size_b: u32,
    },
    /// Both ends were already in one cluster; bit `a` of `wrapped_axes` is set
    /// when the new cycle winds around axis `a`.
    Cycle {
        /// Axes around which the closed cycle winds.
        wrapped_axes: u32,
    },
}

/// Node storage: a parent word and one or two displacement words
/// (`[u32; 2]` or `[u32; 3]`).
pub trait Node: Copy + Send + Sync + 'static {
    /// An empty root.
    const EMPTY: Self;
    /// Parent word.
    fn parent(&self) -> u32;
    /// Packed displacement.
    fn disp(&self) -> u64;
    /// A node with the given parent word and displacement.
    fn make(parent: u32, disp: u64) -> Self;
}

impl Node for [u32; 2] {
    const EMPTY: Self = [ROOT, 0];
    #[inline]
    fn parent(&self) -> u32 {
        self[0]
    }
    #[inline]
    fn disp(&self) -> u64 {
        self[1] as u64
    }
    #[inline]
    fn make(parent: u32, disp: u64) -> Self {
        [parent, disp as u32]
    }
}

impl Node for [u32; 3] {
    const EMPTY: Self = [ROOT, 0, 0];
    #[inline]
    fn parent(&self) -> u32 {
        self[0]
    }
    #[inline]
    fn disp(&self) -> u64 {
        self[1] as u64 | (self[2] as u64) << 32
    }
    #[inline]
    fn make(parent: u32, disp: u64) -> Self {
        [parent, disp as u32, (disp >> 32) as u32]
    }
}

/// Union-find with displacement-to-parent over nodes of type `N` (8 or 12
/// bytes each).
///
/// **Invariant**: a node's parent word is `ROOT | size` at a root (size 0 =
/// empty) or the parent index; its displacement is `pos(x) − pos(parent)`
/// (zero at roots).
#[derive(Debug, Clone)]
pub struct Forest<N: Node> {
    nodes: Vec<N>,
    lanes: Lanes,
}

impl<N: Node> Forest<N> {
    /// `len` empty elements with displacement lanes `lanes`.
    pub fn new_empty(len: usize, lanes: Lanes) -> Self {
        Forest {
            nodes: vec![N::EMPTY; len],
            lanes,
        }
    }

    /// Makes every element empty again.
    pub fn clear_empty(&mut self) {
        self.nodes.fill(N::EMPTY);
    }

    /// Makes every element a singleton (size 1), as bond percolation starts.
    pub fn fill_singletons(&mut self) {
        self.nodes.fill(N::make(ROOT | 1, 0));
    }

    /// The displacement lanes.
    pub fn lanes(&self) -> &Lanes {
        &self.lanes
    }

    /// Occupies the empty element `x`.
    #[inline]
    pub fn occupy(&mut self, x: u32) {
        debug_assert!(self.nodes[x as usize].parent() == ROOT);
        self.nodes[x as usize] = N::make(ROOT | 1, 0);
    }

    /// Hints the CPU to cache the node of `x` (no effect on results).
    #[inline]
    pub fn prefetch(&self, x: u32) {
        crate::memory::prefetch(self.nodes.as_ptr().wrapping_add(x as usize));
    }

    /// Whether `x` is occupied.
    #[inline]
    pub fn is_occupied(&self, x: u32) -> bool {
        self.nodes[x as usize].parent() != ROOT
    }

    /// Size of the cluster whose root is `root`.
    #[inline]
    pub fn root_size(&self, root: u32) -> u32 {
        debug_assert!(self.nodes[root as usize].parent() & ROOT != 0);
        self.nodes[root as usize].parent() & LOW
    }

    /// The root of `x` and the displacement `pos(x) − pos(root)`, halving
    /// the path (and summing displacements) on the way.
    #[inline]
    pub fn find(&mut self, mut x: u32) -> (u32, u64) {
        let mut acc = 0u64;
        loop {
            let nx = self.nodes[x as usize];
            let p = nx.parent();
            if p & ROOT != 0 {
                return (x, acc);
            }
            let np = self.nodes[p as usize];
            let gp = np.parent();
            if gp & ROOT != 0 {
                return (p, self.lanes.add(acc, nx.disp()));
            }
            let halved = self.lanes.add(nx.disp(), np.disp());
            self.nodes[x as usize] = N::make(gp, halved);
            acc = self.lanes.add(acc, halved);
            x = gp;
        }
    }

    /// The root of `x` with path halving but without displacement
    /// bookkeeping. Only valid once wrapping is no longer tracked: the
    /// displacements of halved nodes become stale.
    #[inline]
    pub fn find_root_only(&mut self, mut x: u32) -> u32 {
        loop {
            let p = self.nodes[x as usize].parent();
            if p & ROOT != 0 {
                return x;
            }
            let gp = self.nodes[p as usize].parent();
            if gp & ROOT != 0 {
                return p;
            }
            self.nodes[x as usize] = N::make(gp, 0);
            x = gp;
        }
    }

    /// Adds the bond from `u` to `v = u + step·e_axis` (both occupied).
    #[inline]
    pub fn link(&mut self, u: u32, v: u32, axis: usize, step: i32) -> Link {
        let (ru, du) = self.find(u);
        let (rv, dv) = self.find(v);
        let l = self.lanes;
        // pos(rv) − pos(ru) implied by the bond: du + step − dv.
        let offset = l.sub(l.add(du, l.step(axis, step)), dv);
        if ru == rv {
            return Link::Cycle {
                wrapped_axes: l.nonzero_axes(offset),
            };
        }
        let (su, sv) = (self.root_size(ru), self.root_size(rv));
        if su >= sv {
            self.nodes[ru as usize] = N::make(ROOT | (su + sv), 0);
            self.nodes[rv as usize] = N::make(ru, offset);
        } else {
            self.nodes[rv as usize] = N::make(ROOT | (su + sv), 0);
            self.nodes[ru as usize] = N::make(rv, l.sub(0, offset));
        }
        Link::Merged {
            size_a: su,
            size_b: sv,
        }
    }

    /// Adds a bond without wrapping bookkeeping (see
    /// [`find_root_only`](Self::find_root_only)).
    #[inline]
    pub fn link_untracked(&mut self, u: u32, v: u32) -> Option<(u32, u32)> {
        let ru = self.find_root_only(u);
        let rv = self.find_root_only(v);
        if ru == rv {
            return None;
        }
        let (su, sv) = (self.root_size(ru), self.root_size(rv));
        let (big, small) = if su >= sv { (ru, rv) } else { (rv, ru) };
        self.nodes[big as usize] = N::make(ROOT | (su + sv), 0);
        self.nodes[small as usize] = N::make(big, 0);
        Some((su, sv))
    }

    /// Heap bytes used.
    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<N>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn swar_matches_lane_arithmetic(dim in 1usize..=8, side in 2u32..300, a in proptest::collection::vec(-600i64..600, 8), b in proptest::collection::vec(-600i64..600, 8)) {
            let Some(l) = Lanes::for_lattice(dim, side) else { return Ok(()); };
            let m = 1i64 << l.lane_bits();
            let wrap = |x: i64| { let r = x.rem_euclid(m); if r >= m / 2 { r - m } else { r } };
            let (pa, pb) = (l.pack(&a[..dim]), l.pack(&b[..dim]));
            let (s, d) = (l.add(pa, pb), l.sub(pa, pb));
            let mut expect_mask = 0;
            for ax in 0..dim {
                prop_assert_eq!(l.lane(s, ax), wrap(a[ax] + b[ax]));
                prop_assert_eq!(l.lane(d, ax), wrap(a[ax] - b[ax]));
                if wrap(a[ax] - b[ax]) != 0 { expect_mask |= 1 << ax; }
            }
            prop_assert_eq!(l.nonzero_axes(d), expect_mask);
        }
    }

    #[test]
    fn lane_width_covers_three_windings() {
        for side in [2u32, 3, 4, 5, 16, 17, 100, 4096] {
            let l = Lanes::for_lattice(2, side).unwrap();
            for k in 1..=3i64 {
                let w = l.pack(&[k * side as i64, -k * side as i64]);
                assert_eq!(l.nonzero_axes(w), 0b11, "side {side}, winding {k}");
            }
        }
    }

    #[test]
    fn a_ring_wraps_only_when_closed_around_the_torus() {
        // A 1-D ring of 5 sites: linking 0-1-2-3-4 forms no cycle; 4-0 closes it.
        let lanes = Lanes::for_lattice(1, 5).unwrap();
        let mut f: Forest<[u32; 2]> = Forest::new_empty(5, lanes);
        for x in 0..5 {
            f.occupy(x);
        }
        for x in 0..4 {
            assert!(matches!(f.link(x, x + 1, 0, 1), Link::Merged { .. }));
        }
        assert_eq!(f.link(4, 0, 0, 1), Link::Cycle { wrapped_axes: 1 });
    }
}
