//! Periodic seams: the open-boundary clusters joined across the faces of
//! the torus, with the winding of each cluster's frame, which tells whether
//! a cluster wraps.

use rustc_hash::FxHashMap;

use super::geometry::Geometry;
use crate::lattice::MAX_DIM;
use crate::unionfind::UnionFind;

/// Union-find over the open-boundary clusters that touch a periodic seam,
/// with the winding of each cluster's frame relative to its parent.
///
/// Node `k` stands for the open cluster rooted at `open_root[k]`. At a
/// non-root node, `offset[k·d..(k+1)·d]` is the displacement of its frame
/// relative to its parent's in units of the box: the copy of the cluster that
/// is connected to the parent's reference copy. Union is by size, so `find`
/// (without path compression) walks `O(log nodes)` steps.
pub(super) struct SeamForest {
    dim: usize,
    /// Open root site → node.
    node_of: FxHashMap<u32, u32>,
    /// Node → open root site.
    open_root: Vec<u32>,
    /// Node → size of its open cluster.
    pub(super) open_size: Vec<u64>,
    /// Node → parent node (itself at a root).
    pub(super) parent: Vec<u32>,
    /// At a root: total sites of the merged cluster.
    pub(super) size: Vec<u64>,
    /// At a root: bit `axis` set when the merged cluster wraps along `axis`.
    pub(super) wraps: Vec<u16>,
    /// `dim` displacements per node (meaningful at non-roots).
    offset: Vec<i32>,
}

impl SeamForest {
    /// Joins the open clusters of `forest` across every occupied seam bond.
    pub(super) fn build(forest: &mut UnionFind, occupied: &[bool], geom: &Geometry) -> Self {
        let mut seams = SeamForest {
            dim: geom.dim(),
            node_of: FxHashMap::default(),
            open_root: Vec::new(),
            open_size: Vec::new(),
            parent: Vec::new(),
            size: Vec::new(),
            wraps: Vec::new(),
            offset: Vec::new(),
        };
        for axis in 0..geom.dim() {
            // Site `u` in the last layer is bonded to `u − span` in the first.
            let span = (geom.shape[axis] - 1) * geom.strides[axis];
            geom.for_each_in_layer(axis, geom.shape[axis] - 1, |u| {
                let v = u - span;
                if occupied[u] && occupied[v] {
                    let a = seams.node(forest, u as u32);
                    let b = seams.node(forest, v as u32);
                    seams.join(a, b, axis);
                }
                true
            });
        }
        seams
    }

    /// The node of the open cluster containing `site`, created on first use.
    fn node(&mut self, forest: &mut UnionFind, site: u32) -> u32 {
        let root = forest.find(site);
        let next = self.parent.len() as u32;
        let node = *self.node_of.entry(root).or_insert(next);
        if node == next {
            let size = u64::from(forest.root_size(root));
            self.open_root.push(root);
            self.open_size.push(size);
            self.parent.push(next);
            self.size.push(size);
            self.wraps.push(0);
            self.offset.extend(std::iter::repeat_n(0, self.dim));
        }
        node
    }

    /// The root of `node`, with `disp` set to the frame of `node` relative to
    /// the root's.
    fn find(&self, mut node: u32, disp: &mut [i32; MAX_DIM]) -> u32 {
        disp.fill(0);
        let d = self.dim;
        while self.parent[node as usize] != node {
            let off = &self.offset[node as usize * d..][..d];
            disp.iter_mut().zip(off).for_each(|(x, o)| *x += o);
            node = self.parent[node as usize];
        }
        node
    }

    /// Records a bond from cluster `a` to the copy of cluster `b` one box
    /// further along `axis`: frame(b) = frame(a) + e_axis.
    fn join(&mut self, a: u32, b: u32, axis: usize) {
        let (mut da, mut db) = ([0i32; MAX_DIM], [0i32; MAX_DIM]);
        let ra = self.find(a, &mut da);
        let rb = self.find(b, &mut db);
        // δ = (frame(a) + e_axis − frame(b)) relative to the roots' frames:
        // the winding of the loop this bond closes when ra == rb, otherwise
        // the frame of rb relative to ra.
        let mut delta = [0i32; MAX_DIM];
        for k in 0..self.dim {
            delta[k] = da[k] + i32::from(k == axis) - db[k];
        }
        let d = self.dim;
        if ra == rb {
            let bits = (0..d)
                .filter(|&k| delta[k] != 0)
                .fold(0u16, |w, k| w | 1 << k);
            self.wraps[ra as usize] |= bits;
            return;
        }
        let (big, small, sign) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb, 1)
        } else {
            (rb, ra, -1)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        self.wraps[big as usize] |= self.wraps[small as usize];
        let off = &mut self.offset[small as usize * d..][..d];
        off.iter_mut().zip(&delta).for_each(|(o, &x)| *o = sign * x);
    }

    /// The site that represents the periodic cluster of the open cluster
    /// rooted at `open_root`.
    pub(super) fn representative(&self, open_root: u32) -> u32 {
        match self.node_of.get(&open_root) {
            Some(&node) => {
                let mut root = node;
                while self.parent[root as usize] != root {
                    root = self.parent[root as usize];
                }
                self.open_root[root as usize]
            }
            None => open_root,
        }
    }
}
