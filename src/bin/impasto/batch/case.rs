//! Output names that differ but that the output folder's file system takes
//! for one file: names differing only in case (macOS's APFS and HFS+,
//! Windows's NTFS, by default) or only in Unicode normalization (APFS and
//! HFS+: `é` written as one code point or as `e` and a combining accent).
//! There `out/SKU-1.png` and `out/sku-1.png` are one file, and the later
//! row would silently replace the earlier row's image. What the file
//! system ignores is found once, by creating a file and looking it up in
//! the other case and in the other normalization form; a row whose path
//! folds as the file system folds to an earlier row's fails, as a row
//! naming the same file does. (The fold is Unicode's lower case and NFC:
//! close to, not exactly, each file system's own tables.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use impasto::scene::quoted;
use unicode_normalization::UnicodeNormalization;

/// The output paths given so far, by their folded form, when the output
/// folder's file system ignores case or normalization.
#[derive(Debug, Default)]
pub struct CaseFold {
    /// The file system ignores case.
    case: bool,
    /// The file system ignores Unicode normalization.
    form: bool,
    /// The paths given so far by their folded form, with their rows (empty
    /// when neither is ignored).
    folded: HashMap<String, (u64, PathBuf)>,
}

impl CaseFold {
    /// The check for outputs under `base`, whose file system (that of its
    /// nearest existing folder) is probed.
    pub fn for_folder(base: &Path) -> CaseFold {
        let probe = Probe::of(base);
        CaseFold::checking(probe.ignores_case(), probe.ignores_form())
    }

    /// The check, for a file system that ignores case (`case`), Unicode
    /// normalization (`form`), both or neither.
    pub fn checking(case: bool, form: bool) -> CaseFold {
        CaseFold {
            case,
            form,
            folded: HashMap::new(),
        }
    }

    /// `s` folded as the file system is taken to fold it.
    fn fold(&self, s: &str) -> String {
        let s: String = match self.form {
            true => s.nfc().collect(),
            false => s.to_owned(),
        };
        match self.case {
            true => s.to_lowercase(),
            false => s,
        }
    }

    /// Refuses `path` for row `row` when an earlier row's path differs from
    /// it only in what the file system ignores; else records it. `shown`:
    /// the path, quoted.
    pub fn claim(&mut self, row: u64, path: &Path, shown: &str) -> Result<(), String> {
        if !self.case && !self.form {
            return Ok(());
        }
        let key = self.fold(&path.to_string_lossy());
        match self.folded.get(&key) {
            Some((first, other)) if other != path => {
                let (a, b) = (path.to_string_lossy(), other.to_string_lossy());
                let same_form = self.form && a.nfc().eq(b.nfc());
                let (differs, ignores) = match (same_form, self.case) {
                    (true, _) => (
                        "only in Unicode normalization (how accented letters are encoded)",
                        "normalization",
                    ),
                    (false, true) if !self.form || a.to_lowercase() == b.to_lowercase() => {
                        ("only in case", "case")
                    }
                    _ => (
                        "only in case and Unicode normalization",
                        "case and normalization",
                    ),
                };
                Err(format!(
                    "output: {shown} differs from {}, the output of row {first}, {differs}, and the output folder's file system ignores {ignores}: both would be one file",
                    quoted(&other.display().to_string())
                ))
            }
            Some(_) => Ok(()),
            None => {
                self.folded.insert(key, (row, path.to_path_buf()));
                Ok(())
            }
        }
    }
}

/// A file made in the nearest existing folder of the output's, to learn
/// what its file system ignores; removed when dropped. `None` when no file
/// can be made there (the batch's writes will say why): then nothing is
/// taken to be ignored.
struct Probe {
    made: Option<(tempfile::NamedTempFile, PathBuf, String)>,
}

/// In the probe's name: `é` as one code point (NFC), which a file system
/// ignoring normalization also finds as `e` and U+0301 (NFD).
const ACCENTED: &str = "\u{e9}";

impl Probe {
    fn of(dir: &Path) -> Probe {
        let made = (|| {
            let existing = dir
                .ancestors()
                .map(|a| match a.as_os_str().is_empty() {
                    true => Path::new("."),
                    false => a,
                })
                .find(|a| a.is_dir())?;
            let file = tempfile::Builder::new()
                .prefix(&format!(".impasto-probe-{ACCENTED}-"))
                .tempfile_in(existing)
                .ok()?;
            let name = file.path().file_name()?.to_str()?.to_owned();
            Some((file, existing.to_path_buf(), name))
        })();
        Probe { made }
    }

