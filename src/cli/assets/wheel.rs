//! Python wheels (zip archives) for `ismc assets fetch`: the pinned `pip
//! download` arguments of a binary wheel, and a small zip reader.
//!
//! A wheel with compiled code (scikit-image) exists once per platform and
//! Python version, each with its own sha256; pinning the platform, Python
//! version, implementation and ABI makes `pip download` pick the same file
//! on any machine, whatever Python runs pip.
//!
//! The zip reader walks the central directory (end-of-central-directory
//! record, then one header per entry), reads each local header to find the
//! data, inflates `deflate` entries with flate2 (or copies `stored` ones)
//! and checks each entry's length and CRC-32. ZIP64 and encryption are not
//! supported (wheels of this size need neither); every offset is checked
//! against the archive's length, so a corrupt archive is an error, not a
//! panic.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// Arguments that pin the wheel `pip download` chooses: CPython 3.11 on
/// manylinux 2.28 x86-64 (any platform can download it; only the files
/// inside are used, never the compiled code).
pub const PLATFORM_ARGS: [&str; 10] = [
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

/// The single `.tar.gz` or `.whl` in `dir` (what `pip download` saved).
pub fn single_archive(dir: &Path) -> anyhow::Result<PathBuf> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let p = e?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".tar.gz") || name.ends_with(".whl") {
            found.push(p);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!("pip saved no archive in {}", dir.display()),
        n => bail!("pip saved {n} archives in {}, expected one", dir.display()),
    }
}

fn u16_at(b: &[u8], at: usize) -> anyhow::Result<u16> {
    match b.get(at..at + 2) {
        Some(s) => Ok(u16::from_le_bytes([s[0], s[1]])),
        None => bail!("truncated zip (offset {at})"),
    }
}

fn u32_at(b: &[u8], at: usize) -> anyhow::Result<u32> {
    match b.get(at..at + 4) {
        Some(s) => Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]])),
        None => bail!("truncated zip (offset {at})"),
    }
}

/// The files of a zip archive, by path inside it.
pub fn unzip(bytes: &[u8], path: &Path) -> anyhow::Result<HashMap<String, Vec<u8>>> {
    unzip_bytes(bytes).with_context(|| format!("reading zip archive {}", path.display()))
}

fn unzip_bytes(b: &[u8]) -> anyhow::Result<HashMap<String, Vec<u8>>> {
    const EOCD: u32 = 0x0605_4b50;
    const CENTRAL: u32 = 0x0201_4b50;
    const LOCAL: u32 = 0x0403_4b50;
    // The end record is 22 bytes plus a comment of at most 65535.
    let lowest = b.len().saturating_sub(22 + 65535);
    let eocd = (lowest..b.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(b, i).ok() == Some(EOCD))
        .context("no end-of-central-directory record (not a zip file?)")?;
    let entries = u16_at(b, eocd + 10)? as usize;
    let cd_offset = u32_at(b, eocd + 16)? as usize;
    if entries == 0xffff || cd_offset == 0xffff_ffff {
        bail!("ZIP64 archives are not supported");
    }
    let mut out = HashMap::with_capacity(entries);
    let mut at = cd_offset;
    for _ in 0..entries {
        if u32_at(b, at)? != CENTRAL {
            bail!("bad central directory header at {at}");
        }
        let flags = u16_at(b, at + 8)?;
        let method = u16_at(b, at + 10)?;
        let crc = u32_at(b, at + 16)?;
        let csize = u32_at(b, at + 20)? as usize;
        let usize_ = u32_at(b, at + 24)? as usize;
        let nlen = u16_at(b, at + 28)? as usize;
        let elen = u16_at(b, at + 30)? as usize;
        let clen = u16_at(b, at + 32)? as usize;
        let local = u32_at(b, at + 42)? as usize;
        let name = b
            .get(at + 46..at + 46 + nlen)
            .context("truncated central directory")?;
        let name = String::from_utf8_lossy(name).into_owned();
        at += 46 + nlen + elen + clen;
        if flags & 1 != 0 {
            bail!("{name}: encrypted entries are not supported");
        }
        if name.ends_with('/') {
            continue;
        }
        if u32_at(b, local)? != LOCAL {
            bail!("{name}: bad local header at {local}");
        }
        let start = local + 30 + u16_at(b, local + 26)? as usize + u16_at(b, local + 28)? as usize;
        let data = b
            .get(start..start + csize)
            .with_context(|| format!("{name}: data runs past the end of the archive"))?;
        let content = match method {
            0 => data.to_vec(),
            8 => {
                let mut v = Vec::with_capacity(usize_);
                flate2::read::DeflateDecoder::new(data)
                    .read_to_end(&mut v)
                    .with_context(|| format!("{name}: bad deflate stream"))?;
                v
            }
            m => bail!("{name}: unsupported compression method {m}"),
        };
        if content.len() != usize_ {
            bail!(
                "{name}: {} bytes after decompression, the directory says {usize_}",
                content.len()
            );
        }
        let mut c = flate2::Crc::new();
        c.update(&content);
        if c.sum() != crc {
            bail!("{name}: CRC-32 mismatch");
        }
        out.insert(name, content);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `python3 -c "import zipfile; z = zipfile.ZipFile('t.zip', 'w');
    /// z.writestr('a/x.txt', 'hello ' * 20, zipfile.ZIP_DEFLATED);
    /// z.writestr('b.bin', b'\x00\x01', zipfile.ZIP_STORED); z.close()"`,
    /// as bytes (Python 3.11).
    const SAMPLE: &[u8] = include_bytes!("../../../assets/fixtures/tiny.zip");

    #[test]
    fn reads_deflated_and_stored_entries() {
        let files = unzip(SAMPLE, Path::new("t.zip")).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files["a/x.txt"], "hello ".repeat(20).as_bytes());
        assert_eq!(files["b.bin"], [0u8, 1]);
    }

    #[test]
    fn corrupt_archives_are_errors() {
        for cut in [0, 10, SAMPLE.len() / 2, SAMPLE.len() - 1] {
            assert!(
                unzip(&SAMPLE[..cut], Path::new("t.zip")).is_err(),
                "cut {cut}"
            );
        }
        let mut flipped = SAMPLE.to_vec();
        // Inside the deflated data of the first entry (after its 30-byte
        // local header and 7-byte name).
        flipped[40] ^= 0xff;
        assert!(unzip(&flipped, Path::new("t.zip")).is_err());
    }
}
