//! What happened to each row, and the manifest: one JSON line per row, in
//! row order.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use impasto::scene::quoted;
use impasto::{Error, Location, Warning};

use super::output::{absolute, Pattern};
use serde_json::{json, Map, Value};

/// Refuses a manifest path that is the template or the data file (creating
/// the manifest would truncate it, and rows read from a truncated data file
/// would append to it), or the output folder or a folder above it; and
/// keeps rows from writing it (`pattern`).
pub fn check_clashes(
    manifest: &Path,
    template: &Path,
    data: &Path,
    pattern: &mut Pattern,
) -> Result<(), Error> {
    for (what, input) in [("template", template), ("--data file", data)] {
        if same_file(manifest, input) {
            return Err(Error::Options(format!(
                "--manifest {} is the {what} ({}): writing the manifest would overwrite it",
                impasto::scene::shown_path(manifest),
                impasto::scene::shown_path(input)
            )));
        }
    }
    if let Some(what) = not_a_manifest(manifest) {
        return Err(Error::Options(format!(
            "--manifest {} exists and is not a manifest ({what}): writing the manifest would overwrite it; give another path, or delete the file first",
            impasto::scene::shown_path(manifest)
        )));
    }
    let (m, base) = (absolute(manifest), absolute(pattern.base()));
    if base.starts_with(&m) {
        return Err(Error::Options(format!(
            "--manifest {}: is the output folder {} or a folder above it; give a file name",
            quoted(&manifest.display().to_string()),
            quoted(&pattern.base().display().to_string())
        )));
    }
    pattern.keep(manifest, "the manifest (--manifest)");
    Ok(())
}

/// What the existing, non-empty file at `path` holds when it is not a
/// manifest (whose first line is a JSON object with `row` and `status`):
/// an image the batch draws, a template, a data file, anything a typo in
/// the path could name.
fn not_a_manifest(path: &Path) -> Option<String> {
    use std::io::{BufRead, BufReader, Read};
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    // A manifest line is short: 1 MiB reads any.
    let mut r = BufReader::new(File::open(path).ok()?.take(1 << 20));
    // The first bytes, whole (a PNG's signature holds a line feed).
    let head = r.fill_buf().ok()?;
    if let Ok(format) = image::guess_format(head) {
        let name = format!("{format:?}").to_uppercase();
        let article = if name.starts_with(['A', 'E', 'I', 'O', 'U']) {
            "an"
        } else {
            "a"
        };
        return Some(format!("it holds {article} {name} image"));
    }
    let mut first = Vec::new();
    r.read_until(b'\n', &mut first).ok()?;
    let line: Option<Map<String, Value>> = serde_json::from_slice(&first).ok();
    match line {
        Some(m) if m.contains_key("row") && m.contains_key("status") => None,
        _ => Some("its first line is not a manifest line".to_owned()),
    }
}

/// Whether `a` and `b` name one existing file (also through links).
fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        ma.dev() == mb.dev() && ma.ino() == mb.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (ma, mb);
        matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }
}

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The image was written.
    Ok,
    /// `--skip-existing` found the file.
    Skipped,
    /// The row failed.
    Failed,
    /// Not started, because `--fail-fast` stopped the batch: not in the
    /// manifest.
    NotRun,
}

/// Why a row failed, with the facts the manifest carries.
#[derive(Debug, Clone, Default)]
pub struct Failure {
    /// The whole message.
    pub message: String,
    /// The variable at fault.
    pub variable: Option<String>,
    /// The layer index at fault.
    pub layer: Option<usize>,
    /// The field at fault.
    pub field: Option<String>,
    /// The disk (or the user's quota) was full: every later row would
    /// fail as this one did, so the batch stops.
    pub disk_full: bool,
}

impl Failure {
    /// A failure with a message only (bad data line, output refused).
    pub fn text(message: String) -> Failure {
        Failure {
            message,
            ..Failure::default()
        }
    }

