//! A compact weighted union-find (disjoint-set forest) with path halving.
//!
//! One `u32` per element holds either a parent index or, at a root, the
//! cluster size — 4 bytes per site, the layout of Newman & Ziff's `ptr[]`.
//! A root whose size is 0 is an *empty* element: percolation sweeps start
//! with every site empty and [`UnionFind::occupy`] them one by one, while
//! [`UnionFind::new`] starts with every element a singleton.

/// Bit that marks an entry as a root; the low 31 bits then hold the size.
const ROOT: u32 = 1 << 31;
/// Mask for the low 31 bits.
const LOW: u32 = ROOT - 1;

/// Disjoint sets over the elements `0..len`, with the size of every set.
///
/// **Invariant**: each entry is either `ROOT | size` (a root; `size` is the
/// number of occupied elements in its tree, 0 for an empty element) or the
/// index of a parent closer to the root. Union is by size, so trees have depth
/// `O(log n)`, and [`find`](Self::find) halves paths as it walks, giving
/// amortised near-constant time per operation (inverse Ackermann).
///
/// **Capacity**: at most `2^31 − 1` elements (indices fit in 31 bits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionFind {
    /// Parent index, or `ROOT | size` at a root.
    entries: Vec<u32>,
}

/// The largest number of elements a [`UnionFind`] can hold.
pub const MAX_ELEMENTS: usize = LOW as usize;

impl UnionFind {
    /// `len` singleton sets of size 1. Panics if `len > MAX_ELEMENTS`.
    pub fn new(len: usize) -> Self {
        Self::try_with_root_size(len, 1).expect("UnionFind capacity is 2^31 - 1 elements")
    }

    /// `len` empty elements (roots of size 0), to be [`occupy`](Self::occupy)-ed.
    /// Panics if `len > MAX_ELEMENTS`.
    pub fn new_empty(len: usize) -> Self {
        Self::try_with_root_size(len, 0).expect("UnionFind capacity is 2^31 - 1 elements")
    }

    /// Like [`new_empty`](Self::new_empty) but returns `None` above capacity.
    pub fn try_new_empty(len: usize) -> Option<Self> {
        Self::try_with_root_size(len, 0)
    }

    fn try_with_root_size(len: usize, size: u32) -> Option<Self> {
        (len <= MAX_ELEMENTS).then(|| UnionFind {
            entries: vec![ROOT | size; len],
        })
    }

    /// Number of elements (occupied or not).
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no elements.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Makes every element an empty root again, keeping the allocation.
    pub fn clear_empty(&mut self) {
        self.entries.fill(ROOT);
    }

    /// Makes the first `count` elements singletons of size 1 and the rest
    /// empty, keeping the allocation.
    pub fn reset_singletons(&mut self, count: usize) {
        let count = count.min(self.entries.len());
        self.entries[..count].fill(ROOT | 1);
        self.entries[count..].fill(ROOT);
    }

    /// Marks the empty element `x` as occupied: a singleton set of size 1.
    #[inline]
    pub fn occupy(&mut self, x: u32) {
        debug_assert!(
            self.entries[x as usize] == ROOT,
            "occupy: element {x} is not empty"
        );
        self.entries[x as usize] = ROOT | 1;
    }

    /// Hints the CPU to cache the entry of `x` (no effect on results).
    #[inline]
    pub fn prefetch(&self, x: u32) {
        crate::memory::prefetch(self.entries.as_ptr().wrapping_add(x as usize));
    }

    /// Whether `x` is occupied, i.e. not an empty singleton.
    /// (Non-root elements are always occupied.)
    #[inline]
    pub fn is_occupied(&self, x: u32) -> bool {
        self.entries[x as usize] != ROOT
    }

    /// Whether `x` is a root.
    #[inline]
    pub fn is_root(&self, x: u32) -> bool {
        self.entries[x as usize] & ROOT != 0
    }

    /// The representative of `x`'s set, halving the path on the way.
    /// Panics if `x` is out of bounds.
    #[inline]
    pub fn find(&mut self, mut x: u32) -> u32 {
        loop {
            let p = self.entries[x as usize];
            if p & ROOT != 0 {
                return x;
            }
            let gp = self.entries[p as usize];
            if gp & ROOT != 0 {
                return p;
            }
            self.entries[x as usize] = gp;
            x = gp;
        }
    }

