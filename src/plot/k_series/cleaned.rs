//! The data a k-series figure draws, cleaned of points it cannot show, and
//! the axis ranges that cover it.

use super::KSeriesFigure;
use crate::plot::axis::{log_decades, padded};

/// The data the figure draws, cleaned, in data units.
pub(super) struct Cleaned {
    /// Per series: `(x, y, y_low, y_high)`.
    pub(super) series: Vec<Vec<(f64, f64, f64, f64)>>,
    /// Per reference: `(x, y)`.
    pub(super) references: Vec<Vec<(f64, f64)>>,
}

impl KSeriesFigure {
    pub(super) fn cleaned(&self) -> Cleaned {
        let shown = |x: f64, y: f64| x.is_finite() && y.is_finite() && (!self.log_y || y > 0.0);
        let series = self
            .series
            .iter()
            .map(|s| {
                s.points
                    .iter()
                    .enumerate()
                    .filter(|&(_, &(x, y, _))| shown(x, y))
                    .map(
                        |(i, &(x, y, err))| match s.intervals.as_ref().and_then(|v| v.get(i)) {
                            Some(&(lo, hi)) if lo.is_finite() && hi.is_finite() => {
                                (x, y, lo.min(y), hi.max(y))
                            }
                            _ => {
                                let err = if err.is_finite() { err.max(0.0) } else { 0.0 };
                                (x, y, y - err, y + err)
                            }
                        },
                    )
                    .collect()
            })
            .collect();
        let references = self
            .references
            .iter()
            .map(|r| {
                r.points
                    .iter()
                    .copied()
                    .filter(|&(x, y)| shown(x, y))
                    .collect()
            })
            .collect();
        Cleaned { series, references }
    }

    /// Axis ranges `(x, y)` covering all cleaned data (y in log10 units when
    /// `log_y`), padded; defaults when there is no data.
    pub(super) fn ranges(&self, data: &Cleaned) -> ((f64, f64), (f64, f64)) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for s in &data.series {
            for &(x, y, lo, hi) in s {
                xs.push(x);
                ys.extend([y, hi]);
                if !self.log_y || lo > 0.0 {
                    ys.push(lo);
                }
            }
        }
        for r in &data.references {
            for &(x, y) in r {
                xs.push(x);
                ys.push(y);
            }
        }
        let to = |y: f64| if self.log_y { y.log10() } else { y };
        let bounds = |v: &[f64]| {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (lo, hi)
        };
        let (x_lo, x_hi) = bounds(&xs);
        let ys: Vec<f64> = ys.into_iter().map(to).filter(|y| y.is_finite()).collect();
        let (y_lo, y_hi) = bounds(&ys);
        let x = if x_lo.is_finite() {
            padded(x_lo, x_hi)
        } else {
            (0.0, 1.0)
        };
        let y = if y_lo.is_finite() && self.log_y {
            log_decades(y_lo, y_hi)
        } else if y_lo.is_finite() {
            padded(y_lo, y_hi)
        } else if self.log_y {
            (-1.0, 1.0)
        } else {
            (0.0, 1.0)
        };
        (x, y)
    }
}
