//! The lock of a run directory: one `ismc run` (or `ismc merge`) writes
//! into a directory at a time.
//!
//! The lock is the file `DIR/ismc.lock`, created exclusively (`O_EXCL`, so
//! two processes cannot both create it) and holding the holder's pid, host
//! and start time. It is removed when the [`RunLock`] is dropped — on
//! success, on error and on the first Ctrl-C. A process killed outright
//! leaves it behind: on the same host a lock whose pid no longer runs is
//! stale and taken over; on another host (a shared file system) the message
//! says which file to remove once that process is known to be gone.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::manifest::host_name;
use crate::error::{Error, Result};

/// The lock file's name inside a run directory.
pub const LOCK_FILE: &str = "ismc.lock";

/// A held lock on a run directory, released on drop.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock of `dir` (which must exist), or refuses with the
    /// holder's pid and host, naming `--out`.
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(LOCK_FILE);
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    let started = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
                    writeln!(f, "{} {} {started}", std::process::id(), host_name())
                        .and_then(|()| f.sync_all())
                        .map_err(|e| Error::io(&path, e))?;
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let mut words = text.split_whitespace();
                    let pid = words.next().and_then(|p| p.parse::<u32>().ok());
                    let host = words.next().unwrap_or("an unknown host").to_string();
                    let since = words.next().unwrap_or("an unknown time").to_string();
                    let stale = host == host_name()
                        && pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists());
                    if stale || (pid.is_none() && text.is_empty()) {
                        // The holder died without releasing it (or died
                        // between creating and writing it).
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    return Err(Error::invalid(
                        "--out",
                        dir.display(),
                        format!(
                            "the run directory is in use by pid {} on host {host} (since {since}); \
                             wait for that run to finish, or remove {} if it is gone",
                            pid.map_or("?".into(), |p| p.to_string()),
                            path.display()
                        ),
                    ));
                }
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Err(Error::invalid(
            "--out",
            dir.display(),
            format!("could not take the lock {}", path.display()),
        ))
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_naming_the_first_and_the_lock_is_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path()).unwrap();
        let e = RunLock::acquire(dir.path()).unwrap_err();
        let msg = e.to_string();
        assert!(e.is_user_error(), "{msg}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        assert!(!dir.path().join(LOCK_FILE).exists());
        RunLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn a_lock_left_by_a_dead_process_on_this_host_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        // No process has pid u32::MAX - 1 (above pid_max on Linux).
        std::fs::write(
            dir.path().join(LOCK_FILE),
            format!("{} {} 2026-01-01T00:00:00Z\n", u32::MAX - 1, host_name()),
        )
        .unwrap();
        RunLock::acquire(dir.path()).unwrap();
        // Held by a live process on another host: refused.
        std::fs::write(
            dir.path().join(LOCK_FILE),
            "1 elsewhere 2026-01-01T00:00:00Z\n",
        )
        .unwrap();
        let msg = RunLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            msg.contains("elsewhere") && msg.contains("ismc.lock"),
            "{msg}"
        );
    }
}
