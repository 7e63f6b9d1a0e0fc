//! What a sample records as it proceeds: the first occupation count of the
//! event along each axis, and the observables at the grid points of `n`.

use super::{ObservableSums, SampleRecord, NEVER};
use crate::lattice::MAX_DIM;

/// Per-sample counters of the observables.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) largest: u32,
    pub(super) clusters: u32,
    pub(super) sum_sq: u64,
}

impl Tally {
    #[inline]
    pub(super) fn merge(&mut self, a: u32, b: u32) {
        self.largest = self.largest.max(a + b);
        self.clusters -= 1;
        self.sum_sq += 2 * a as u64 * b as u64;
    }
}

/// Records first events and observables as a sample proceeds.
pub(super) struct Recorder<'s> {
    record: SampleRecord,
    pub(super) pending: u32,
    all_axes: u32,
    sums: Option<&'s mut ObservableSums>,
    next_grid: usize,
    pub(super) tally: Tally,
}

impl<'s> Recorder<'s> {
    pub(super) fn new(dim: usize, sums: Option<&'s mut ObservableSums>, tally: Tally) -> Self {
        let all_axes = ((1u64 << dim) - 1) as u32;
        let mut r = Recorder {
            record: SampleRecord {
                first_any: NEVER,
                first_axis: [NEVER; MAX_DIM],
            },
            pending: all_axes,
            all_axes,
            sums,
            next_grid: 0,
            tally,
        };
        r.observe(0);
        if let Some(s) = r.sums.as_deref_mut() {
            s.samples += 1;
        }
        r
    }

    /// Notes the event along `axes` at occupation count `n`.
    #[inline]
    pub(super) fn events(&mut self, axes: u32, n: u32) {
        let new = axes & self.pending;
        if new == 0 {
            return;
        }
        if self.pending == self.all_axes {
            self.record.first_any = n;
        }
        self.pending &= !new;
        for axis in 0..MAX_DIM {
            if new >> axis & 1 == 1 {
                self.record.first_axis[axis] = n;
            }
        }
    }

    /// Records observables if `n` is a grid point.
    #[inline]
    pub(super) fn observe(&mut self, n: u32) {
        if let Some(s) = self.sums.as_deref_mut() {
            if self.next_grid < s.grid.len() && s.grid[self.next_grid] == n {
                let g = self.next_grid;
                let l = self.tally.largest as u64;
                s.largest[g] += l;
                s.largest_sq[g] += (l * l) as u128;
                s.clusters[g] += self.tally.clusters as u64;
                s.second_moment[g] += (self.tally.sum_sq - l * l) as u128;
                self.next_grid += 1;
            }
        }
    }

    /// Whether the sample may stop: every event seen and no observables wanted.
    #[inline]
    pub(super) fn done(&self) -> bool {
        self.pending == 0 && self.sums.is_none()
    }

    pub(super) fn finish(self) -> SampleRecord {
        debug_assert!(self
            .sums
            .as_ref()
            .is_none_or(|s| self.next_grid == s.grid.len()));
        self.record
    }
}
