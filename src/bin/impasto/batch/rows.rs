//! The rows of a batch, streamed one at a time: a CSV file with a header
//! row, a JSON Lines file, or JSON Lines on standard input.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use impasto::scene::quoted;
use impasto::{Error, Template};
use serde_json::{Map, Value};

pub use capped::max_row_bytes;
use capped::{Capped, RowBytes};

mod capped;

/// One row's values: text from CSV, JSON from JSONL.
#[derive(Debug, Clone)]
pub enum RowData {
    /// A CSV row, keyed by header name.
    Text(BTreeMap<String, String>),
    /// A JSONL object.
    Json(Map<String, Value>),
}

/// A JSON number as a template reference writes it: a whole number as an
/// integer (`12.0` and `12` are `12`, `-0` is `0`), others as JSON does.
fn number_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => (f as i64).to_string(),
        _ => n.to_string(),
    }
}

impl RowData {
    /// Whether `key` holds a JSON object or array (no text for a path).
    pub fn is_structured(&self, key: &str) -> bool {
        matches!(
            self,
            RowData::Json(m) if matches!(m.get(key), Some(Value::Object(_) | Value::Array(_)))
        )
    }

    /// Whether the row has `key` with a value that is text (an empty CSV
    /// cell, `""`), not absent or null.
    pub fn has_text_key(&self, key: &str) -> bool {
        match self {
            RowData::Text(m) => m.contains_key(key),
            RowData::Json(m) => m.get(key).is_some_and(|v| !v.is_null()),
        }
    }

    /// The value of `key` as text, for the output pattern and the `id`;
    /// `None` when absent, empty or null.
    pub fn text(&self, key: &str) -> Option<String> {
        let s = match self {
            RowData::Text(m) => m.get(key).cloned(),
            RowData::Json(m) => match m.get(key) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(number_text(n)),
                Some(other) => Some(other.to_string()),
            },
        };
        s.filter(|s| !s.is_empty())
    }

    /// A CSV cell of an image variable holding a `data:` URL cut before
    /// its data: the field was not quoted, so the URL's ',' ended it (the
    /// columns happened to match, or a hint would have said so as the row
    /// was read). The variable and the row's failure, saying to quote it.
    pub fn cut_data_url(&self, template: &Template) -> Option<(String, String)> {
        let RowData::Text(m) = self else {
            return None;
        };
        template
            .variables()
            .iter()
            .filter(|v| v.ty == impasto::template::VarType::Image)
            .find_map(|v| {
                let cell = m.get(&v.name)?;
                is_cut_data_url(cell.trim_start()).then(|| {
                    (
                        v.name.clone(),
                        format!(
                            "column {}: {} is a data: URL cut before its data: a data: URL holds a ',', which ends a CSV field not in quotes: put the field in double quotes (\"data:image/png;base64,...\")",
                            quoted(&v.name),
                            quoted(cell)
                        ),
                    )
                })
            })
    }

    /// The scene this row makes from `template`.
    pub fn bind(&self, template: &Template) -> Result<impasto::Scene, Error> {
        match self {
            RowData::Text(m) => template.bind(m),
            RowData::Json(m) => template.bind_json(m),
        }
    }
}

/// A row as read: its number (from 1, header excluded) and its values, or
/// why it could not be read (that row fails; the others go on).
pub type Row = (u64, Result<RowData, Unread>);

/// Why a row could not be read, and its `id` where that is still certain.
#[derive(Debug)]
pub struct Unread {
    /// The row's `id`: only for a CSV row with the wrong number of fields
    /// whose first column is `id` (what comes before the first field cannot
    /// be shifted by a stray comma or a missing field).
    pub id: Option<String>,
    /// The error, naming the line.
    pub message: String,
}

impl Unread {
    fn new(message: String) -> Unread {
        Unread { id: None, message }
    }
}

/// Where the rows come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A CSV file whose first row names the columns.
    Csv(PathBuf),
    /// A JSON Lines file: one object per line.
    Jsonl(PathBuf),
    /// JSON Lines on standard input.
    Stdin,
    /// CSV on standard input (`--data - --data-format csv`).
    StdinCsv,
}