    /// Like [`find`](Self::find) but returns `None` when `x` is out of bounds.
    pub fn try_find(&mut self, x: u32) -> Option<u32> {
        ((x as usize) < self.len()).then(|| self.find(x))
    }

    /// The representative of `x` without modifying the forest.
    pub fn find_immutable(&self, mut x: u32) -> u32 {
        while self.entries[x as usize] & ROOT == 0 {
            x = self.entries[x as usize];
        }
        x
    }

    /// Size of the set whose root is `root`. `debug_assert`s that it is a root.
    #[inline]
    pub fn root_size(&self, root: u32) -> u32 {
        debug_assert!(self.is_root(root), "root_size: {root} is not a root");
        self.entries[root as usize] & LOW
    }

    /// Size of the set containing `x`.
    pub fn size_of(&mut self, x: u32) -> u32 {
        let r = self.find(x);
        self.root_size(r)
    }

    /// Merges the sets of `a` and `b` (the smaller under the larger). Returns
    /// `Some(new_root)` if they were different sets, `None` if already joined.
    #[inline]
    pub fn union(&mut self, a: u32, b: u32) -> Option<u32> {
        let ra = self.find(a);
        let rb = self.find(b);
        self.union_roots(ra, rb)
    }

    /// Like [`union`](Self::union) but returns `None` when an index is out of
    /// bounds, and `Some(merged)` otherwise.
    pub fn try_union(&mut self, a: u32, b: u32) -> Option<bool> {
        let n = self.len();
        ((a as usize) < n && (b as usize) < n).then(|| self.union(a, b).is_some())
    }

    /// Merges two distinct roots by size; returns the surviving root, or `None`
    /// when `ra == rb`.
    #[inline]
    pub fn union_roots(&mut self, ra: u32, rb: u32) -> Option<u32> {
        if ra == rb {
            return None;
        }
        let sa = self.root_size(ra);
        let sb = self.root_size(rb);
        let (big, small) = if sa >= sb { (ra, rb) } else { (rb, ra) };
        self.entries[big as usize] = ROOT | (sa + sb);
        self.entries[small as usize] = big;
        Some(big)
    }

    /// Whether `a` and `b` are in the same set.
    pub fn equiv(&mut self, a: u32, b: u32) -> bool {
        self.find(a) == self.find(b)
    }

    /// Sizes of all non-empty sets, one entry per root, in index order of roots.
    pub fn set_sizes(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries
            .iter()
            .filter(|&&e| e & ROOT != 0 && e & LOW != 0)
            .map(|&e| e & LOW)
    }

    /// Heap bytes used by the forest.
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_and_occupied() {
        let mut uf = UnionFind::new_empty(4);
        assert!(!uf.is_occupied(2));
        uf.occupy(2);
        uf.occupy(3);
        assert!(uf.is_occupied(2));
        assert_eq!(uf.size_of(2), 1);
        assert!(uf.union(2, 3).is_some());
        assert!(uf.union(3, 2).is_none());
        assert_eq!(uf.size_of(3), 2);
        assert_eq!(uf.set_sizes().collect::<Vec<_>>(), vec![2]);
    }

    #[test]
    fn try_variants_check_bounds() {
        let mut uf = UnionFind::new(3);
        assert_eq!(uf.try_find(3), None);
        assert_eq!(uf.try_union(0, 5), None);
        assert_eq!(uf.try_union(0, 2), Some(true));
        assert_eq!(uf.try_union(2, 0), Some(false));
    }

    proptest! {
        /// Same partition and set sizes as petgraph's union-find, for any
        /// sequence of unions.
        #[test]
        fn agrees_with_petgraph(n in 1usize..200, pairs in proptest::collection::vec((0u32..200, 0u32..200), 0..400)) {
            let mut ours = UnionFind::new(n);
            let mut oracle = petgraph::unionfind::UnionFind::<u32>::new(n);
            for (a, b) in pairs {
                let (a, b) = (a % n as u32, b % n as u32);
                let merged = ours.union(a, b).is_some();
                prop_assert_eq!(merged, oracle.union(a, b));
            }
            let labels = oracle.into_labeling();
            for a in 0..n as u32 {
                for b in 0..n as u32 {
                    prop_assert_eq!(ours.equiv(a, b), labels[a as usize] == labels[b as usize]);
                }
                let expected = labels.iter().filter(|&&l| l == labels[a as usize]).count() as u32;
                prop_assert_eq!(ours.size_of(a), expected);
            }
        }
    }
}
