//! Output names that differ only in case, on a file system that ignores
//! case (macOS's APFS and HFS+, Windows's NTFS, by default): there
//! `out/SKU-1.png` and `out/sku-1.png` are one file, and the later row
//! would silently replace the earlier row's image. Whether the output
//! folder's file system ignores case is found once, by creating a file and
//! looking it up in the other case; where it does, a row whose path folds
//! to an earlier row's fails, as a row naming the same file does.
//! (Names that differ only in Unicode normalization, which APFS also takes
//! for one, are not caught.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use impasto::scene::quoted;

/// The output paths given so far, by their lower-case form, when the
/// output folder's file system ignores case.
#[derive(Debug, Default)]
pub struct CaseFold {
    /// `None`: the file system tells case apart (nothing to check).
    folded: Option<HashMap<String, (u64, PathBuf)>>,
}

impl CaseFold {
    /// The check for outputs under `base`, whose file system (that of its
    /// nearest existing folder) is probed.
    pub fn for_folder(base: &Path) -> CaseFold {
        CaseFold::checking(ignores_case(base))
    }

    /// The check, on (`true`) or off.
    pub fn checking(on: bool) -> CaseFold {
        CaseFold {
            folded: on.then(HashMap::new),
        }
    }

    /// Refuses `path` for row `row` when an earlier row's path differs from
    /// it only in case; else records it. `shown`: the path, quoted.
    pub fn claim(&mut self, row: u64, path: &Path, shown: &str) -> Result<(), String> {
        let Some(folded) = &mut self.folded else {
            return Ok(());
        };
        let key = path.to_string_lossy().to_lowercase();
        match folded.get(&key) {
            Some((first, other)) if other != path => Err(format!(
                "output: {shown} differs from {}, the output of row {first}, only in case, and the output folder's file system ignores case: both would be one file",
                quoted(&other.display().to_string())
            )),
            Some(_) => Ok(()),
            None => {
                folded.insert(key, (row, path.to_path_buf()));
                Ok(())
            }
        }
    }
}

/// Whether the file system holding `dir` (or its nearest existing folder)
/// ignores case: a file made there is found under its name in the other
/// case. `false` when no file can be made there (the batch's writes will
/// say why).
fn ignores_case(dir: &Path) -> bool {
    let Some(existing) = dir
        .ancestors()
        .map(|a| match a.as_os_str().is_empty() {
            true => Path::new("."),
            false => a,
        })
        .find(|a| a.is_dir())
    else {
        return false;
    };
    let Ok(probe) = tempfile::Builder::new()
        .prefix(".impasto-case-probe-")
        .tempfile_in(existing)
    else {
        return false;
    };
    let Some(name) = probe.path().file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let swapped: String = name
        .chars()
        .map(|c| match c.is_ascii_lowercase() {
            true => c.to_ascii_uppercase(),
            false => c.to_ascii_lowercase(),
        })
        .collect();
    existing.join(swapped).symlink_metadata().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_a_file_system_ignoring_case_a_name_differing_only_in_case_is_refused() {
        let mut fold = CaseFold::checking(true);
        fold.claim(1, Path::new("out/SKU-1.png"), "\"out/SKU-1.png\"")
            .unwrap();
        // The same path again is the pattern's own check, not this one's.
        fold.claim(2, Path::new("out/SKU-1.png"), "\"out/SKU-1.png\"")
            .unwrap();
        let e = fold
            .claim(3, Path::new("out/sku-1.png"), "\"out/sku-1.png\"")
            .unwrap_err();
        assert!(
            e.contains("differs from \"out/SKU-1.png\", the output of row 1, only in case"),
            "{e}"
        );
        fold.claim(4, Path::new("out/SKU-2.png"), "\"out/SKU-2.png\"")
            .unwrap();
        // Off: names in two cases are two files.
        let mut off = CaseFold::checking(false);
        off.claim(1, Path::new("a.png"), "a").unwrap();
        off.claim(2, Path::new("A.png"), "A").unwrap();
    }

    #[test]
    fn the_probe_tells_this_file_system_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        // Linux's usual file systems tell case apart (CI runs there).
        #[cfg(target_os = "linux")]
        assert!(!ignores_case(&dir.path().join("not/yet/made")));
        #[cfg(not(target_os = "linux"))]
        let _ = ignores_case(&dir.path().join("not/yet/made"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