/// `--data-format`: how the rows are written, whatever the file's name.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataFormat {
    /// Comma-separated values whose first row names the columns.
    Csv,
    /// JSON Lines: one object per line.
    Jsonl,
}

impl Source {
    /// `format` when given; else `-` is JSONL on standard input, and a
    /// file's extension decides.
    pub fn of(path: &Path, format: Option<DataFormat>) -> Result<Source, Error> {
        let stdin = path.as_os_str() == "-";
        match (format, stdin) {
            (Some(DataFormat::Csv), true) => return Ok(Source::StdinCsv),
            (Some(DataFormat::Jsonl), true) | (None, true) => return Ok(Source::Stdin),
            (Some(DataFormat::Csv), false) => return Ok(Source::Csv(path.to_path_buf())),
            (Some(DataFormat::Jsonl), false) => return Ok(Source::Jsonl(path.to_path_buf())),
            (None, false) => {}
        }
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => Ok(Source::Csv(path.to_path_buf())),
            Some(e) if e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson") => {
                Ok(Source::Jsonl(path.to_path_buf()))
            }
            _ => Err(Error::Options(format!(
                "--data {}: expected a .csv file (with a header row), a .jsonl or .ndjson file, or - for JSON Lines on standard input (--data-format csv|jsonl names the format of another name, or of -)",
                impasto::scene::shown_path(path)
            ))),
        }
    }

    /// The number of rows, counted by a first pass over a file (memory
    /// stays flat: each row of at most `cap` bytes, or the count fails);
    /// `None` for standard input.
    pub fn count(&self, cap: u64) -> Result<Option<u64>, Error> {
        let row = RowBytes::default();
        let open = |path: &Path| -> Result<Capped, Error> {
            Ok(Capped::new(Box::new(open(path)?), row.clone(), cap))
        };
        // A pipe (a FIFO, a process substitution, a device) is read once:
        // a count would take its rows, and opening it again waits forever.
        let regular = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file());
        match self {
            Source::Stdin | Source::StdinCsv => Ok(None),
            Source::Csv(path) | Source::Jsonl(path) if !regular(path) => Ok(None),
            Source::Csv(path) => {
                let mut reader = csv_reader(open(path)?);
                let mut record = csv::ByteRecord::new();
                let mut n = 0;
                // A malformed record still counts: it is a row that fails.
                loop {
                    row.next_row();
                    match reader.read_byte_record(&mut record) {
                        Ok(true) => n += 1,
                        Ok(false) => break,
                        Err(e) if e.is_io_error() => return Err(io_error(path, e)),
                        Err(_) => n += 1,
                    }
                }
                Ok(Some(n))
            }
            Source::Jsonl(path) => {
                let mut n = 0;
                for line in BufReader::new(open(path)?).split(b'\n') {
                    let line = line.map_err(|e| Error::Io {
                        path: path.clone(),
                        source: e,
                    })?;
                    row.next_row();
                    if !line.trim_ascii().is_empty() {
                        n += 1;
                    }
                }
                Ok(Some(n))
            }
        }
    }

    /// Opens the rows, each of at most `cap` bytes
    /// ([`capped::max_row_bytes`]); for CSV, also the header's column names.
    pub fn open(&self, cap: u64) -> Result<(Rows, Option<Vec<String>>), Error> {
        let row = RowBytes::default();
        let capped =
            |r: Box<dyn Read>| -> Box<dyn Read> { Box::new(Capped::new(r, row.clone(), cap)) };
        let (path, input): (&Path, Box<dyn Read>) = match self {
            Source::Stdin => {
                let input = capped(Box::new(std::io::stdin()));
                return Ok((Rows::jsonl(input, "-", row), None));
            }
            Source::Jsonl(path) => {
                let input = capped(Box::new(open(path)?));
                let what = impasto::scene::shown_path(path);
                return Ok((Rows::jsonl(input, &what, row), None));
            }
            Source::Csv(path) => (path, capped(Box::new(open(path)?))),
            Source::StdinCsv => (Path::new("-"), capped(Box::new(std::io::stdin()))),
        };
        Source::csv_rows(path, input, row)
    }

    /// CSV rows read from `input` (`path` names it), and the header's
    /// column names.
    fn csv_rows(
        path: &Path,
        input: Box<dyn Read>,
        row: RowBytes,
    ) -> Result<(Rows, Option<Vec<String>>), Error> {
        let mut reader = csv_reader(input);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| {
                // A spreadsheet's "Unicode text" export is UTF-16.
                let utf16 = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "; is the file UTF-16? Save it as CSV UTF-8",
                    _ => "",
                };
                Error::Options(format!(
                    "--data {}: {e}{utf16}",
                    impasto::scene::shown_path(path)
                ))
            })?
            .iter()
            // No variable name holds a space: `id, title` names
            // `title`.
            .map(|h| h.trim().to_owned())
            .collect();
        // An empty file has no header to name columns: said so (it read
        // as a header of no columns, missing every required variable).
        if headers.iter().all(String::is_empty) {
            return Err(Error::Options(format!(
                "--data {}: the file has no header row (it is empty, or its first line is): a CSV's first row names the columns",
                impasto::scene::shown_path(path)
            )));
        }
        // A spreadsheet's export in some locales is separated by
        // semicolons (or tabs): read with commas, its header is one column,
        // and every row rendered with the defaults.
        if let [only] = &headers[..] {
            let by = [(';', "semicolons"), ('\t', "tabs")];
            if let Some((_, by)) = by.into_iter().find(|(c, _)| only.contains(*c)) {
                return Err(Error::Options(format!(
                    "--data {}: the header is one column, {}, holding {by}: the file is separated by {by}, and CSV is read with commas (save it as CSV with commas)",
                    impasto::scene::shown_path(path),
                    quoted(only)
                )));
            }
        }
        // UTF-16 without a byte-order mark reads as text with NULs.
        if headers.iter().any(|h| h.contains('\0')) {
            return Err(Error::Options(format!(
                "--data {}: the header holds NUL characters: is the file UTF-16? Save it as CSV UTF-8",
                impasto::scene::shown_path(path)
            )));
        }
        for (i, h) in headers.iter().enumerate() {
            // Unnamed columns (a spreadsheet's trailing empty ones, `a,b,,`)
            // name nothing, and are not read.
            if !h.is_empty() && headers[..i].contains(h) {
                return Err(Error::Options(format!(
                    "--data {}: the column {} appears twice in the header",
                    quoted(&path.display().to_string()),
                    quoted(h)
                )));
            }
        }
        let rows = Rows::Csv {
            reader: Box::new(reader),
            headers: headers.clone(),
            path: path.to_path_buf(),
            n: 0,
            row,
        };
        Ok((rows, Some(headers)))
    }
}

