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

/// Checks that `ISMC_MEMORY_LIMIT`, when set, is a whole number of bytes
/// (e.g. `8000000000`), so that a typo is refused rather than silently
/// replaced by the default limit.
pub fn check_limit_env() -> Result<()> {
    match std::env::var("ISMC_MEMORY_LIMIT") {
        Err(std::env::VarError::NotPresent) => Ok(()),
        Err(std::env::VarError::NotUnicode(v)) => Err(Error::invalid(
            "ISMC_MEMORY_LIMIT",
            v.to_string_lossy(),
            "expected a whole number of bytes, e.g. 8000000000",
        )),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(b) if b > 0 => Ok(()),
            _ => Err(Error::invalid(
                "ISMC_MEMORY_LIMIT",
                &v,
                "expected a whole number of bytes above 0, e.g. 8000000000",
            )),
        },
    }
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

/// Errors with [`Error::TooLarge`] if `count` items of `bytes_each` bytes
/// (the product taken without overflow: an overflowing one is refused too)
/// exceed [`limit_bytes`]. Call it before allocating an array whose length
/// is a user's number.
pub fn ensure_array_fits(
    what: impl Into<String>,
    count: u64,
    bytes_each: u64,
    hint: impl Into<String>,
) -> Result<()> {
    ensure_fits(what, count.saturating_mul(bytes_each), hint)
}

/// The peak resident size of this process so far (`VmHWM` of
/// `/proc/self/status`), bytes; `None` off Linux.
pub fn resident_peak_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Keeps large freed blocks in the process instead of returning them to the
/// kernel after every tensor operation.
///
/// glibc serves allocations above its mmap threshold (128 KiB at first,
/// adapted upwards as blocks are freed) with a fresh `mmap`, and trims the
/// heap top once more than 128 KiB of it is free. Network passes allocate
/// and free batch-sized buffers (a LeNet5 batch of 256 digits is 0.8 MB of
/// input and several MB of activations) many times per step, so each one
/// pays page faults and zeroing again. Raising the mmap threshold to 64 MiB
/// and the trim threshold to 256 MiB lets those buffers be reused: FGSM on
/// LeNet5 goes from 1,790 to 3,020 inputs/s and PGD-40 from 42 to 70 inputs/s
/// (`cargo bench --bench inputspace`, 2 threads). Blocks above 64 MiB
/// (lattices, dense slices) are still mapped and unmapped directly.
///
/// Call once at start-up, before threads allocate. A no-op off glibc, and
/// when the user set `MALLOC_MMAP_THRESHOLD_` or `MALLOC_TRIM_THRESHOLD_`
/// (their settings win).
#[allow(unsafe_code)]
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const MMAP_THRESHOLD: libc::c_int = 64 << 20;
        const TRIM_THRESHOLD: libc::c_int = 256 << 20;
        let user_set = std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some()
            || std::env::var_os("MALLOC_TRIM_THRESHOLD_").is_some();
        if !user_set {
            // SAFETY: mallopt only changes allocator parameters; it is
            // called before other threads exist in the binaries and benches.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
                libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
            }
        }
    }
}

/// Asks the CPU to bring the cache line holding `*p` into its caches,
/// without reading it: a hint that changes no result.
///
/// Newman–Ziff sweeps visit sites in a random order, so the 2d neighbours
/// of every new site are cache misses. The order is known in advance, so a
/// sweep prefetches the neighbours of the site it will occupy a few steps
/// later and overlaps those misses with the current work.
#[inline(always)]
#[allow(unsafe_code)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults and never reads or
    // writes memory as seen by the program, whatever address it is given.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
