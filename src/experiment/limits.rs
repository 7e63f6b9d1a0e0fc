//! Limits every configuration obeys, whatever its kind.
//!
//! Each study's `validate` checks its own fields' ranges and cross-field
//! consistency. Two rules hold for every field of every study, and are
//! checked here once, on the canonical JSON form of the `[params]` table,
//! before any study code sees the numbers:
//!
//! - **Counts are bounded.** No whole number in a configuration may exceed
//!   [`MAX_COUNT`] (10⁹), except seeds, which are any `u64`. A count of
//!   2⁶³ − 1 would otherwise reach `Vec::with_capacity` and overflow, and one
//!   of 10¹² would reach the allocator; 10⁹ is far beyond every study's use
//!   (the committed configurations stay below 10⁵), and what a smaller count
//!   would allocate is checked against the memory limit where it is used.
//! - **Lists hold distinct entries.** `dims = [2, 2]` or a repeated model
//!   would compute the same units twice under one id; every list parameter
//!   but a shape is a set, so a repeat is refused naming the field and the
//!   entry.

use serde_json::Value;

use crate::error::{Error, Result};

/// The largest whole number a configuration field may hold (seeds aside).
pub const MAX_COUNT: u64 = 1_000_000_000;

/// The largest number of units one run may have: each is a file under
/// `units/`, so a run of more would drown the file system before it
/// computed anything.
pub const MAX_UNITS: usize = 1_000_000;

/// Keys whose values are seeds: any `u64` is allowed there.
const SEED_KEYS: [&str; 2] = ["seed", "seeds"];

/// Keys whose lists are tuples, not sets: a shape such as `[3, 32, 32]`
/// may repeat an entry.
const TUPLE_KEYS: [&str; 4] = ["input_shape", "shape", "widths", "channels"];

/// Checks the rules above on `params` (the serialised `[params]` table),
/// naming a violating field as `prefix.path.to.field`.
pub fn check(prefix: &str, params: &Value) -> Result<()> {
    walk(prefix, params, false, false)
}

fn walk(path: &str, value: &Value, is_seed: bool, is_tuple: bool) -> Result<()> {
    match value {
        Value::Number(n) => {
            if is_seed {
                return Ok(());
            }
            let too_big = match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => u > MAX_COUNT,
                (None, Some(i)) => i.unsigned_abs() > MAX_COUNT,
                (None, None) => false, // a float: each study checks its range
            };
            if too_big {
                return Err(Error::invalid(
                    path,
                    n,
                    format!("expected a count of at most {MAX_COUNT} (10^9)"),
                ));
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(&format!("{path}[{i}]"), item, is_seed, false)?;
                let earlier = items[..i].iter().position(|e| e == item);
                if let (false, Some(j)) = (is_tuple, earlier) {
                    return Err(Error::invalid(
                        path,
                        item,
                        format!(
                            "entries {j} and {i} are the same; each entry of a list is computed once, so list it once"
                        ),
                    ));
                }
            }
            Ok(())
        }
        Value::Object(fields) => {
            for (key, v) in fields {
                let key = key.as_str();
                walk(
                    &format!("{path}.{key}"),
                    v,
                    SEED_KEYS.contains(&key),
                    TUPLE_KEYS.contains(&key),
                )?;
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

/// Refuses a unit list longer than [`MAX_UNITS`].
pub fn check_unit_count(count: usize) -> Result<()> {
    if count > MAX_UNITS {
        return Err(Error::invalid(
            "units",
            count,
            format!("a run may have at most {MAX_UNITS} units; raise the work per unit or split the configuration"),
        ));
    }
    Ok(())
}

/// Refuses a study whose units — one per combination of the given list
/// lengths and counts — would number more than [`MAX_UNITS`], naming
/// `field` (the count to lower), before the unit list is built.
pub fn check_units_product(field: &str, value: usize, factors: &[usize]) -> Result<()> {
    let units = factors
        .iter()
        .try_fold(value as u64, |acc, &f| acc.checked_mul(f as u64))
        .unwrap_or(u64::MAX);
    if units > MAX_UNITS as u64 {
        return Err(Error::invalid(
            field,
            value,
            format!("this makes {units} units, more than a run may have ({MAX_UNITS})"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_huge_count_is_refused_naming_its_path() {
        let e = check("params", &json!({"bypass": {"points": u64::MAX / 2}})).unwrap_err();
        assert!(e.is_user_error());
        assert!(e.to_string().contains("params.bypass.points"), "{e}");
        check("params", &json!({"bypass": {"points": MAX_COUNT}})).unwrap();
    }

    #[test]
    fn seeds_may_be_any_u64() {
        check("params", &json!({"seed": u64::MAX, "seeds": [u64::MAX, 1]})).unwrap();
    }

    #[test]
    fn a_repeated_list_entry_is_refused_naming_the_field() {
        let e = check("params", &json!({"dims": [2, 3, 2]})).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("params.dims") && msg.contains("0 and 2"),
            "{msg}"
        );
        let e = check("params", &json!({"photos": [{"a": 1}, {"a": 1}]})).unwrap_err();
        assert!(e.to_string().contains("params.photos"), "{e}");
        check(
            "params",
            &json!({"dims": [2, 3], "photos": [{"a": 1}, {"a": 2}]}),
        )
        .unwrap();
    }

    #[test]
    fn floats_are_left_to_the_study() {
        check("params", &json!({"eps": 1e300})).unwrap();
    }

    #[test]
    fn too_many_units_are_refused() {
        assert!(check_unit_count(MAX_UNITS).is_ok());
        assert!(check_unit_count(MAX_UNITS + 1).unwrap_err().is_user_error());
    }
}