fn open(path: &Path) -> Result<File, Error> {
    File::open(path)
        .map_err(|e| Error::Options(format!("--data {}: {e}", impasto::scene::shown_path(path))))
}

fn csv_reader(r: impl Read + 'static) -> csv::Reader<Box<dyn Read>> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(Box::new(r) as Box<dyn Read>)
}

/// Whether the record that starts at `start` (its position) runs to the
/// end of the file with a quote never closed: a quote opened and never
/// closed swallows every row after it into one field (the csv crate reads
/// on to the end of the file), so the batch would report one row, or one
/// bad row, and silently no more. Told by the record's quotes: from its
/// start to the end of the file their number is odd (a closed field has an
/// even number, `""` escapes included). Only the last record is read again.
fn unclosed_quote(start: &csv::Position, reader: &csv::Reader<Box<dyn Read>>, path: &Path) -> bool {
    use std::io::{Seek, SeekFrom};
    let at_end = std::fs::metadata(path).is_ok_and(|m| m.len() == reader.position().byte());
    if !at_end {
        return false;
    }
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    if file.seek(SeekFrom::Start(start.byte())).is_err() {
        return false;
    }
    let (mut quotes, mut buf) = (0usize, vec![0u8; 64 << 10]);
    loop {
        match file.read(&mut buf) {
            Ok(0) => return quotes % 2 == 1,
            Ok(n) => quotes += buf[..n].iter().filter(|&&b| b == b'"').count(),
            Err(_) => return false,
        }
    }
}

