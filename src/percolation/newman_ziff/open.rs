//! Open boundaries: union-find clusters that remember which lattice faces
//! they touch, and the site and bond sample loops that detect spanning.

use super::lookahead::{bond_slot, site_ahead, Lookahead};
use super::recorder::{Recorder, Tally};
use super::{ObservableSums, SampleRecord};
use crate::lattice::{Lattice, MAX_DIM};
use crate::permutation::RandomPermutation;
use crate::unionfind::UnionFind;

/// Union-find for open boundaries, with the set of lattice faces each
/// cluster touches kept at its root: bit `2a` for the low face of axis `a`,
/// bit `2a + 1` for the high face. A cluster spans axis `a` when it holds both
/// bits. (Auxiliary face *nodes* in the union-find would be cheaper but join
/// clusters through the faces, corrupting sizes and faking spans between
/// different axes.) 8 bytes per site.
pub(super) struct OpenClusters {
    pub(super) uf: UnionFind,
    pub(super) faces: Vec<u32>,
}

impl OpenClusters {
    /// Face bits of the site with coordinates `coords`.
    fn face_bits(lattice: &Lattice, coords: &[u32; MAX_DIM]) -> u32 {
        let mut bits = 0;
        for (axis, &x) in coords.iter().enumerate().take(lattice.dim()) {
            bits |= ((x == 0) as u32) << (2 * axis);
            bits |= ((x + 1 == lattice.side(axis)) as u32) << (2 * axis + 1);
        }
        bits
    }

    /// Merges two distinct roots; returns the axes the merged cluster spans.
    #[inline]
    fn merge_roots(&mut self, ru: u32, rv: u32) -> u32 {
        let big = self.uf.union_roots(ru, rv).expect("distinct roots");
        let bits = self.faces[ru as usize] | self.faces[rv as usize];
        self.faces[big as usize] = bits;
        spanned_axes(bits)
    }
}

/// Axes `a` whose both face bits (`2a`, `2a + 1`) are set in `bits`.
#[inline]
fn spanned_axes(bits: u32) -> u32 {
    let mut both = bits & (bits >> 1) & 0x5555_5555;
    // compress every other bit: bit 2a → bit a
    both = (both | (both >> 1)) & 0x3333_3333;
    both = (both | (both >> 2)) & 0x0F0F_0F0F;
    both = (both | (both >> 4)) & 0x00FF_00FF;
    (both | (both >> 8)) & 0x0000_FFFF
}

pub(super) fn site_open(
    o: &mut OpenClusters,
    lattice: &Lattice,
    seed: u64,
    sums: Option<&mut ObservableSums>,
) -> SampleRecord {
    o.uf.clear_empty();
    let n_sites = lattice.n_sites();
    let perm = RandomPermutation::new(n_sites as u64, seed);
    let dim = lattice.dim();
    let mut rec = Recorder::new(dim, sums, Tally::default());
    let mut ahead = Lookahead::new(n_sites as u64, |j| {
        site_ahead(lattice, &perm, j, |v| o.uf.prefetch(v))
    });
    for k in 0..n_sites {
        let (u, c) = ahead.take(k as u64, |j| {
            site_ahead(lattice, &perm, j, |v| o.uf.prefetch(v))
        });
        o.uf.occupy(u);
        rec.tally.clusters += 1;
        rec.tally.largest = rec.tally.largest.max(1);
        rec.tally.sum_sq += 1;
        o.faces[u as usize] = OpenClusters::face_bits(lattice, &c);
        let mut spanned = spanned_axes(o.faces[u as usize]);
        for (axis, &x) in c.iter().enumerate().take(dim) {
            for nb in [lattice.forward(u, x, axis), lattice.backward(u, x, axis)] {
                let Some((v, _)) = nb else { continue };
                if !o.uf.is_occupied(v) {
                    continue;
                }
                let (ru, rv) = (o.uf.find(u), o.uf.find(v));
                if ru != rv {
                    rec.tally.merge(o.uf.root_size(ru), o.uf.root_size(rv));
                    spanned |= o.merge_roots(ru, rv);
                }
            }
        }
        rec.events(spanned, k + 1);
        rec.observe(k + 1);
        if rec.done() {
            break;
        }
    }
    rec.finish()
}

pub(super) fn bond_open(
    o: &mut OpenClusters,
    lattice: &Lattice,
    seed: u64,
    sums: Option<&mut ObservableSums>,
) -> SampleRecord {
    let dim = lattice.dim();
    let n_sites = lattice.n_sites();
    o.uf.reset_singletons(n_sites as usize);
    let mut c = [0u32; MAX_DIM];
    for site in 0..n_sites {
        lattice.coords_into(site, &mut c);
        o.faces[site as usize] = OpenClusters::face_bits(lattice, &c);
    }
    let slots = lattice.n_bond_slots();
    let perm = RandomPermutation::new(slots, seed);
    let tally = Tally {
        largest: 1,
        clusters: n_sites,
        sum_sq: n_sites as u64,
    };
    let mut rec = Recorder::new(dim, sums, tally);
    // Sides are at least 2, so no single site spans: nothing happens at n = 0.
    let mut n = 0u32;
    let bond = |k: u64, uf: &UnionFind| {
        let slot = bond_slot(lattice, perm.apply(k));
        if let Some((u, v, _)) = slot {
            uf.prefetch(u);
            uf.prefetch(v);
        }
        slot
    };
    let mut ahead = Lookahead::new(slots, |j| bond(j, &o.uf));
    for k in 0..slots {
        let Some((u, v, _)) = ahead.take(k, |j| bond(j, &o.uf)) else {
            continue;
        };
        n += 1;
        let (ru, rv) = (o.uf.find(u), o.uf.find(v));
        if ru != rv {
            rec.tally.merge(o.uf.root_size(ru), o.uf.root_size(rv));
            let spanned = o.merge_roots(ru, rv);
            rec.events(spanned, n);
        }
        rec.observe(n);
        if rec.done() {
            break;
        }
    }
    rec.finish()
}
