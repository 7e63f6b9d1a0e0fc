//! Memory budgeting: estimate before allocating, refuse what would not fit.

use crate::error::{Error, Result};

/// Bytes a computation may allocate: `ISMC_MEMORY_LIMIT` (bytes) if set,
/// otherwise 80 % of the memory the kernel reports as available.
pub fn limit_bytes() -> u64 {
    if let Some(v) = std::env::var("ISMC_MEMORY_LIMIT")
        .ok()
        .and_then(|v| v.trim().parse().ok())
    {
        return v;
    }
    let available = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("MemAvailable:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    available.map_or(8 << 30, |b| b / 5 * 4)
}

/// Errors with [`Error::TooLarge`] if `needed_bytes` exceeds [`limit_bytes`].
pub fn ensure_fits(
    what: impl Into<String>,
    needed_bytes: u64,
    hint: impl Into<String>,
) -> Result<()> {
    let limit = limit_bytes();
    if needed_bytes > limit {
        return Err(Error::TooLarge {
            what: what.into(),
            needed_bytes,
            limit_bytes: limit,
            hint: hint.into(),
        });
    }
    Ok(())
}