/// The line of the file the record at `pos` starts on. The csv crate counts
/// a line at each line feed it reads, and ends a record at the `\r` of a
/// `\r\n`: the record after it is said to start at that line feed, one
/// line early. Told by the byte there (one read; only for rows in error).
fn record_line(pos: &csv::Position, path: &Path) -> u64 {
    use std::io::{Seek, SeekFrom};
    let mut byte = [0u8];
    let at_line_feed = File::open(path).is_ok_and(|mut f| {
        f.seek(SeekFrom::Start(pos.byte())).is_ok() && f.read_exact(&mut byte).is_ok()
    }) && byte[0] == b'\n';
    pos.line() + u64::from(at_line_feed)
}

/// `message` (the csv crate's, which says `line: N` of the record at
/// `pos`) with `line`, the one [`record_line`] finds.
fn with_record_line(message: String, pos: &csv::Position, line: u64) -> String {
    if line == pos.line() {
        return message;
    }
    message.replacen(
        &format!("line: {},", pos.line()),
        &format!("line: {line},"),
        1,
    )
}

/// The hint [`unclosed_quote`] gives, for the record starting on `line`.
fn unclosed_hint(line: u64) -> String {
    format!(
        "a quoted field opened in the record starting on line {line} is never closed (a missing \"), so the rest of the file was read into it"
    )
}