    /// The facts of a library error.
    pub fn of(e: &Error) -> Failure {
        let (variable, location, field) = match e {
            Error::Template(t) => (
                t.variable().map(str::to_owned),
                t.location().cloned(),
                t.field().map(str::to_owned),
            ),
            Error::Scene(s) | Error::OverMemoryLimit { error: s, .. } => {
                (None, Some(s.location.clone()), s.field.clone())
            }
            _ => (None, None, None),
        };
        let disk_full = matches!(e, Error::Io { source, .. }
            if matches!(source.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded));
        Failure {
            message: e.to_string().replace('\n', " "),
            variable,
            layer: match location {
                Some(Location::Layer { index, .. }) => Some(index),
                _ => None,
            },
            field,
            disk_full,
        }
    }
}

/// One row's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Position among the rows this process handles (0, 1, 2...): the
    /// manifest's order.
    pub seq: u64,
    /// The row number, from 1.
    pub row: u64,
    /// The row's `id` value, when it has one.
    pub id: Option<String>,
    /// What happened.
    pub status: Status,
    /// The output file, once known.
    pub output: Option<PathBuf>,
    /// Its size in bytes, when written.
    pub bytes: Option<u64>,
    /// Milliseconds spent on the row (binding, rendering, encoding, writing).
    pub ms: u64,
    /// Why it failed.
    pub failure: Option<Failure>,
    /// What the render had to report (characters no font has), when it
    /// was written.
    pub warnings: Vec<Warning>,
}

impl Outcome {
    /// The manifest line.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("row".into(), json!(self.row));
        if let Some(id) = &self.id {
            m.insert("id".into(), json!(id));
        }
        let status = match self.status {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Failed | Status::NotRun => "failed",
        };
        m.insert("status".into(), json!(status));
        if let Some(p) = &self.output {
            m.insert("output".into(), json!(p.to_string_lossy()));
        }
        if let Some(b) = self.bytes {
            m.insert("bytes".into(), json!(b));
        }
        m.insert("ms".into(), json!(self.ms));
        if let Some(f) = &self.failure {
            m.insert("error".into(), json!(f.message));
            for (k, v) in [
                ("variable", f.variable.as_ref().map(|v| json!(v))),
                ("layer", f.layer.map(|l| json!(l))),
                ("field", f.field.as_ref().map(|v| json!(v))),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), v);
                }
            }
        }
        if !self.warnings.is_empty() {
            let list: Vec<Value> = self.warnings.iter().map(warning_json).collect();
            m.insert("warnings".into(), Value::Array(list));
        }
        Value::Object(m)
    }
}

/// A warning in the manifest: its kind, message and facts.
fn warning_json(w: &Warning) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!(w.kind()));
    m.insert("message".into(), json!(w.to_string()));
    if let Some(layer) = w.layer() {
        m.insert("layer".into(), json!(layer));
    }
    if let Some(field) = w.field() {
        m.insert("field".into(), json!(field));
    }
    if let Warning::MissingGlyphs { chars, family, .. } = w {
        let chars: Vec<String> = chars.iter().map(char::to_string).collect();
        m.insert("chars".into(), json!(chars));
        m.insert("family".into(), json!(family));
    }
    Value::Object(m)
}

/// Puts outcomes that arrive out of order back in order. It holds at most
/// the batch's window of rows (the reader never runs further ahead).
#[derive(Default)]
pub struct Reorder {
    next: u64,
    pending: BTreeMap<u64, Outcome>,
}

impl Reorder {
    /// Adds `o` and returns the outcomes now in order.
    pub fn push(&mut self, o: Outcome) -> Vec<Outcome> {
        self.pending.insert(o.seq, o);
        let mut ready = Vec::new();
        while let Some(o) = self.pending.remove(&self.next) {
            self.next += 1;
            ready.push(o);
        }
        ready
    }

    /// How many rows are done and written, in order.
    pub fn done(&self) -> u64 {
        self.next
    }
}

/// The manifest file, written line by line: each line with one `write`
/// as its row is done (in order), unbuffered, so that a batch stopped by a
/// signal (which exits without flushing) leaves whole lines only, for
/// every row done in order before it stopped.
pub struct Manifest {
    out: File,
    path: PathBuf,
    /// The bytes of the whole lines written.
    whole: u64,
}

