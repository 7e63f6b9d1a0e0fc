//! The study's statistics: records grouped by (model, pair kind), bootstrap
//! intervals per `k` beside both nulls, the decay fit of `g(k)`, the bypass
//! match, the finite-size extrapolation, and the lattice reference.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    nested_bounds, FssAtK, FssSeries, GroupAtK, GroupSummary, MeanSe, PairOutcome, SliceSummary,
};
use crate::bridge::measure::SliceRecord;
use crate::percolation::Kind;
use crate::rng::derive_seed;
use crate::scaling::fss::{extrapolate, SizePoint};
use crate::stats::bootstrap::{bootstrap_interval, mean, median, Interval, DEFAULT_RESAMPLES};
use crate::stats::decay::fit_decays;
use crate::stats::MeanError;

/// p_c^site(k): published values (exact 1 for k = 1), the series beyond.
pub fn lattice_pc_site(k: usize) -> f64 {
    crate::scaling::literature::published(k, Kind::Site)
        .map(|p| p.value)
        .unwrap_or_else(|| crate::scaling::literature::series(k, Kind::Site))
}

/// Whether a record's pair enters the gap statistics.
pub fn above_floor(r: &SliceRecord, floor: f64) -> bool {
    let tau0 = f64::from(r.tau0);
    let gap = f64::from(r.linear_barrier) - tau0;
    gap > 0.0 && gap > floor * tau0
}

fn interval(values: &[f64], stat: fn(&[f64]) -> f64, seed: u64) -> Option<Interval> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    (!v.is_empty()).then(|| bootstrap_interval(&v, stat, DEFAULT_RESAMPLES, 0.95, seed))
}

fn fss_series(k: usize, by_side: &BTreeMap<usize, Vec<f64>>) -> FssSeries {
    let points: Vec<(usize, f64, f64)> = by_side
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(&l, v)| {
            let m = MeanError::of(v);
            (l, m.mean, m.stderr)
        })
        .collect();
    let sizes: Vec<SizePoint> = points
        .iter()
        .map(|&(side, p, s)| SizePoint {
            side,
            samples: by_side[&side].len() as u64,
            p_av: p,
            stderr: s,
            seconds: 0.0,
        })
        .collect();
    let fit = (sizes.len() >= 3 && sizes.iter().all(|s| s.stderr > 0.0))
        .then(|| extrapolate(k, &sizes).ok())
        .flatten();
    FssSeries {
        points,
        extrapolated: fit.as_ref().map(|f| f.params[0]),
        extrapolated_stderr: fit.as_ref().map(|f| f.stderr[0]),
        chi2_dof: fit.as_ref().map(|f| (f.chi2, f.dof)),
    }
}

