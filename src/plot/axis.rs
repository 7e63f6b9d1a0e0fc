//! Axis ranges and tick labels shared by the figures: plain and log tick
//! labels, the tick positions of a log axis, and padded (or decade-snapped)
//! axis ranges.

/// A tick label: plain decimals with trailing zeros trimmed for moderate
/// magnitudes, scientific notation for very small or large ones. Shared with
/// the other figures of this crate.
pub(super) fn tick(v: f64) -> String {
    if v == 0.0 || (1e-3..1e4).contains(&v.abs()) {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".into()
        } else {
            s.into()
        }
    } else {
        // Four significant digits, then trimmed: 9.9999999e-5 → "1e-4".
        let s = format!("{v:.3e}");
        match s.split_once('e') {
            Some((m, e)) => format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.')),
            None => s,
        }
    }
}

/// A tick label on a log axis: the multiples 1, 2, 3 and 5 of a power of
/// ten get one (the bold ticks of [`log_ticks`]); the other multiples
/// `1..=9`, which crowd together towards the top of each decade, keep only
/// their grid line. Shared with the other figures.
pub(super) fn log_tick(v: f64) -> String {
    let mantissa = v / 10f64.powf(v.log10().floor());
    let nearest = mantissa.round();
    if (mantissa - nearest).abs() < 1e-6 && [1.0, 2.0, 3.0, 5.0, 10.0].contains(&nearest) {
        tick(v)
    } else {
        String::new()
    }
}

/// The tick positions of a log axis over `lo..hi` (data units, `0 < lo <
/// hi`): bold (labelled by [`log_tick`]) at the multiples 1, 2, 3 and 5 of
/// every power of ten in range, light (grid lines) at all multiples 1..9.
/// Beyond [`LOG_TICK_DETAIL_DECADES`] decades only the powers of ten are
/// bold. Plotters' own log axis starts its ticks at the first power of ten
/// at or above `lo`, which leaves the lowest part of a narrow range without
/// labels, and repeats each inner power of ten. Shared with the other
/// figures.
pub(super) fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let detailed = (hi / lo).log10() <= LOG_TICK_DETAIL_DECADES;
    let (mut bold, mut light) = (Vec::new(), Vec::new());
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    for e in first..=last {
        // `10^e` by parsing, not `powi`, so that ticks are the exact
        // decimal values the labels name.
        let decade: f64 = format!("1e{e}").parse().expect("a float literal");
        for m in 1..=9u32 {
            let v = f64::from(m) * decade;
            if v < lo * (1.0 - 1e-12) || v > hi * (1.0 + 1e-12) {
                continue;
            }
            light.push(v);
            if m == 1 || (detailed && [2, 3, 5].contains(&m)) {
                bold.push(v);
            }
        }
    }
    (bold, light)
}

/// Log ranges wider than this (in decades) label only their powers of ten.
const LOG_TICK_DETAIL_DECADES: f64 = 4.0;

/// `lo..hi` widened by 5 % of the span on each side; a zero span is widened
/// to ±10 % of the value (±0.5 around zero). Shared with the other figures.
pub(super) fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    let pad = if span > 0.0 {
        0.05 * span
    } else if lo != 0.0 {
        0.1 * lo.abs()
    } else {
        0.5
    };
    (lo - pad, hi + pad)
}

/// A log-axis range in decades (`log10` of the bounds): `lo..hi` padded, or
/// — when it spans less than a decade, and so may hold no labelled tick of
/// [`log_ticks`] — snapped out to the enclosing powers of ten, at least
/// one decade apart, and widened by [`SNAP_SLACK`] so that rounding in
/// `log10(10^lo)` cannot drop the end ticks. Shared with the other figures.
pub(super) fn log_decades(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = padded(lo, hi);
    if hi - lo >= 1.0 {
        return (lo, hi);
    }
    let (lo, hi) = (lo.floor(), hi.ceil());
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    };
    (lo - SNAP_SLACK, hi + SNAP_SLACK)
}

/// Slack in decades added to snapped log ranges (invisible: 1e-6 decades).
const SNAP_SLACK: f64 = 1e-6;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ranges_always_hold_a_power_of_ten() {
        // Wide ranges are only padded by 5 % of their span.
        let (lo, hi) = log_decades(-6.0, 2.0);
        assert!((lo + 6.4).abs() < 1e-12 && (hi - 2.4).abs() < 1e-12);
        // Narrow ones snap out to whole decades.
        let snapped = |r: (f64, f64), lo: f64, hi: f64| r == (lo - SNAP_SLACK, hi + SNAP_SLACK);
        assert!(snapped(log_decades(0.45, 0.5), 0.0, 1.0));
        assert!(snapped(log_decades(-1.2, -0.6), -2.0, 0.0));
        // A single value 1 (log10 1 = 0, a zero span padded by ±0.5): one
        // full decade always holds a power of ten, so it is kept ...
        assert_eq!(log_decades(0.0, 0.0), (-0.5, 0.5));
        // ... while 100 alone (padded by ±10 % to 1.8..2.2) snaps out.
        assert!(snapped(log_decades(2.0, 2.0), 1.0, 3.0));
    }

    #[test]
    fn log_ticks_cover_the_whole_range_once() {
        // 2.4e-3 .. 3.9e-2: labelled from 3e-3 on, not only from 1e-2 on.
        let (bold, light) = log_ticks(2.4e-3, 3.9e-2);
        assert_eq!(bold, vec![3e-3, 5e-3, 1e-2, 2e-2, 3e-2]);
        assert_eq!(light.len(), 7 + 3);
        assert!(light.windows(2).all(|w| w[0] < w[1]), "{light:?}");
        // Ends that are ticks are kept; wide ranges label powers only.
        assert_eq!(
            log_ticks(1.0, 100.0).0,
            vec![1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0]
        );
        assert_eq!(
            log_ticks(1e-6, 1e2).0,
            vec![1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0]
        );
        // Every bold tick gets a label, and only those.
        assert!(bold.iter().all(|&v| !log_tick(v).is_empty()));
        assert!(light
            .iter()
            .filter(|v| !bold.contains(v))
            .all(|&v| log_tick(v).is_empty()));
    }

    #[test]
    fn tick_labels() {
        assert_eq!(tick(2.0), "2");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(-0.0), "0");
        assert_eq!(tick(0.5927), "0.5927");
        assert_eq!(tick(1e-6), "1e-6");
        assert_eq!(tick(1e5), "1e5");
        assert_eq!(log_tick(0.3), "0.3");
        assert_eq!(log_tick(0.7), "");
        assert_eq!(log_tick(1e-6), "1e-6");
        assert_eq!(log_tick(5e-6), "5e-6");
        assert_eq!(log_tick(9.0), "");
        assert_eq!(tick(9.9999999e-5), "1e-4");
        assert_eq!(tick(2.5e-7), "2.5e-7");
    }
}
