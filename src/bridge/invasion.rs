//! Lazy invasion percolation from A: the minimax barrier without the grid.
//!
//! Invasion percolation grows one cluster from A by always occupying the
//! boundary site of lowest loss (ties: lowest C-order index). It is Prim's
//! algorithm for the minimum spanning tree with site weights, so the tree
//! path from A to any invaded site is a minimax path, and when C is invaded
//!
//! ```text
//! ℓ* = max { ℓ(s) : s invaded up to and including C },
//! ```
//!
//! the same minimax barrier as the dense loss-order sweep
//! ([`super::minimax`]) — exactly, since both compare the same f32 values.
//! Only discovered sites (the invaded cluster and its boundary) are ever
//! evaluated: at each step the undiscovered face neighbours of the newly
//! invaded site (at most `2k`) are evaluated in one batch, pushed on a binary
//! heap keyed by `(loss, index)`, and remembered in an `FxHashMap` keyed by
//! the site's C-order index (`u128`, enough for `33¹⁶ ≈ 2·10²⁴` sites), with
//! the site that discovered them — the parent pointers give the minimax path.
//! A model is fastest on full batches, so when the oracle asks for blocks of
//! `B` sites ([`SiteLoss::block`]) the batch is topped up with the
//! undiscovered neighbours of the next boundary sites in heap order; those
//! values wait in a cache, off the boundary, until their own discoverer is
//! invaded. The invasion order, and so the barrier, is unchanged (a site's
//! loss does not depend on when it is computed); only the count of
//! evaluations grows by the prefetched sites that were never needed.
//!
//! Losses come from a [`SiteLoss`] oracle: the model on a slice
//! ([`ModelSites`]) or a stored field ([`FieldSites`], for tests and reruns).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::field::LossField;
use super::minimax::loss_key;
use super::slice::Slice;
use crate::error::{Error, Result};
use crate::nn::Classifier;

/// A source of losses at grid sites.
pub trait SiteLoss {
    /// Points per axis of the grid.
    fn sides(&self) -> &[usize];
    /// Losses at the sites whose coordinates are given, `k` per site.
    fn losses(&mut self, coords: &[u32]) -> Result<Vec<f32>>;
    /// Sites worth evaluating together: invasion fills each call up to this
    /// many with sites it will probably need next (1 = no prefetching).
    fn block(&self) -> usize {
        1
    }
}

/// Appends the neighbours `nb` of `site` with `keep(nb)` to `idx` and their
/// coordinates to `out_coords`.
pub(super) fn push_undiscovered(
    sides: &[usize],
    strides: &[u128],
    site: u128,
    coords: &mut [u32],
    idx: &mut Vec<u128>,
    out_coords: &mut Vec<u32>,
    keep: impl Fn(u128) -> bool,
) {
    coords_of(sides, site, coords);
    for axis in 0..sides.len() {
        let x = coords[axis];
        if x > 0 && keep(site - strides[axis]) {
            idx.push(site - strides[axis]);
            let at = out_coords.len() + axis;
            out_coords.extend_from_slice(coords);
            out_coords[at] = x - 1;
        }
        if (x as usize) + 1 < sides[axis] && keep(site + strides[axis]) {
            idx.push(site + strides[axis]);
            let at = out_coords.len() + axis;
            out_coords.extend_from_slice(coords);
            out_coords[at] = x + 1;
        }
    }
}

/// Losses of a model on a slice, against one class.
pub struct ModelSites<'a, C: Classifier + ?Sized> {
    model: &'a C,
    slice: &'a Slice,
    class: u32,
    buf: Vec<f32>,
}

impl<'a, C: Classifier + ?Sized> ModelSites<'a, C> {
    /// The oracle `x ↦ CE(model(slice(x)), class)`.
    pub fn new(model: &'a C, slice: &'a Slice, class: u32) -> Result<Self> {
        if model.spec().item_len() != slice.item_len() {
            return Err(Error::invalid(
                "slice",
                slice.item_len(),
                format!("expected inputs of length {}", model.spec().item_len()),
            ));
        }
        if class as usize >= model.spec().classes {
            return Err(Error::invalid(
                "class",
                class,
                format!("expected a class below {}", model.spec().classes),
            ));
        }
        Ok(ModelSites {
            model,
            slice,
            class,
            buf: Vec::new(),
        })
    }
}

