//! The output pattern (`out/{{id}}.jpg`): checked once, resolved per row,
//! confined to its folder, and never the same file for two rows.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use impasto::scene::quoted;
use impasto::Error;

use super::case::CaseFold;
use super::rows::RowData;

/// `{{row}}` in the pattern is the row number (unless a column is called
/// `row`).
const ROW: &str = "row";

/// A piece of the output pattern.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(String),
    Key(String),
}

/// The output pattern: its pieces and its folder, the literal directory
/// before the first `{{`, which no row may leave.
#[derive(Debug)]
pub struct Pattern {
    pieces: Vec<Piece>,
    base: PathBuf,
    /// Paths already given to a row, with that row's number (bounded by the
    /// number of rows: about 100 bytes a row).
    taken: HashMap<PathBuf, u64>,
    /// The folders under `base` those paths are in, with the first row
    /// that needed each: a row may not write a file where one is.
    folders: HashMap<PathBuf, u64>,
    /// Files no row may write: the manifest, the template, the data file.
    kept: Vec<Kept>,
    /// Paths that differ only in case or Unicode normalization, where the
    /// file system ignores it.
    case: CaseFold,
}

/// A file no row may write, by its path made absolute and without `.`
/// ([`absolute`]) and as the file system resolves it
/// ([`impasto::codec::output_target`]): a row's path through a link to it
/// compares equal too.
#[derive(Debug)]
struct Kept {
    absolute: PathBuf,
    resolved: PathBuf,
    /// What it is, after "is": "the manifest (--manifest)".
    what: &'static str,
}

