//! Progress reporting: an observer interface that long computations call, and
//! an indicatif progress bar that implements it (drawn only on a terminal).

use std::sync::atomic::{AtomicBool, Ordering};

/// Observes the progress of a long computation measured in units of work.
/// Implementations must be cheap and thread-safe: workers call `advance`
/// concurrently.
pub trait Progress: Sync {
    /// `n` more units are finished.
    fn advance(&self, n: u64);
    /// The total number of units is now known (or changed).
    fn set_total(&self, _total: u64) {}
    /// A short description of the current phase.
    fn set_message(&self, _msg: String) {}
}

/// A progress observer that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _n: u64) {}
}

static QUIET: AtomicBool = AtomicBool::new(false);

/// Suppresses every progress bar created afterwards (the `--quiet` flag).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// A terminal progress bar with ETA. Hidden when stderr is not a terminal or
/// when [`set_quiet`] was called.
pub struct Bar(indicatif::ProgressBar);

impl Bar {
    /// A bar over `total` units, labelled `what`.
    pub fn new(total: u64, what: &str) -> Self {
        use std::io::IsTerminal;
        let bar = if QUIET.load(Ordering::Relaxed) || !std::io::stderr().is_terminal() {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new(total)
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg:>12} [{bar:40}] {pos}/{len} ({elapsed} elapsed, ETA {eta})",
            )
            .expect("static template is valid")
            .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        Bar(bar)
    }

    /// A spinner with elapsed time for work whose size is not known in
    /// advance (an optimisation that may stop early), labelled `what`;
    /// hidden like [`Bar::new`].
    pub fn spinner(what: &str) -> Self {
        use std::io::IsTerminal;
        let bar = if QUIET.load(Ordering::Relaxed) || !std::io::stderr().is_terminal() {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new_spinner()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .expect("static template is valid"),
        );
        bar.set_message(what.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Bar(bar)
    }

    /// Finishes and erases the bar.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Progress for Bar {
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn set_total(&self, total: u64) {
        self.0.set_length(total);
    }
    fn set_message(&self, msg: String) {
        self.0.set_message(msg);
    }
}