impl<C: Classifier + ?Sized> SiteLoss for ModelSites<'_, C> {
    fn sides(&self) -> &[usize] {
        self.slice.sides()
    }

    fn losses(&mut self, coords: &[u32]) -> Result<Vec<f32>> {
        let n = coords.len() / self.slice.dim();
        self.buf.resize(n * self.slice.item_len(), 0.0);
        self.slice.fill_coords(coords, &mut self.buf);
        super::field::loss_blocked(self.model, &self.buf, self.class)
    }

    fn block(&self) -> usize {
        super::field::EVAL_BLOCK
    }
}

/// Losses looked up in a stored field.
pub struct FieldSites<'a> {
    field: &'a LossField,
    block: usize,
}

impl<'a> FieldSites<'a> {
    /// The oracle reading `field`.
    pub fn new(field: &'a LossField) -> Self {
        FieldSites { field, block: 1 }
    }

    /// The oracle with a prefetch block (as a model oracle would have), to
    /// exercise invasion's batching on stored fields.
    pub fn with_block(field: &'a LossField, block: usize) -> Self {
        FieldSites { field, block }
    }
}

impl SiteLoss for FieldSites<'_> {
    fn sides(&self) -> &[usize] {
        &self.field.sides
    }

    fn losses(&mut self, coords: &[u32]) -> Result<Vec<f32>> {
        let k = self.field.sides.len();
        Ok(coords
            .chunks_exact(k)
            .map(|c| self.field.values[self.field.index(c)])
            .collect())
    }

    fn block(&self) -> usize {
        self.block
    }
}

/// The outcome of an invasion from A to C.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvasionResult {
    /// `ℓ*`, the largest loss invaded up to and including C.
    pub minimax_barrier: f32,
    /// Sites invaded (cluster size when C joined, A and C included).
    pub invaded: u64,
    /// Sites evaluated (invaded, boundary and prefetched).
    pub evaluations: u64,
    /// Sites of the whole (virtual) grid, as f64 (may exceed 2⁶⁴).
    pub grid_sites: f64,
    /// `evaluations / grid_sites`.
    pub fraction_evaluated: f64,
    /// Wall-clock seconds the invasion took.
    pub seconds: f64,
    /// A minimax path from A to C (grid coordinates, `k` per site).
    pub path: Vec<u32>,
}

impl InvasionResult {
    /// Model evaluations per wall-clock second, `evaluations / seconds`.
    pub fn evaluations_per_sec(&self) -> f64 {
        self.evaluations as f64 / self.seconds.max(1e-12)
    }
}

/// Checks that `a` and `c` are sites of a grid with `sides`.
pub(super) fn check_endpoints(sides: &[usize], a: &[u32], c: &[u32]) -> Result<()> {
    for (name, p) in [("endpoint A", a), ("endpoint C", c)] {
        if p.len() != sides.len() || p.iter().zip(sides).any(|(&x, &s)| x as usize >= s) {
            return Err(Error::invalid(
                name,
                format!("{p:?}"),
                format!("expected coordinates inside sides {sides:?}"),
            ));
        }
    }
    Ok(())
}

/// C-order strides of a grid with `sides`.
pub(super) fn strides_of(sides: &[usize]) -> Vec<u128> {
    (0..sides.len())
        .map(|i| sides[i + 1..].iter().map(|&s| s as u128).product())
        .collect()
}

/// The path from `a` to `c` through the discovering sites recorded in
/// `seen` (site → (loss, discoverer)): its site indices and coordinates.
pub(super) fn trace_path(
    sides: &[usize],
    seen: &FxHashMap<u128, (f32, u128)>,
    a: u128,
    c: u128,
) -> (Vec<u128>, Vec<u32>) {
    let k = sides.len();
    let mut idx = vec![c];
    let mut x = c;
    while x != a {
        x = seen[&x].1;
        idx.push(x);
    }
    idx.reverse();
    let mut coords = vec![0u32; idx.len() * k];
    for (i, &p) in idx.iter().enumerate() {
        coords_of(sides, p, &mut coords[i * k..(i + 1) * k]);
    }
    (idx, coords)
}