/// Summarises the study (order-independent): `records` from the k scan,
/// `fss` from the scaling scan, `pairs` the pairs' path barriers. Barrier
/// bounds, gap fractions and the bypass match use the nested bounds of
/// [`nested_bounds`]; every other observable is the record's own. Bootstrap
/// seeds derive from `seed` and the group's position in sorted order.
pub fn summarise(
    records: &[SliceRecord],
    fss: &[SliceRecord],
    pairs: &[PairOutcome],
    gap_floor: f64,
    seed: u64,
) -> SliceSummary {
    type Key = (String, String);
    let records = nested_bounds(records);
    let mut by_group: BTreeMap<Key, Vec<&SliceRecord>> = BTreeMap::new();
    for r in &records {
        by_group
            .entry((r.model.clone(), r.pair_kind.clone()))
            .or_default()
            .push(r);
    }
    let mut pair_rows: BTreeMap<Key, Vec<&PairOutcome>> = BTreeMap::new();
    for p in pairs {
        pair_rows
            .entry((p.model.clone(), p.pair_kind.clone()))
            .or_default()
            .push(p);
    }
    let mut groups = Vec::new();
    for (gi, ((model, kind), recs)) in by_group.iter().enumerate() {
        let gseed = |tag: u64| derive_seed(seed, &[gi as u64, tag]);
        let prs = pair_rows
            .get(&(model.clone(), kind.clone()))
            .cloned()
            .unwrap_or_default();
        let bypass: BTreeMap<usize, f64> = prs.iter().map(|p| (p.pair, p.bypass_barrier)).collect();
        let ks: BTreeSet<usize> = recs.iter().map(|r| r.k).collect();
        let pair_ids: BTreeSet<usize> = recs.iter().map(|r| r.pair).collect();
        let above: BTreeSet<usize> = recs
            .iter()
            .filter(|r| above_floor(r, gap_floor))
            .map(|r| r.pair)
            .collect();
        let mut by_k = BTreeMap::new();
        for (ki, &k) in ks.iter().enumerate() {
            let at: Vec<&SliceRecord> = recs.iter().filter(|r| r.k == k).copied().collect();
            let col = |f: &dyn Fn(&SliceRecord) -> Option<f64>| -> Vec<f64> {
                at.iter()
                    .filter_map(|r| f(r))
                    .filter(|x| x.is_finite())
                    .collect()
            };
            let s = |tag: u64| gseed(1000 * ki as u64 + tag);
            let gaps = |f: &dyn Fn(&SliceRecord) -> Option<f64>| -> Vec<f64> {
                at.iter()
                    .filter(|r| above.contains(&r.pair))
                    .filter_map(|r| f(r))
                    .collect()
            };
            let matched = at
                .iter()
                .filter(|r| {
                    bypass
                        .get(&r.pair)
                        .is_some_and(|&b| f64::from(r.barrier_upper) <= b)
                })
                .count();
            by_k.insert(
                k,
                GroupAtK {
                    side: at[0].side,
                    pairs: at.len(),
                    exact: at.iter().filter(|r| r.minimax_barrier.is_some()).count(),
                    p_span: interval(&col(&|r| r.p_span), mean, s(1)),
                    p_span_any: interval(&col(&|r| r.p_span_any), mean, s(2)),
                    p_span_null_iid: MeanSe::of(&col(&|r| r.p_span_null_iid)),
                    p_span_surrogate: interval(&col(&|r| r.p_span_surrogate), mean, s(3)),
                    span_ratio_iid: interval(
                        &col(&|r| Some(r.p_span? / r.p_span_null_iid?)),
                        median,
                        s(9),
                    ),
                    span_ratio_surrogate: interval(
                        &col(&|r| Some(r.p_span? / r.p_span_surrogate?)),
                        median,
                        s(10),
                    ),
                    p_star_pinned: interval(&col(&|r| r.p_star_pinned), median, s(4)),
                    p_star_null: MeanSe::of(&col(&|r| r.p_star_null)),
                    p_star_surrogate: interval(&col(&|r| r.p_star_surrogate), median, s(5)),
                    gap_fraction: interval(&gaps(&|r| r.gap_fraction), median, s(6)),
                    gap_fraction_lower: interval(&gaps(&|r| r.gap_fraction_lower), median, s(7)),
                    barrier_upper: interval(
                        &col(&|r| Some(f64::from(r.barrier_upper))),
                        median,
                        s(8),
                    ),
                    matches_bypass: matched as f64 / at.len() as f64,
                },
            );
        }
        // g(k) rows per pair above the floor, for the decay fit.
        let kv: Vec<usize> = ks.iter().copied().collect();
        let rows: Vec<Vec<Option<f64>>> = above
            .iter()
            .map(|&p| {
                kv.iter()
                    .map(|&k| {
                        recs.iter()
                            .find(|r| r.pair == p && r.k == k)
                            .and_then(|r| r.gap_fraction)
                    })
                    .collect()
            })
            .collect();
        let kf: Vec<f64> = kv.iter().map(|&k| k as f64).collect();
        let gap_decay = fit_decays(&kf, &rows, DEFAULT_RESAMPLES / 4, gseed(1));
        // Smallest k matching the bypass, per pair (beyond the scan: MAX).
        let mut k_match: Vec<usize> = pair_ids
            .iter()
            .map(|&p| {
                let b = bypass.get(&p).copied().unwrap_or(f64::NEG_INFINITY);
                kv.iter()
                    .copied()
                    .find(|&k| {
                        recs.iter()
                            .any(|r| r.pair == p && r.k == k && f64::from(r.barrier_upper) <= b)
                    })
                    .unwrap_or(usize::MAX)
            })
            .collect();
        k_match.sort_unstable();
        let k_match_pairs = k_match.iter().filter(|&&k| k != usize::MAX).count();
        let k_match_median = k_match
            .get((k_match.len().saturating_sub(1)) / 2)
            .copied()
            .filter(|&k| k != usize::MAX);
        // Finite-size scaling at fixed k over nested sides.
        let mut fss_k: BTreeMap<usize, [BTreeMap<usize, Vec<f64>>; 3]> = BTreeMap::new();
        for r in fss
            .iter()
            .filter(|r| &r.model == model && &r.pair_kind == kind)
        {
            let e = fss_k.entry(r.k).or_default();
            for (i, v) in [r.p_span, r.p_span_null_iid, r.p_span_surrogate]
                .into_iter()
                .enumerate()
            {
                if let Some(v) = v.filter(|v| v.is_finite()) {
                    e[i].entry(r.side).or_default().push(v);
                }
            }
        }
        let fss_summary = fss_k
            .iter()
            .map(|(&k, [f, n, s])| {
                (
                    k,
                    FssAtK {
                        field: fss_series(k, f),
                        null_iid: fss_series(k, n),
                        surrogate: fss_series(k, s),
                    },
                )
            })
            .collect();
        let lin: Vec<f64> = prs.iter().map(|p| p.linear_barrier).collect();
        let byp: Vec<f64> = prs.iter().map(|p| p.bypass_barrier).collect();
        let nan = Interval {
            estimate: f64::NAN,
            low: f64::NAN,
            high: f64::NAN,
            n: 0,
        };
        groups.push(GroupSummary {
            model: model.clone(),
            pair_kind: kind.clone(),
            pairs: pair_ids.len(),
            pairs_above_floor: above.len(),
            linear_barrier: interval(&lin, median, gseed(2)).unwrap_or(nan),
            bypass_barrier: interval(&byp, median, gseed(3)).unwrap_or(nan),
            by_k,
            gap_decay,
            k_match_median,
            k_match_pairs,
            fss: fss_summary,
        });
    }
    let lattice = records
        .iter()
        .chain(fss)
        .map(|r| r.k)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|k| (k, lattice_pc_site(k)))
        .collect();
    SliceSummary {
        gap_floor,
        groups,
        lattice_pc_site: lattice,
    }
}
