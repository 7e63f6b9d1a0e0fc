//! Reading downloaded archives into memory: gzipped tarballs (npm packages
//! and PyPI source distributions), zip files (PyPI wheels, through the `zip`
//! crate) and Debian packages (extracted by `dpkg-deb`), plus the pinned
//! `pip download` arguments that make a binary wheel the same file on every
//! machine.
//!
//! Every reader returns the archive's regular files by their path inside it;
//! a truncated or corrupt archive is an error naming the file, never a
//! panic. [`take_pinned`] checks a member's sha256 against the value pinned
//! in the source.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::assets::sha256_hex;
use crate::error::{Error, Result};

/// Arguments that pin the wheel `pip download` chooses: CPython 3.11 on
/// manylinux 2.28 x86-64 (any platform can download it; only the files
/// inside are used, never the compiled code). A wheel with compiled code
/// exists once per platform and Python version, each with its own sha256.
pub const WHEEL_PLATFORM_ARGS: [&str; 10] = [
    "--only-binary",
    ":all:",
    "--platform",
    "manylinux_2_28_x86_64",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
    "--abi",
    "cp311",
];

/// The single `.tar.gz` or `.whl` in `dir` (what `pip download` saved; pip
/// names it after the package's own spelling).
pub fn single_archive(dir: &Path) -> Result<PathBuf> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = e.map_err(|e| Error::io(dir, e))?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".tar.gz") || name.ends_with(".whl") {
            found.push(p);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        n => Err(Error::Tool {
            command: "pip download".into(),
            reason: format!("saved {n} archives in {}, expected one", dir.display()),
        }),
    }
}

/// The regular files of a `.tar.gz`, by path.
pub fn untar(archive: &[u8], path: &Path) -> Result<HashMap<String, Vec<u8>>> {
    let bad = |e: std::io::Error| Error::corrupt(path, format!("not a readable .tar.gz: {e}"));
    let mut out = HashMap::new();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    for entry in ar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let mut buf = Vec::new();
        entry.read_to_end(&mut buf).map_err(bad)?;
        out.insert(name, buf);
    }
    Ok(out)
}

/// The regular files of a zip archive (a wheel), by path. The `zip` crate
/// checks each entry's CRC-32 while reading it.
pub fn unzip(bytes: &[u8], path: &Path) -> Result<HashMap<String, Vec<u8>>> {
    let bad = |e: &dyn std::fmt::Display| Error::corrupt(path, format!("not a readable zip: {e}"));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| bad(&e))?;
    let mut out = HashMap::with_capacity(zip.len().min(1 << 16));
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| bad(&e))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().map_err(|e| bad(&e))?.into_owned();
        // The declared size is a hint only, capped by the archive's length.
        let hint = usize::try_from(entry.size()).unwrap_or(0).min(bytes.len());
        let mut buf = Vec::with_capacity(hint);
        entry
            .read_to_end(&mut buf)
            .map_err(|e| bad(&format!("{name}: {e}")))?;
        out.insert(name, buf);
    }
    Ok(out)
}

/// Extracts the Debian package `deb` into `root` with `dpkg-deb -x` and
/// reads the members `wanted` (paths relative to `/`).
pub fn extract_deb(deb: &Path, root: &Path, wanted: &[String]) -> Result<HashMap<String, Vec<u8>>> {
    let cmd = format!("dpkg-deb -x {} {}", deb.display(), root.display());
    match Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(root)
        .status()
    {
        Ok(s) if s.success() => {}
        Ok(s) => {
            return Err(Error::Tool {
                command: cmd,
                reason: s.to_string(),
            })
        }
        Err(e) => {
            return Err(Error::Tool {
                command: cmd,
                reason: e.to_string(),
            })
        }
    }
    let mut out = HashMap::new();
    for rel in wanted {
        let p = root.join(rel);
        let bytes =
            std::fs::read(&p).map_err(|_| Error::corrupt(deb, format!("package lacks {rel}")))?;
        out.insert(rel.clone(), bytes);
    }
    Ok(out)
}

/// The archive member `name`, or an error naming it.
pub fn take<'a>(files: &'a HashMap<String, Vec<u8>>, name: &str) -> Result<&'a [u8]> {
    files
        .get(name)
        .map(Vec::as_slice)
        .ok_or_else(|| Error::corrupt(name, "missing from the downloaded archive"))
}

/// The archive member `rel`, after checking its pinned sha256.
pub fn take_pinned<'a>(
    files: &'a HashMap<String, Vec<u8>>,
    rel: &str,
    sha256: &str,
) -> Result<&'a [u8]> {
    let b = take(files, rel)?;
    let found = sha256_hex(b);
    if found != sha256 {
        return Err(Error::Checksum {
            path: rel.into(),
            expected: sha256.into(),
            found,
        });
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `python3 -c "import zipfile; z = zipfile.ZipFile('t.zip', 'w');
    /// z.writestr('a/x.txt', 'hello ' * 20, zipfile.ZIP_DEFLATED);
    /// z.writestr('b.bin', b'\x00\x01', zipfile.ZIP_STORED); z.close()"`,
    /// as bytes (Python 3.11).
    const SAMPLE: &[u8] = include_bytes!("../../assets/fixtures/tiny.zip");

    #[test]
    fn reads_deflated_and_stored_entries() {
        let files = unzip(SAMPLE, Path::new("t.zip")).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files["a/x.txt"], "hello ".repeat(20).as_bytes());
        assert_eq!(files["b.bin"], [0u8, 1]);
    }

    #[test]
    fn corrupt_archives_are_errors_naming_the_file() {
        for cut in [0, 10, SAMPLE.len() / 2, SAMPLE.len() - 1] {
            let e = unzip(&SAMPLE[..cut], Path::new("t.zip")).unwrap_err();
            assert!(
                e.is_user_error() && e.to_string().contains("t.zip"),
                "cut {cut}: {e}"
            );
        }
        let mut flipped = SAMPLE.to_vec();
        // Inside the deflated data of the first entry (after its 30-byte
        // local header and 7-byte name): the CRC check or inflate fails.
        flipped[40] ^= 0xff;
        assert!(unzip(&flipped, Path::new("t.zip")).is_err());
    }

    #[test]
    fn a_pinned_member_with_another_hash_is_refused() {
        let files = HashMap::from([("x".to_string(), b"abc".to_vec())]);
        assert!(take_pinned(&files, "x", &sha256_hex(b"abc")).is_ok());
        assert!(matches!(
            take_pinned(&files, "x", &sha256_hex(b"abd")),
            Err(Error::Checksum { .. })
        ));
        assert!(take(&files, "y").unwrap_err().to_string().contains("y"));
    }
}