pub(super) fn index_of(sides: &[usize], coords: &[u32]) -> u128 {
    coords
        .iter()
        .zip(sides)
        .fold(0u128, |acc, (&x, &s)| acc * s as u128 + x as u128)
}

pub(super) fn coords_of(sides: &[usize], mut site: u128, out: &mut [u32]) {
    for axis in (0..sides.len()).rev() {
        let s = sides[axis] as u128;
        out[axis] = (site % s) as u32;
        site /= s;
    }
}

/// Invades from `a` until `c` is invaded (coordinates on the oracle's grid),
/// evaluating at most `max_evaluations` sites (a user error beyond that).
pub fn invade<S: SiteLoss + ?Sized>(
    oracle: &mut S,
    a: &[u32],
    c: &[u32],
    max_evaluations: u64,
) -> Result<InvasionResult> {
    let started = Instant::now();
    let sides = oracle.sides().to_vec();
    let k = sides.len();
    check_endpoints(&sides, a, c)?;
    let grid_sites: f64 = sides.iter().map(|&s| s as f64).product();
    let a_idx = index_of(&sides, a);
    let c_idx = index_of(&sides, c);
    // site → (loss, discovering site)
    let mut seen: FxHashMap<u128, (f32, u128)> = FxHashMap::default();
    let mut heap: BinaryHeap<Reverse<(u32, u128)>> = BinaryHeap::new();
    let la = oracle.losses(a)?[0];
    seen.insert(a_idx, (la, a_idx));
    heap.push(Reverse((loss_key(la), a_idx)));
    // Evaluated but not yet discovered sites (prefetched).
    let mut cache: FxHashMap<u128, f32> = FxHashMap::default();
    let block = oracle.block().max(1);
    let mut barrier = f32::NEG_INFINITY;
    let mut invaded = 0u64;
    let mut coords = vec![0u32; k];
    let mut new_coords: Vec<u32> = Vec::with_capacity(2 * k * k);
    let mut new_idx: Vec<u128> = Vec::with_capacity(2 * k);
    let strides = strides_of(&sides);
    while let Some(Reverse((_, s))) = heap.pop() {
        let loss = seen[&s].0;
        invaded += 1;
        if loss.total_cmp(&barrier).is_gt() {
            barrier = loss;
        }
        if s == c_idx {
            break;
        }
        // The undiscovered neighbours of s: from the prefetch cache where
        // possible, the rest evaluated now.
        new_coords.clear();
        new_idx.clear();
        push_undiscovered(
            &sides,
            &strides,
            s,
            &mut coords,
            &mut new_idx,
            &mut new_coords,
            |nb| !seen.contains_key(&nb),
        );
        if new_idx.is_empty() {
            continue;
        }
        let mut missing: Vec<usize> = Vec::new();
        for (j, nb) in new_idx.iter().enumerate() {
            if !cache.contains_key(nb) {
                missing.push(j);
            }
        }
        if !missing.is_empty() {
            let mut batch_idx: Vec<u128> = missing.iter().map(|&j| new_idx[j]).collect();
            let mut batch_coords: Vec<u32> = missing
                .iter()
                .flat_map(|&j| new_coords[j * k..(j + 1) * k].iter().copied())
                .collect();
            // Fill the block with the neighbours of the next boundary sites in
            // invasion order: they are likely to be needed soon, and their
            // values do not depend on when they are computed. They stay in the
            // cache, off the boundary, until their discoverer is invaded.
            if block > batch_idx.len() {
                let mut popped = Vec::new();
                while batch_idx.len() < block && popped.len() < 4 * block {
                    let Some(entry) = heap.pop() else { break };
                    let t = entry.0 .1;
                    popped.push(entry);
                    let mut more_idx = Vec::new();
                    let mut more_coords = Vec::new();
                    push_undiscovered(
                        &sides,
                        &strides,
                        t,
                        &mut coords,
                        &mut more_idx,
                        &mut more_coords,
                        |nb| {
                            !seen.contains_key(&nb)
                                && !cache.contains_key(&nb)
                                && !new_idx.contains(&nb)
                        },
                    );
                    for (j, nb) in more_idx.into_iter().enumerate() {
                        if batch_idx.len() < block && !batch_idx.contains(&nb) {
                            batch_idx.push(nb);
                            batch_coords.extend_from_slice(&more_coords[j * k..(j + 1) * k]);
                        }
                    }
                }
                heap.extend(popped);
            }
            if (seen.len() + cache.len() + batch_idx.len()) as u64 > max_evaluations {
                return Err(Error::invalid(
                    "max_evaluations",
                    max_evaluations,
                    format!(
                        "invasion evaluated {} sites (barrier so far {barrier}) before C joined; raise the limit or shrink the slice",
                        seen.len() + cache.len()
                    ),
                ));
            }
            let losses = oracle.losses(&batch_coords)?;
            cache.extend(batch_idx.into_iter().zip(losses));
        }
        for &nb in &new_idx {
            let l = cache.remove(&nb).expect("evaluated above or prefetched");
            seen.insert(nb, (l, s));
            heap.push(Reverse((loss_key(l), nb)));
        }
    }
    if !seen.contains_key(&c_idx) {
        return Err(Error::Numerical {
            context: "invasion".into(),
            reason: "the boundary emptied before C was reached".into(),
        });
    }
    let (_, path) = trace_path(&sides, &seen, a_idx, c_idx);
    let evaluations = (seen.len() + cache.len()) as u64;
    Ok(InvasionResult {
        minimax_barrier: barrier,
        invaded,
        evaluations,
        grid_sites,
        fraction_evaluated: evaluations as f64 / grid_sites,
        seconds: started.elapsed().as_secs_f64(),
        path,
    })
}

