//! The cluster-size distribution as it is counted: a dense histogram for
//! small sizes and a map for the rest.

use std::collections::BTreeMap;

/// A size → count histogram: dense for small sizes, a map for the rest.
#[derive(Default)]
pub(super) struct SizeHistogram {
    small: Vec<u64>,
    large: BTreeMap<u64, u64>,
}

impl SizeHistogram {
    const DENSE: u64 = 4096;

    pub(super) fn add(&mut self, size: u64) {
        if size < Self::DENSE {
            if self.small.is_empty() {
                self.small = vec![0; Self::DENSE as usize];
            }
            self.small[size as usize] += 1;
        } else {
            *self.large.entry(size).or_insert(0) += 1;
        }
    }

    pub(super) fn remove(&mut self, size: u64) {
        if size < Self::DENSE {
            self.small[size as usize] -= 1;
        } else if let Some(count) = self.large.get_mut(&size) {
            *count -= 1;
            if *count == 0 {
                self.large.remove(&size);
            }
        }
    }

    pub(super) fn into_map(self) -> BTreeMap<u64, u64> {
        let mut map = self.large;
        map.extend(
            self.small
                .iter()
                .enumerate()
                .filter(|&(_, &c)| c > 0)
                .map(|(s, &c)| (s as u64, c)),
        );
        map
    }
}
