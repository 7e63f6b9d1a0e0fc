//! Periodic boundaries: the site and bond sample loops on a displaced
//! forest, which detects a cluster wrapping around the torus when a bond
//! closes a cycle.

use super::lookahead::{bond_slot, site_ahead, Lookahead};
use super::recorder::{Recorder, Tally};
use super::{ObservableSums, SampleRecord};
use crate::lattice::Lattice;
use crate::percolation::forest::{Forest, Link, Node};
use crate::permutation::RandomPermutation;

pub(super) fn site_torus<N: Node>(
    f: &mut Forest<N>,
    lattice: &Lattice,
    seed: u64,
    sums: Option<&mut ObservableSums>,
) -> SampleRecord {
    f.clear_empty();
    let n_sites = lattice.n_sites();
    let perm = RandomPermutation::new(n_sites as u64, seed);
    let dim = lattice.dim();
    let mut rec = Recorder::new(dim, sums, Tally::default());
    let mut ahead = Lookahead::new(n_sites as u64, |j| {
        site_ahead(lattice, &perm, j, |v| f.prefetch(v))
    });
    for k in 0..n_sites {
        let (u, c) = ahead.take(k as u64, |j| {
            site_ahead(lattice, &perm, j, |v| f.prefetch(v))
        });
        f.occupy(u);
        rec.tally.clusters += 1;
        rec.tally.largest = rec.tally.largest.max(1);
        rec.tally.sum_sq += 1;
        let tracking = rec.pending != 0;
        let mut wrapped = 0;
        for (axis, &x) in c.iter().enumerate().take(dim) {
            for (nb, step) in [
                (lattice.forward(u, x, axis), 1),
                (lattice.backward(u, x, axis), -1),
            ] {
                let Some((v, _)) = nb else { continue };
                if !f.is_occupied(v) {
                    continue;
                }
                if tracking {
                    match f.link(u, v, axis, step) {
                        Link::Merged { size_a, size_b } => rec.tally.merge(size_a, size_b),
                        Link::Cycle { wrapped_axes } => wrapped |= wrapped_axes,
                    }
                } else if let Some((a, b)) = f.link_untracked(u, v) {
                    rec.tally.merge(a, b);
                }
            }
        }
        let n = k + 1;
        rec.events(wrapped, n);
        rec.observe(n);
        if rec.done() {
            break;
        }
    }
    rec.finish()
}

pub(super) fn bond_torus<N: Node>(
    f: &mut Forest<N>,
    lattice: &Lattice,
    seed: u64,
    sums: Option<&mut ObservableSums>,
) -> SampleRecord {
    f.fill_singletons();
    let dim = lattice.dim();
    let n_sites = lattice.n_sites();
    let slots = lattice.n_bond_slots();
    let perm = RandomPermutation::new(slots, seed);
    let tally = Tally {
        largest: 1,
        clusters: n_sites,
        sum_sq: n_sites as u64,
    };
    let mut rec = Recorder::new(dim, sums, tally);
    let bond = |k: u64, f: &Forest<N>| {
        let (u, v, axis) =
            bond_slot(lattice, perm.apply(k)).expect("periodic lattices have every bond");
        f.prefetch(u);
        f.prefetch(v);
        (u, v, axis)
    };
    let mut ahead = Lookahead::new(slots, |j| bond(j, f));
    for k in 0..slots {
        let (u, v, axis) = ahead.take(k, |j| bond(j, f));
        if rec.pending != 0 {
            match f.link(u, v, axis, 1) {
                Link::Merged { size_a, size_b } => rec.tally.merge(size_a, size_b),
                Link::Cycle { wrapped_axes } => rec.events(wrapped_axes, k as u32 + 1),
            }
        } else if let Some((a, b)) = f.link_untracked(u, v) {
            rec.tally.merge(a, b);
        }
        rec.observe(k as u32 + 1);
        if rec.done() {
            break;
        }
    }
    rec.finish()
}