impl Pattern {
    /// Checks `pattern`: at least one `{{name}}`, a known image extension,
    /// no `..` after its folder.
    pub fn new(pattern: &str, quality: u8) -> Result<Pattern, Error> {
        let bad = |m: String| Error::Output(format!("--output {}: {m}", quoted(pattern)));
        // A trailing `/` (Path reads `x.png/` as `x.png`): every row would
        // render, then fail to write.
        if pattern.ends_with(['/', '\\']) {
            return Err(bad(
                "ends with a path separator: it must end with a file name".into(),
            ));
        }
        let pieces = pieces(pattern).map_err(bad)?;
        if !pieces.iter().any(|p| matches!(p, Piece::Key(_))) {
            return Err(bad(
                "has no {{name}}: every row would write the same file".into()
            ));
        }
        // The literal text before the first reference (`\{{` unescaped).
        let lead = match pieces.first() {
            Some(Piece::Lit(l)) => l.as_str(),
            _ => "",
        };
        let base = match lead.rfind('/') {
            Some(slash) => PathBuf::from(&lead[..=slash]),
            None => PathBuf::new(),
        };
        let sample: String = pieces
            .iter()
            .map(|p| match p {
                Piece::Lit(l) => l.as_str(),
                Piece::Key(_) => "x",
            })
            .collect();
        // Said of the pattern, not of the sample path made to check it.
        if impasto::codec::OutputFormat::from_path(Path::new(&sample), quality).is_err() {
            return Err(bad(
                "unknown output format: batch writes files ending in .png, .jpg, .jpeg, .webp, .avif or .gif"
                    .into(),
            ));
        }
        let rest = Path::new(&sample)
            .strip_prefix(&base)
            .map_err(|_| bad("cannot find its folder".into()))?;
        if rest
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(bad(format!(
                "leaves its folder {} (\"..\" after the first {{{{)",
                quoted(&base.display().to_string())
            )));
        }
        // A folder that is a file fails here, not once per row.
        // (Without the trailing `/`, which a file does not stat with.)
        let folder: PathBuf = base.components().collect();
        if let Some(file) = folder
            .ancestors()
            .filter(|a| !a.as_os_str().is_empty())
            .find(|a| a.exists())
            .filter(|a| !a.is_dir())
        {
            return Err(bad(format!(
                "its folder cannot be made: {} is a file, not a folder",
                quoted(&file.display().to_string())
            )));
        }
        Ok(Pattern {
            pieces,
            taken: HashMap::new(),
            folders: HashMap::new(),
            kept: Vec::new(),
            case: CaseFold::for_folder(&base),
            base,
        })
    }

    /// The pattern's folder, the literal directory before the first `{{`.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Keeps rows from writing the file at `path`, `what` it is ("the
    /// manifest (--manifest)").
    pub fn keep(&mut self, path: &Path, what: &'static str) {
        self.kept.push(Kept {
            absolute: absolute(path),
            resolved: impasto::codec::output_target(path),
            what,
        });
    }

    /// The names the pattern uses that are not among `columns` (and not
    /// `row`): with CSV these are known before any row.
    pub fn missing_keys(&self, columns: &[String]) -> Vec<String> {
        self.keys()
            .filter(|k| *k != ROW && !columns.iter().any(|c| c == k))
            .map(str::to_owned)
            .collect()
    }

    /// True when the pattern uses the column `key`.
    pub fn uses(&self, key: &str) -> bool {
        self.keys().any(|k| k == key)
    }

    fn keys(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Key(k) => Some(k.as_str()),
            Piece::Lit(_) => None,
        })
    }

    /// The output path of row `row`: refused when a value is missing, when
    /// it leaves the pattern's folder, or when an earlier row took it.
    pub fn resolve(&mut self, row: u64, data: &RowData) -> Result<PathBuf, String> {
        let mut s = String::new();
        for piece in &self.pieces {
            // The placeholder as the pattern writes it, quoted.
            let shown = |k: &str| quoted(&format!("{{{{{k}}}}}")).to_string();
            match piece {
                Piece::Lit(l) => s.push_str(l),
                Piece::Key(k) if data.is_structured(k) => {
                    return Err(format!(
                        "output: {} is a JSON object or array; a path needs text or a number",
                        shown(k)
                    ))
                }
                Piece::Key(k) => match data.text(k) {
                    // A newline, a tab or an escape in a file name breaks
                    // every listing and script that reads it.
                    Some(v) if v.chars().any(char::is_control) => {
                        return Err(format!(
                            "output: {} is {}, which holds a control character; values make file names, which may not",
                            shown(k),
                            quoted(&v)
                        ))
                    }
                    // A line or paragraph separator breaks lines as a
                    // newline does; a zero-width space or byte-order mark
                    // makes a name that looks like another. (Joiners stay:
                    // emoji sequences and scripts need them.)
                    Some(v) if v.chars().any(|c| matches!(c, '\u{2028}' | '\u{2029}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}')) => {
                        return Err(format!(
                            "output: {} is {}, which holds a line separator or an invisible character; values make file names, which may not",
                            shown(k),
                            quoted(&v)
                        ))
                    }
                    // An override or isolate reorders how a name reads
                    // ("a\u{202e}gnp.exe" shows as "aexe.png").
                    Some(v) if v.chars().any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')) => {
                        return Err(format!(
                            "output: {} is {}, which holds a bidirectional override or isolate; values make file names, which may not",
                            shown(k),
                            quoted(&v)
                        ))
                    }
                    Some(v) if v.starts_with(['/', '\\']) || Path::new(&v).has_root() => {
                        return Err(format!(
                            "output: {} is {}, an absolute path; values make paths inside the output folder",
                            shown(k),
                            quoted(&v)
                        ))
                    }
                    Some(v) => s.push_str(&v),
                    // A `row` column, empty in this row, has no value as
                    // any column (it was the row number, which another
                    // row's `row` may be).
                    None if k == ROW && !data.has_text_key(ROW) => s.push_str(&row.to_string()),
                    None => return Err(format!("output: {} has no value in this row", shown(k))),
                },
            }
        }
        let path = PathBuf::from(&s);
        let s = quoted(&s);
        let inside = path.strip_prefix(&self.base).is_ok_and(|rest| {
            rest.components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
                && rest.components().any(|c| matches!(c, Component::Normal(_)))
        });
        if !inside {
            // The current folder is "." in messages, not "".
            let folder = match self.base.as_os_str().is_empty() {
                true => ".".to_string(),
                false => self.base.display().to_string(),
            };
            let folder = quoted(&folder);
            if path.components().any(|c| matches!(c, Component::ParentDir)) {
                return Err(format!(
                    "output: {s} holds \"..\": values make paths inside the output folder {folder}, never through its parent"
                ));
            }
            return Err(format!("output: {s} is outside the output folder {folder}"));
        }
        // Found before the row is rendered: a name the file system cannot
        // hold failed after, with its raw error.
        if let Some(long) = path
            .components()
            .map(|c| c.as_os_str())
            .find(|c| c.len() > NAME_MAX)
        {
            return Err(format!(
                "output: {s}: the name {} is {} bytes long, over the {NAME_MAX} a file system holds",
                quoted(&long.to_string_lossy()),
                long.len()
            ));
        }
        if path.file_stem().is_none() || path.extension().is_none() {
            return Err(format!(
                "output: {s} has no file name before its extension (a value ending in \"/\"?)"
            ));
        }
        if let Some(link) = through_link(&self.base, &path) {
            return Err(format!(
                "output: {s} leads outside the output folder {} through the symbolic link {}",
                quoted(&self.base.display().to_string()),
                quoted(&link.display().to_string())
            ));
        }
        // The file itself a link: the write would replace where it points
        // (inside the folder or not); a batch writes plain files only.
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            let to = std::fs::read_link(&path)
                .map(|t| format!(" (to {})", quoted(&t.display().to_string())))
                .unwrap_or_default();
            return Err(format!(
                "output: {s} is a symbolic link{to}: a batch writes plain files only and would replace what it points to; remove the link"
            ));
        }
        if !self.kept.is_empty() {
            let (lexical, real) = (absolute(&path), impasto::codec::output_target(&path));
            let kept = self.kept.iter();
            if let Some(k) = kept
                .into_iter()
                .find(|k| k.absolute == lexical || k.resolved == real)
            {
                return Err(format!("output: {s} is {}: a row may not write it", k.what));
            }
        }
        if let Some(first) = self.taken.get(&path) {
            return Err(format!(
                "output: {s} is also the output of row {first}: two rows may not write the same file"
            ));
        }
        // A file and a folder of one name: whichever row comes first keeps
        // it, whatever the order the rows finish in.
        let folders: Vec<PathBuf> = path
            .ancestors()
            .skip(1)
            .take_while(|a| a.starts_with(&self.base) && *a != self.base)
            .map(Path::to_path_buf)
            .collect();
        if let Some((folder, first)) = folders
            .iter()
            .find_map(|f| self.taken.get(f).map(|r| (f, r)))
        {
            return Err(format!(
                "output: {s} would be inside {}, the output of row {first}",
                quoted(&folder.display().to_string())
            ));
        }
        if let Some(first) = self.folders.get(&path) {
            return Err(format!(
                "output: {s} is a folder of the output of row {first}"
            ));
        }
        self.case.claim(row, &path, &s.to_string())?;
        for f in folders {
            self.folders.entry(f).or_insert(row);
        }
        self.taken.insert(path.clone(), row);
        Ok(path)
    }
}