    /// Whether the file is found under `name` changed by `change`.
    fn found_as(&self, change: impl Fn(&str) -> String) -> bool {
        let Some((_, folder, name)) = &self.made else {
            return false;
        };
        let other = change(name);
        other != *name && folder.join(other).symlink_metadata().is_ok()
    }

    /// A file system ignoring case finds the file in the other case.
    fn ignores_case(&self) -> bool {
        self.found_as(|name| {
            name.chars()
                .map(|c| match c.is_ascii_lowercase() {
                    true => c.to_ascii_uppercase(),
                    false => c.to_ascii_lowercase(),
                })
                .collect()
        })
    }

    /// A file system ignoring normalization finds the file in the other
    /// form (HFS+ stores NFD whatever it is given; APFS what it is given).
    fn ignores_form(&self) -> bool {
        self.found_as(|name| match name.contains(ACCENTED) {
            true => name.nfd().collect(),
            false => name.nfc().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_a_file_system_ignoring_case_a_name_differing_only_in_case_is_refused() {
        let mut fold = CaseFold::checking(true, false);
        fold.claim(1, Path::new("out/SKU-1.png"), "\"out/SKU-1.png\"")
            .unwrap();
        // The same path again is the pattern's own check, not this one's.
        fold.claim(2, Path::new("out/SKU-1.png"), "\"out/SKU-1.png\"")
            .unwrap();
        let e = fold
            .claim(3, Path::new("out/sku-1.png"), "\"out/sku-1.png\"")
            .unwrap_err();
        assert!(
            e.contains("differs from \"out/SKU-1.png\", the output of row 1, only in case, and the output folder's file system ignores case"),
            "{e}"
        );
        fold.claim(4, Path::new("out/SKU-2.png"), "\"out/SKU-2.png\"")
            .unwrap();
        // Normalization counts here: two encodings of `é` are two files.
        fold.claim(5, Path::new("out/caf\u{e9}.png"), "a").unwrap();
        fold.claim(6, Path::new("out/cafe\u{301}.png"), "b")
            .unwrap();
        // Off: names in two cases are two files.
        let mut off = CaseFold::checking(false, false);
        off.claim(1, Path::new("a.png"), "a").unwrap();
        off.claim(2, Path::new("A.png"), "A").unwrap();
    }

    #[test]
    fn on_a_file_system_ignoring_normalization_two_encodings_of_one_name_are_refused() {
        let mut fold = CaseFold::checking(false, true);
        fold.claim(1, Path::new("out/caf\u{e9}.png"), "\"nfc\"")
            .unwrap();
        let e = fold
            .claim(2, Path::new("out/cafe\u{301}.png"), "\"nfd\"")
            .unwrap_err();
        assert!(
            e.contains("the output of row 1, only in Unicode normalization (how accented letters are encoded), and the output folder's file system ignores normalization"),
            "{e}"
        );
        // Case counts here.
        fold.claim(3, Path::new("out/CAF\u{c9}.png"), "c").unwrap();
        // Both ignored (APFS's default): a name differing in both.
        let mut both = CaseFold::checking(true, true);
        both.claim(1, Path::new("out/caf\u{e9}.png"), "a").unwrap();
        let e = both
            .claim(2, Path::new("out/CAFE\u{301}.png"), "\"b\"")
            .unwrap_err();
        assert!(
            e.contains("only in case and Unicode normalization, and the output folder's file system ignores case and normalization"),
            "{e}"
        );
        let e = both
            .claim(3, Path::new("out/CAF\u{e9}.png"), "\"c\"")
            .unwrap_err();
        assert!(e.contains("only in case, and"), "{e}");
    }

    #[test]
    fn the_probe_tells_this_file_system_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let probe = Probe::of(&dir.path().join("not/yet/made"));
        assert!(probe.made.is_some(), "the probe makes its file");
        // Linux's usual file systems tell case and normalization apart (CI
        // runs there).
        #[cfg(target_os = "linux")]
        assert!(!probe.ignores_case() && !probe.ignores_form());
        #[cfg(not(target_os = "linux"))]
        let _ = (probe.ignores_case(), probe.ignores_form());
        drop(probe);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn the_probe_finds_its_own_file_under_its_own_name() {
        // `found_as` with no change is refused (that would prove nothing);
        // a lookup under the name as made finds it.
        let dir = tempfile::tempdir().unwrap();
        let probe = Probe::of(dir.path());
        assert!(!probe.found_as(str::to_owned));
        let (_, folder, name) = probe.made.as_ref().unwrap();
        assert!(name.contains(ACCENTED));
        assert!(folder.join(name).is_file());
    }
}
