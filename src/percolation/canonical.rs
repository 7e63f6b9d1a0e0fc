//! The canonical ensemble: observables at a fixed occupation probability `p`.
//!
//! A Newman–Ziff sweep measures `Q_n`, the observable with exactly `n` of `N`
//! elements occupied. At probability `p` the number occupied is binomial, so
//!
//! ```text
//! Q(p) = Σ_n C(N, n) pⁿ (1 − p)^(N − n) Q_n .
//! ```
//!
//! [`BinomialWindow`] computes those weights stably for any `N`: it starts at
//! the mode with weight 1, walks outward with the ratio
//! `w(n+1)/w(n) = (N − n)/(n + 1) · p/(1 − p)` until the weights fall below
//! `1e-16` of the peak, and normalises — no factorials, no overflow, `O(√N)`
//! work per `p`.

/// Normalised binomial weights `C(N, n) pⁿ (1−p)^(N−n)` for `n` in a window
/// `lo..lo + weights.len()` that holds all but ~1e-16 of the mass.
#[derive(Debug, Clone, PartialEq)]
pub struct BinomialWindow {
    /// First `n` of the window.
    pub lo: u64,
    /// Weights for `n = lo, lo+1, …`, summing to 1.
    pub weights: Vec<f64>,
}

/// Relative cut-off of the binomial tails.
const TAIL: f64 = 1e-16;

impl BinomialWindow {
    /// The weights of Bin(`n_total`, `p`). `p` is clamped to [0, 1].
    pub fn new(n_total: u64, p: f64) -> Self {
        let p = p.clamp(0.0, 1.0);
        if p == 0.0 || n_total == 0 {
            return BinomialWindow {
                lo: 0,
                weights: vec![1.0],
            };
        }
        if p == 1.0 {
            return BinomialWindow {
                lo: n_total,
                weights: vec![1.0],
            };
        }
        let n = n_total as f64;
        let q = 1.0 - p;
        let mode = (((n + 1.0) * p).floor() as u64).min(n_total);
        let mut up = Vec::new();
        let mut w = 1.0;
        let mut k = mode;
        while k < n_total {
            w *= (n - k as f64) / (k as f64 + 1.0) * (p / q);
            if w < TAIL {
                break;
            }
            up.push(w);
            k += 1;
        }
        let mut down = Vec::new();
        let mut w = 1.0;
        let mut k = mode;
        while k > 0 {
            w *= k as f64 / (n - k as f64 + 1.0) * (q / p);
            if w < TAIL {
                break;
            }
            down.push(w);
            k -= 1;
        }
        let lo = mode - down.len() as u64;
        let mut weights: Vec<f64> = down.into_iter().rev().collect();
        weights.push(1.0);
        weights.extend(up);
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|x| *x /= total);
        BinomialWindow { lo, weights }
    }

    /// `P[Bin ≥ n]` for each `n` in the window, plus 1 below and 0 above.
    pub fn survival(&self) -> impl Fn(u64) -> f64 + '_ {
        let mut tail = vec![0.0; self.weights.len() + 1];
        for i in (0..self.weights.len()).rev() {
            tail[i] = tail[i + 1] + self.weights[i];
        }
        move |n: u64| {
            if n <= self.lo {
                1.0
            } else if n - self.lo >= self.weights.len() as u64 {
                0.0
            } else {
                tail[(n - self.lo) as usize].min(1.0)
            }
        }
    }

    /// `Σ_n w_n Q(n)` for an observable `Q` known on an ascending `grid` of
    /// occupation counts (linear interpolation between grid points).
    pub fn average_on_grid(&self, grid: &[u32], values: &[f64]) -> f64 {
        debug_assert_eq!(grid.len(), values.len());
        let mut acc = 0.0;
        let mut g = 0usize;
        for (i, &w) in self.weights.iter().enumerate() {
            let n = self.lo + i as u64;
            while g + 1 < grid.len() && (grid[g + 1] as u64) < n {
                g += 1;
            }
            let q = if g + 1 >= grid.len() || n <= grid[g] as u64 {
                values[g]
            } else {
                let (n0, n1) = (grid[g] as f64, grid[g + 1] as f64);
                let t = (n as f64 - n0) / (n1 - n0);
                values[g] * (1.0 - t) + values[g + 1] * t
            };
            acc += w * q;
        }
        acc
    }
}

/// The canonical probability that the event (wrap or span) has happened at
/// occupation probability `p`, with its standard error over samples:
/// `R(p) = mean_s P[Bin(N, p) ≥ n_s]` where `n_s` is sample `s`'s first-event
/// count.
pub fn crossing_probability(first_events: &[u32], n_total: u64, p: f64) -> (f64, f64) {
    let window = BinomialWindow::new(n_total, p);
    let survival = window.survival();
    let values: Vec<f64> = first_events.iter().map(|&n| survival(n as u64)).collect();
    let stats = crate::stats::MeanError::of(&values);
    (stats.mean, stats.stderr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact_binomial(n: u64, k: u64, p: f64) -> f64 {
        let ln_c = statrs::function::factorial::ln_binomial(n, k);
        (ln_c + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()).exp()
    }

    #[test]
    fn weights_match_exact_binomial() {
        for (n, p) in [
            (10u64, 0.3),
            (1000, 0.5927),
            (1_000_000, 0.0427),
            (7, 0.999),
        ] {
            let w = BinomialWindow::new(n, p);
            assert!((w.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            for (i, &x) in w.weights.iter().enumerate() {
                let k = w.lo + i as u64;
                let e = exact_binomial(n, k, p);
                // The oracle's own error dominates: ln C(n, k) ≈ ln n! is computed
                // to ~2e-16 relative, i.e. ~2e-16 · n ln n absolute in the log.
                let tol = 4e-16 * (n as f64) * (n as f64).ln().max(1.0) + 1e-13;
                assert!(
                    (x - e).abs() <= tol * e + 1e-15,
                    "n={n} p={p} k={k}: {x} vs {e}"
                );
            }
        }
    }

    #[test]
    fn edge_probabilities_are_point_masses() {
        assert_eq!(BinomialWindow::new(5, 0.0).weights, vec![1.0]);
        let w = BinomialWindow::new(5, 1.0);
        assert_eq!((w.lo, w.weights.len()), (5, 1));
    }

    #[test]
    fn survival_matches_direct_sum() {
        let w = BinomialWindow::new(50, 0.4);
        let s = w.survival();
        for k in 0..=51u64 {
            let direct: f64 = (k..=50).map(|j| exact_binomial(50, j, 0.4)).sum();
            assert!((s(k) - direct).abs() < 1e-12, "k={k}");
        }
    }

    #[test]
    fn grid_average_of_a_linear_observable_is_its_mean() {
        // Q_n = n on a coarse grid: the canonical mean is N p exactly.
        let grid: Vec<u32> = (0..=100).map(|g| g * 100).collect();
        let values: Vec<f64> = grid.iter().map(|&n| n as f64).collect();
        let w = BinomialWindow::new(10_000, 0.37);
        assert!((w.average_on_grid(&grid, &values) - 3700.0).abs() < 1e-6);
    }
}