/// A random field for property tests: `side^k` sites with losses drawn
/// from `levels` values (ties on purpose), and endpoints `ai`, `ci` (taken
/// modulo the site count) as indices and coordinates.
#[cfg(test)]
pub(crate) fn random_field(
    k: usize,
    side: usize,
    seed: u64,
    levels: u64,
    ai: u32,
    ci: u32,
) -> (LossField, usize, usize, Vec<u32>, Vec<u32>) {
    let n = side.pow(k as u32);
    let values: Vec<f32> = (0..n as u64)
        .map(|i| (crate::rng::mix64(seed ^ i) % levels) as f32 / 7.0)
        .collect();
    let f = LossField::new(vec![side; k], values).unwrap();
    let (a, c) = (ai as usize % n, ci as usize % n);
    let mut ca = vec![0u32; k];
    let mut cc = vec![0u32; k];
    coords_of(&f.sides, a as u128, &mut ca);
    coords_of(&f.sides, c as u128, &mut cc);
    (f, a, c, ca, cc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::minimax::{minimax_bruteforce, sweep_loss_order};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Invasion and the dense sweep give exactly the same barrier, and
        /// the invasion path stays at or below it.
        #[test]
        fn invasion_equals_dense_on_random_fields(
            k in 1usize..=4, side in 2usize..=7, seed in any::<u64>(), levels in 2u64..1000,
            ai in any::<u32>(), ci in any::<u32>(), block in prop_oneof![Just(1usize), Just(7), Just(32)],
        ) {
            let (f, a, c, ca, cc) = random_field(k, side, seed, levels, ai, ci);
            let n = f.values.len();
            let inv = invade(&mut FieldSites::with_block(&f, block), &ca, &cc, u64::MAX).unwrap();
            let dense = sweep_loss_order(&f, a as u32, c as u32, 4).unwrap();
            prop_assert_eq!(inv.minimax_barrier, dense.minimax_barrier);
            prop_assert_eq!(inv.minimax_barrier, minimax_bruteforce(&f, a as u32, c as u32).unwrap());
            prop_assert!(inv.evaluations as usize <= n);
            let pmax = inv.path.chunks_exact(k).map(|p| f.values[f.index(p)]).fold(f32::MIN, f32::max);
            prop_assert_eq!(pmax, inv.minimax_barrier);
            prop_assert_eq!(&inv.path[..k], &ca[..]);
            prop_assert_eq!(&inv.path[inv.path.len() - k..], &cc[..]);
        }
    }

    #[test]
    fn evaluation_limit_is_a_user_error() {
        let f = LossField::new(vec![50, 50], (0..2500).map(|i| i as f32).collect()).unwrap();
        let e = invade(&mut FieldSites::new(&f), &[0, 0], &[49, 49], 10).unwrap_err();
        assert!(e.is_user_error(), "{e}");
    }
}
