//! Published percolation thresholds of Z^d and the 1/(2d−1) series.
//!
//! The table is `theory/percolation-thresholds.csv`, compiled into the binary:
//! best published values for site and bond percolation, d = 2..13, with their
//! uncertainties and sources (Jacobsen 2015; Xu et al. 2014; Wang et al. 2013;
//! Mertens & Moore 2018). Every estimate ismc reports carries its z-score
//! against this table ([`z_score`]).

use crate::percolation::Kind;

/// The literature table as shipped in `theory/`.
pub const TABLE_CSV: &str = include_str!("../../theory/percolation-thresholds.csv");

/// One published threshold.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Published {
    /// Lattice dimension d of Z^d.
    pub dim: usize,
    /// Percolation kind, site or bond.
    pub kind: Kind,
    /// Published threshold p_c.
    pub value: f64,
    /// Published one-sigma uncertainty (absolute).
    pub err: f64,
    /// Source key (see the CSV header for references).
    pub source: String,
}

/// All published thresholds in the table.
pub fn table() -> Vec<Published> {
    TABLE_CSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("dim,") && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Published {
                dim: f[0].parse().expect("table dim"),
                kind: f[1].parse().expect("table kind"),
                value: f[2].parse().expect("table value"),
                err: f[3].parse().expect("table err"),
                source: f[4].to_string(),
            }
        })
        .collect()
}

/// The published threshold for `dim` and `kind`, if tabulated. For d = 1,
/// `p_c = 1` exactly.
pub fn published(dim: usize, kind: Kind) -> Option<Published> {
    if dim == 1 {
        return Some(Published {
            dim,
            kind,
            value: 1.0,
            err: 0.0,
            source: "exact".into(),
        });
    }
    table().into_iter().find(|p| p.dim == dim && p.kind == kind)
}

/// `(estimate − published) / sqrt(stderr² + published_err²)`.
pub fn z_score(estimate: f64, stderr: f64, published: &Published) -> f64 {
    (estimate - published.value) / (stderr * stderr + published.err * published.err).sqrt()
}

/// The high-dimensional series in `σ = 2d − 1` (Gaunt, Ruskin & Sykes 1976;
/// Mertens & Moore 2018):
///
/// * site: `σ⁻¹ + (3/2)σ⁻² + (15/4)σ⁻³ + (83/4)σ⁻⁴ + (6577/48)σ⁻⁵ + (119077/96)σ⁻⁶`
/// * bond: `σ⁻¹ + (5/2)σ⁻³ + (15/2)σ⁻⁴ + 57σ⁻⁵ + (4855/12)σ⁻⁶`
///
/// The series is asymptotic: useful for large d, poor below d ≈ 6.
pub fn series(dim: usize, kind: Kind) -> f64 {
    series_real(dim as f64, kind)
}

/// [`series`] at a real-valued dimension (for drawing smooth curves).
pub fn series_real(dim: f64, kind: Kind) -> f64 {
    let s = 1.0 / (2.0 * dim - 1.0);
    let coeffs: [f64; 6] = match kind {
        Kind::Site => [1.0, 1.5, 3.75, 83.0 / 4.0, 6577.0 / 48.0, 119_077.0 / 96.0],
        Kind::Bond => [1.0, 0.0, 2.5, 7.5, 57.0, 4855.0 / 12.0],
    };
    coeffs
        .iter()
        .enumerate()
        .map(|(i, c)| c * s.powi(i as i32 + 1))
        .sum()
}

/// The correlation-length exponent ν of percolation in dimension `dim`
/// (ν = 4/3 in 2-D, 0.8764 in 3-D, 0.6845 in 4-D, 0.5723 in 5-D, 1/2 from the
/// upper critical dimension 6 on).
pub fn nu(dim: usize) -> f64 {
    match dim {
        0 | 1 => 1.0,
        2 => 4.0 / 3.0,
        3 => 0.8764,
        4 => 0.6845,
        5 => 0.5723,
        _ => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_site_and_bond_for_2_to_13() {
        for d in 2..=13 {
            for k in [Kind::Site, Kind::Bond] {
                let p = published(d, k).unwrap_or_else(|| panic!("missing d={d} {k}"));
                assert!(p.value > 0.0 && p.value < 1.0 && p.err >= 0.0);
            }
        }
        assert_eq!(published(2, Kind::Bond).unwrap().value, 0.5);
    }

    #[test]
    fn series_approaches_the_published_values_in_high_dimension() {
        // The truncation error is O(σ^-7); at d = 13 (σ = 25) that is ~1e-8
        // times the leading coefficients, so agreement to 1e-5 is expected.
        for k in [Kind::Site, Kind::Bond] {
            let p = published(13, k).unwrap().value;
            assert!(
                (series(13, k) - p).abs() < 1e-5,
                "{k}: {} vs {p}",
                series(13, k)
            );
        }
        // and the thresholds fall monotonically with d
        let v: Vec<f64> = (2..=13)
            .map(|d| published(d, Kind::Site).unwrap().value)
            .collect();
        assert!(v.windows(2).all(|w| w[1] < w[0]));
    }

    #[test]
    fn z_score_combines_both_errors() {
        let p = Published {
            dim: 2,
            kind: Kind::Site,
            value: 0.5,
            err: 3e-4,
            source: "x".into(),
        };
        assert!((z_score(0.5005, 4e-4, &p) - 1.0).abs() < 1e-12);
    }
}