/// The longest name of one file or folder, in bytes, that common file
/// systems hold (ext4, XFS, APFS, NTFS's 255 UTF-16 units at least).
const NAME_MAX: usize = 255;

/// The folder of `path` (inside `base` lexically) that exists and leads
/// outside `base` through a symbolic link, if any: the deepest existing
/// folder on the way to `path` must resolve inside `base` as it resolves.
/// (Folders made later are made by this process, under it.)
fn through_link(base: &Path, path: &Path) -> Option<PathBuf> {
    // The empty path (a pattern with no folder) is the current folder.
    let dir = |p: &Path| -> PathBuf {
        if p.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            p.to_path_buf()
        }
    };
    let real_base = dir(base).canonicalize().ok()?;
    let deepest = path.ancestors().skip(1).map(dir).find(|a| a.exists())?;
    let real = deepest.canonicalize().ok()?;
    (!real.starts_with(&real_base)).then_some(deepest)
}

/// `path` made absolute (against the working directory) with `.` and
/// `..` resolved lexically, as two spellings of one path compare equal.
pub fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The pattern's pieces: `{{name}}` a column (spaces and tabs around the
/// name dropped, as in templates), `\{{` a literal `{{`, the rest literal.
fn pieces(pattern: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = pattern;
    while let Some(at) = rest.find("{{") {
        if rest[..at].ends_with('\\') {
            lit.push_str(&rest[..at - 1]);
            lit.push_str("{{");
            rest = &rest[at + 2..];
            continue;
        }
        lit.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after.find("}}").ok_or_else(|| {
            "\"{{\" without a closing \"}}\" (write \\{{ for a literal {{)".to_owned()
        })?;
        let key = after[..end].trim_matches([' ', '\t']);
        if key.is_empty() || key.contains(['{', '}']) {
            return Err(format!("{} is not a column name", quoted(&after[..end])));
        }
        if !lit.is_empty() {
            out.push(Piece::Lit(std::mem::take(&mut lit)));
        }
        out.push(Piece::Key(key.to_owned()));
        rest = &after[end + 2..];
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn data(pairs: &[(&str, &str)]) -> RowData {
        RowData::Text(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    #[test]
    fn a_pattern_needs_a_reference_a_known_extension_and_no_way_out() {
        assert!(Pattern::new("out/card.jpg", 85).is_err());
        assert!(Pattern::new("out/{{id}}.bmp", 85).is_err());
        assert!(Pattern::new("out/{{id}}.gif", 85).is_ok());
        let e = Pattern::new("out/{{id}}/../../x.jpg", 85).unwrap_err();
        assert!(e.to_string().contains("leaves its folder"), "{e}");
        assert!(Pattern::new("out/{{id}.jpg", 85).is_err());
        let p = Pattern::new("out/{{id}}-{{size}}.png", 85).unwrap();
        assert_eq!(p.missing_keys(&["id".into()]), ["size"]);
    }

    #[test]
    fn names_no_file_system_holds_fail_before_the_row_renders() {
        // Each rendered, then failed to write with the raw error ("Not a
        // directory", "File name too long"), or left an empty folder.
        let e = Pattern::new("out/{{id}}.png/", 85).unwrap_err().to_string();
        assert!(e.contains("ends with a path separator"), "{e}");
        let mut p = Pattern::new("out/{{id}}.png", 85).unwrap();
        let e = p
            .resolve(1, &data(&[("id", &"x".repeat(252))]))
            .unwrap_err();
        assert!(e.contains("is 256 bytes long, over the 255"), "{e}");
        let fits = p.resolve(2, &data(&[("id", &"x".repeat(251))]));
        assert!(fits.is_ok(), "{fits:?}");
        let e = p.resolve(3, &data(&[("id", "a/")])).unwrap_err();
        assert!(e.contains("has no file name before its extension"), "{e}");
        for id in ["a\u{2028}b", "a\u{200B}", "\u{FEFF}a"] {
            let e = p.resolve(4, &data(&[("id", id)])).unwrap_err();
            assert!(e.contains("invisible character"), "{e}");
        }
        // An emoji sequence's joiner is part of the name.
        assert!(p
            .resolve(5, &data(&[("id", "\u{1F468}\u{200D}\u{1F469}")]))
            .is_ok());
    }

    #[test]
    fn row_is_the_row_number_unless_the_row_has_a_row_column_and_an_empty_one_has_no_value() {
        let mut p = Pattern::new("out/{{row}}.png", 85).unwrap();
        let path = p.resolve(1, &data(&[("id", "a")])).unwrap();
        assert_eq!(path, PathBuf::from("out/1.png"));
        let path = p.resolve(2, &data(&[("row", "x")])).unwrap();
        assert_eq!(path, PathBuf::from("out/x.png"));
        // An empty cell was the row number, which another row's `row` may
        // name (row 4's "1" then failed as row 1's output).
        let e = p.resolve(3, &data(&[("row", "")])).unwrap_err();
        assert!(e.contains("has no value in this row"), "{e}");
        let json = |v: serde_json::Value| RowData::Json(v.as_object().unwrap().clone());
        let e = p
            .resolve(5, &json(serde_json::json!({"row": ""})))
            .unwrap_err();
        assert!(e.contains("has no value in this row"), "{e}");
        let path = p
            .resolve(6, &json(serde_json::json!({"row": null})))
            .unwrap();
        assert_eq!(path, PathBuf::from("out/6.png"));
    }

    #[test]
    fn resolving_confines_values_to_the_folder_and_refuses_a_second_row_on_one_file() {
        let mut p = Pattern::new("out/{{id}}.jpg", 85).unwrap();
        assert_eq!(
            p.resolve(1, &data(&[("id", "a")])).unwrap(),
            PathBuf::from("out/a.jpg")
        );
        assert_eq!(
            p.resolve(2, &data(&[("id", "sub/b")])).unwrap(),
            PathBuf::from("out/sub/b.jpg")
        );
        let e = p.resolve(3, &data(&[("id", "../../etc/x")])).unwrap_err();
        assert!(
            e.contains("holds \"..\": values make paths inside the output folder \"out/\""),
            "{e}"
        );
        let e = p.resolve(4, &data(&[("id", "a")])).unwrap_err();
        assert!(e.contains("also the output of row 1"), "{e}");
        let e = p.resolve(5, &data(&[("id", "")])).unwrap_err();
        assert!(e.contains("has no value"), "{e}");
        let e = p.resolve(6, &data(&[("id", "/abs/evil")])).unwrap_err();
        assert!(e.contains("an absolute path"), "{e}");
        for control in ["a\nb", "a\rb", "a\tb", "\0", "a\u{1b}[31m", "a\u{85}"] {
            let e = p.resolve(9, &data(&[("id", control)])).unwrap_err();
            assert!(e.contains("holds a control character"), "{e}");
            assert!(!e.contains(control), "shown raw: {e}");
        }
        for bidi in ["a\u{202e}gnp.exe", "\u{2067}x"] {
            let e = p.resolve(10, &data(&[("id", bidi)])).unwrap_err();
            assert!(e.contains("bidirectional override or isolate"), "{e}");
        }
        // Marks that only set a direction are names' own.
        p.resolve(11, &data(&[("id", "\u{5e9}\u{200f}1")])).unwrap();
        let mut object = serde_json::Map::new();
        object.insert("id".into(), serde_json::json!({"x": 1}));
        let e = p.resolve(8, &RowData::Json(object)).unwrap_err();
        assert!(e.contains("a JSON object or array"), "{e}");
        let mut p = Pattern::new("{{row}}.png", 85).unwrap();
        assert_eq!(p.resolve(7, &data(&[])).unwrap(), PathBuf::from("7.png"));
        // `\{{` is a literal `{{`, in the folder or the name.
        let mut p = Pattern::new("o\\{{x}}/\\{{a}} {{id}}.png", 85).unwrap();
        assert_eq!(p.base(), Path::new("o{{x}}/"));
        assert_eq!(
            p.resolve(8, &data(&[("id", "b")])).unwrap(),
            PathBuf::from("o{{x}}/{{a}} b.png")
        );
    }

    #[test]
    fn a_file_and_a_folder_of_one_name_go_to_the_earlier_row() {
        for base in ["out/", ""] {
            let pattern = format!("{base}{{{{id}}}}.png");
            let mut p = Pattern::new(&pattern, 85).unwrap();
            p.resolve(1, &data(&[("id", "a")])).unwrap();
            let e = p.resolve(2, &data(&[("id", "a.png/x")])).unwrap_err();
            assert!(e.contains("inside") && e.contains("row 1"), "{e}");
            p.resolve(3, &data(&[("id", "d.png/x")])).unwrap();
            let e = p.resolve(4, &data(&[("id", "d")])).unwrap_err();
            assert!(e.contains("is a folder") && e.contains("row 3"), "{e}");
            p.resolve(5, &data(&[("id", "d.png/y")])).unwrap();
        }
    }
}