fn io_error(path: &Path, e: csv::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// The rows, read one at a time.
pub enum Rows {
    Csv {
        reader: Box<csv::Reader<Box<dyn Read>>>,
        headers: Vec<String>,
        path: PathBuf,
        n: u64,
        /// Bytes read into the row being read (`capped`).
        row: RowBytes,
    },
    Jsonl {
        lines: std::io::Split<BufReader<Box<dyn Read>>>,
        what: String,
        n: u64,
        /// Lines read, blank ones too.
        read: u64,
        /// Bytes read into the row being read (`capped`).
        row: RowBytes,
    },
}

impl Rows {
    fn jsonl(r: Box<dyn Read>, what: &str, row: RowBytes) -> Rows {
        Rows::Jsonl {
            lines: BufReader::new(r).split(b'\n'),
            what: what.to_owned(),
            n: 0,
            read: 0,
            row,
        }
    }

    /// The next row; `Err` only when the input itself cannot be read (the
    /// batch stops).
    pub fn next_row(&mut self) -> Result<Option<Row>, Error> {
        match self {
            Rows::Csv {
                reader,
                headers,
                path,
                n,
                row,
            } => {
                row.next_row();
                let mut record = csv::StringRecord::new();
                match reader.read_record(&mut record) {
                    Ok(false) => Ok(None),
                    Ok(true) => {
                        *n += 1;
                        if let Some(pos) = record.position() {
                            if unclosed_quote(pos, reader, path) {
                                let hint = unclosed_hint(record_line(pos, path));
                                return Ok(Some((*n, Err(Unread::new(format!("--data: {hint}"))))));
                            }
                        }
                        let map = headers
                            .iter()
                            .cloned()
                            .zip(record.iter().map(str::to_owned))
                            .collect();
                        Ok(Some((*n, Ok(RowData::Text(map)))))
                    }
                    Err(e) if e.is_io_error() => Err(io_error(path, e)),
                    Err(e) => {
                        *n += 1;
                        let message = match e.kind() {
                            csv::ErrorKind::UnequalLengths { pos: Some(pos), .. }
                                if unclosed_quote(pos, reader, path) =>
                            {
                                let line = record_line(pos, path);
                                let e = with_record_line(e.to_string(), pos, line);
                                format!("{e}; {}", unclosed_hint(line))
                            }
                            // The csv crate compares with "the previous
                            // record", which is the header here.
                            csv::ErrorKind::UnequalLengths { pos, len, .. } => format!(
                                "{}this row has {len} field{}, the header {} column{}{}",
                                pos.as_ref().map_or(String::new(), |p| format!(
                                    "line {}: ",
                                    record_line(p, path)
                                )),
                                if *len == 1 { "" } else { "s" },
                                headers.len(),
                                if headers.len() == 1 { "" } else { "s" },
                                data_url_hint(&record),
                            ),
                            _ => match e.position() {
                                Some(pos) => {
                                    with_record_line(e.to_string(), pos, record_line(pos, path))
                                }
                                None => e.to_string(),
                            },
                        };
                        // A first column `id` is the row's even when a
                        // later field is missing or split by a comma.
                        let id = match e.kind() {
                            csv::ErrorKind::UnequalLengths { .. }
                                if headers.first().is_some_and(|h| h == "id") =>
                            {
                                record.get(0).map(str::to_owned)
                            }
                            _ => None,
                        };
                        let message = format!("--data: {message}");
                        Ok(Some((*n, Err(Unread { id, message }))))
                    }
                }
            }
            Rows::Jsonl {
                lines,
                what,
                n,
                read,
                row,
            } => loop {
                row.next_row();
                let Some(line) = lines.next() else {
                    return Ok(None);
                };
                let mut line = line.map_err(|e| Error::Io {
                    path: PathBuf::from(what.as_str()),
                    source: e,
                })?;
                *read += 1;
                // A byte-order mark before the first row, as editors on
                // Windows write (scene and CSV files allow one too).
                if *n == 0 && line.starts_with(b"\xef\xbb\xbf") {
                    line.drain(..3);
                }
                if line.trim_ascii().is_empty() {
                    continue;
                }
                *n += 1;
                return Ok(Some((*n, json_row(&line, *read).map_err(Unread::new))));
            },
        }
    }
}

/// One JSON Lines row, read from line `at` of the input (blank lines are
/// not rows, so row and line numbers may differ: errors give the line).
fn json_row(line: &[u8], at: u64) -> Result<RowData, String> {
    match impasto::scene::json_from_slice_strict(line) {
        Ok(Value::Object(map)) => Ok(RowData::Json(map)),
        // Described, not written out: a line may be megabytes.
        Ok(other) => Err(format!(
            "--data: line {at}: expected a JSON object, got {}",
            match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            }
        )),
        // A duplicate key, or a tree over its bound: the JSON reads, the
        // row is refused all the same. (serde_json counts lines within the
        // row, which is one line.)
        Err(e) if e.classify() == serde_json::error::Category::Data => Err(format!(
            "--data: line {at}: {}",
            e.to_string().replace(" at line 1 column ", " at column ")
        )),
        Err(e) => {
            // Not an object at all, with commas: CSV given as JSON Lines
            // (`--data -` reads JSON Lines unless --data-format csv).
            let text = String::from_utf8_lossy(line);
            let csv = !text.trim_start().starts_with(['{', '[', '"']) && text.contains(',');
            let utf16 = line.starts_with(&[0xFF, 0xFE]) || line.starts_with(&[0xFE, 0xFF]);
            let hint = match (utf16 || line.contains(&0), csv) {
                (true, _) => " (is the file UTF-16? Save it as UTF-8)",
                (false, true) => " (is this CSV? give --data-format csv, or name the file .csv)",
                (false, false) => "",
            };
            Err(format!(
                "--data: line {at}: invalid JSON: {}{hint}",
                impasto::scene::describe_json_error(&e)
                    .replace(" at line 1 column ", " at column ")
            ))
        }
    }
}

/// A hint for a CSV row with more fields than the header when one of them
/// is a `data:` URL cut at its comma (`data:image/png;base64` then the
/// data): the field must be quoted. (The csv crate fills the record before
/// it compares its length.)
fn data_url_hint(record: &csv::StringRecord) -> &'static str {
    match record.iter().any(is_cut_data_url) {
        true => "; a data: URL holds a ',': put the field in double quotes (\"data:image/png;base64,...\")",
        false => "",
    }
}

/// Whether `field` starts a `data:` URL but holds no `,`: one cut at its
/// comma, its data in the next CSV field.
fn is_cut_data_url(field: &str) -> bool {
    field
        .get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("data:"))
        && !field.contains(',')
}

#[cfg(test)]
mod tests;