impl Manifest {
    /// Creates (or truncates) the manifest at `path`, and its folder when
    /// missing (as the output folder is: shards started at once, each with
    /// its own manifest in the output folder, need no `mkdir` first).
    pub fn create(path: &Path) -> Result<Manifest, Error> {
        if path.is_dir() {
            return Err(Error::Options(format!(
                "--manifest {}: is a folder; give a file name",
                impasto::scene::shown_path(path)
            )));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::Output(format!(
                    "--manifest {}: {e}",
                    impasto::scene::shown_path(path)
                ))
            })?;
        }
        let file = File::create(path).map_err(|e| {
            Error::Output(format!(
                "--manifest {}: {e}",
                impasto::scene::shown_path(path)
            ))
        })?;
        Ok(Manifest {
            out: file,
            path: path.to_path_buf(),
            whole: 0,
        })
    }

    /// Appends one row's line. A line that cannot be written whole (the
    /// disk full) is cut off again, so the manifest keeps whole lines.
    pub fn write(&mut self, o: &Outcome) -> Result<(), Error> {
        let mut line = o.to_json().to_string();
        line.push('\n');
        match self.out.write_all(line.as_bytes()) {
            Ok(()) => {
                self.whole += line.len() as u64;
                Ok(())
            }
            Err(e) => {
                // The file is appended to from its start: cut at the end of
                // the last whole line (what a full disk allows: it frees).
                let _ = self.out.set_len(self.whole);
                Err(self.io(e))
            }
        }
    }

    /// Ends the manifest (every line is written already: nothing is
    /// buffered).
    pub fn finish(mut self) -> Result<(), Error> {
        self.out.flush().map_err(|e| self.io(e))
    }

    /// A write that failed while the batch ran: not bad input (exit 1).
    fn io(&self, source: std::io::Error) -> Error {
        let message = format!("cannot write the manifest (--manifest): {source}");
        Error::Io {
            path: self.path.clone(),
            source: std::io::Error::new(source.kind(), message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(seq: u64) -> Outcome {
        Outcome {
            seq,
            row: seq + 1,
            id: None,
            status: Status::Ok,
            output: None,
            bytes: None,
            ms: 0,
            failure: None,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn reorder_releases_outcomes_in_sequence_whatever_order_they_arrive_in() {
        let mut r = Reorder::default();
        assert!(r.push(outcome(1)).is_empty());
        assert!(r.push(outcome(2)).is_empty());
        let seqs: Vec<u64> = r.push(outcome(0)).iter().map(|o| o.seq).collect();
        assert_eq!(seqs, [0, 1, 2]);
        assert_eq!(r.done(), 3);
    }

    #[test]
    fn a_write_that_found_the_disk_full_is_told_from_other_failures() {
        let io = |kind| Error::Io {
            path: "out/a.png".into(),
            source: std::io::Error::from(kind),
        };
        assert!(Failure::of(&io(std::io::ErrorKind::StorageFull)).disk_full);
        assert!(Failure::of(&io(std::io::ErrorKind::QuotaExceeded)).disk_full);
        assert!(!Failure::of(&io(std::io::ErrorKind::PermissionDenied)).disk_full);
    }

    #[test]
    fn a_failed_line_carries_the_variable_layer_and_field() {
        let mut o = outcome(0);
        o.status = Status::Failed;
        o.failure = Some(Failure {
            message: "m".into(),
            variable: Some("accent".into()),
            layer: Some(0),
            field: Some("color".into()),
            disk_full: false,
        });
        let line = o.to_json().to_string();
        assert_eq!(
            line,
            r#"{"error":"m","field":"color","layer":0,"ms":0,"row":1,"status":"failed","variable":"accent"}"#
        );
    }

    #[test]
    fn a_written_line_carries_its_warnings_and_a_line_without_has_no_key() {
        let mut o = outcome(0);
        assert!(o.to_json().get("warnings").is_none());
        o.warnings.push(Warning::MissingGlyphs {
            layer: 3,
            chars: vec!['😀'],
            family: "Inter".into(),
        });
        let w = &o.to_json()["warnings"][0];
        assert_eq!(w["kind"], "missing_glyphs");
        assert_eq!(
            (w["layer"].as_u64(), w["field"].as_str()),
            (Some(3), Some("text"))
        );
        assert_eq!(w["chars"], json!(["😀"]));
        assert_eq!(w["family"], "Inter");
        assert!(w["message"].as_str().unwrap().contains("U+1F600"), "{w}");
    }
}
