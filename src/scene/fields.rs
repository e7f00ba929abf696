//! Reading one JSON object field by field, with errors that name where they
//! are: the location (canvas or layer), the field and the problem.

use serde_json::{Map, Value};

use crate::color::Color;
use crate::error::{Error, Location};

use super::names::{not_a_name, Named};
use super::{Stop, MAX_CANVAS_SIDE, MAX_COORD};

/// How the error of a field name no object of its kind has begins: such an
/// error is about the name, whatever the value (a template's variable
/// there is not its cause).
pub(crate) const UNKNOWN_FIELD: &str = "unknown field";

/// A JSON object being read field by field, with errors that know where they are.
pub(super) struct Fields<'a> {
    map: &'a Map<String, Value>,
    loc: Location,
}

impl<'a> Fields<'a> {
    /// Checks that every key of `map` is in `allowed`.
    pub(super) fn new(
        map: &'a Map<String, Value>,
        loc: Location,
        allowed: &[&str],
    ) -> Result<Self, Error> {
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                let hint = match closest(key, allowed) {
                    Some(s) => format!("; did you mean \"{s}\"?"),
                    None => String::new(),
                };
                let what = match &loc {
                    Location::Layer {
                        kind: Some(kind), ..
                    } => format!(
                        "{UNKNOWN_FIELD} for {} {kind} layer{hint} (allowed: {})",
                        article(kind),
                        allowed.join(", ")
                    ),
                    _ => format!("{UNKNOWN_FIELD}{hint} (allowed: {})", allowed.join(", ")),
                };
                return Err(Error::scene(loc, Some(key), what));
            }
        }
        Ok(Fields { map, loc })
    }

    pub(super) fn err(&self, field: &str, message: impl Into<String>) -> Error {
        Error::scene(self.loc.clone(), Some(field), message)
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    fn number(&self, key: &str, v: &Value) -> Result<f64, Error> {
        v.as_f64()
            .filter(|n| n.is_finite())
            .ok_or_else(|| self.err(key, format!("expected a number, got {}", kind_of(v))))
    }

    /// The number at `key`, `default` when absent. `lo == f64::MIN_POSITIVE`
    /// reads as "greater than 0".
    pub(super) fn number_in(
        &self,
        key: &str,
        default: f64,
        lo: f64,
        hi: f64,
    ) -> Result<f64, Error> {
        let Some(v) = self.get(key) else {
            return Ok(default);
        };
        let n = self.number(key, v)?;
        // A subnormal is above 0 but below MIN_POSITIVE ("greater than 0"):
        // say why it is refused.
        if lo == f64::MIN_POSITIVE && n > 0.0 && n < lo {
            return Err(self.err(
                key,
                format!(
                    "{} is too small: expected a number greater than 0 (and at least {lo:e}) and at most {hi}",
                    shown(n)
                ),
            ));
        }
        if n < lo || n > hi {
            let range = if lo == f64::MIN_POSITIVE {
                format!("greater than 0 and at most {hi}")
            } else {
                format!("from {lo} to {hi}")
            };
            return Err(self.err(
                key,
                format!("{} is out of range: expected a number {range}", shown(n)),
            ));
        }
        Ok(n)
    }

    /// The whole number at `key`, `default` when absent: a fraction or a
    /// value outside `lo..=hi` is refused, the message saying "integer".
    pub(super) fn integer_in(
        &self,
        key: &str,
        default: u32,
        lo: u32,
        hi: u32,
    ) -> Result<u32, Error> {
        let Some(v) = self.get(key) else {
            return Ok(default);
        };
        let range = format!("an integer from {lo} to {hi}");
        let Some(n) = v.as_f64().filter(|n| n.is_finite()) else {
            // CSS's keywords, which the format does not take: the number.
            let hint = match (key, v.as_str()) {
                ("weight", Some("normal")) => " (normal is 400)",
                ("weight", Some("bold")) => " (bold is 700)",
                _ => "",
            };
            return Err(self.err(key, format!("expected {range}, got {}{hint}", kind_of(v))));
        };
        if n.fract() != 0.0 {
            return Err(self.err(key, format!("expected {range}, got {}", shown(n))));
        }
        if n < f64::from(lo) || n > f64::from(hi) {
            return Err(self.err(
                key,
                format!("{} is out of range: expected {range}", shown(n)),
            ));
        }
        Ok(n as u32)
    }

    pub(super) fn coord(&self, key: &str, default: f64) -> Result<f64, Error> {
        self.number_in(key, default, -MAX_COORD, MAX_COORD)
    }

    /// A box side: greater than 0, at most [`MAX_COORD`].
    pub(super) fn size(&self, key: &str, default: f64) -> Result<f64, Error> {
        let Some(v) = self.get(key) else {
            return Ok(default);
        };
        let n = self.number(key, v)?;
        if n <= 0.0 || n > MAX_COORD {
            return Err(self.err(
                key,
                format!(
                    "{} is out of range: expected a number greater than 0 and at most {MAX_COORD}",
                    shown(n)
                ),
            ));
        }
        Ok(n)
    }

    pub(super) fn canvas_side(&self, key: &str) -> Result<u32, Error> {
        let v = self
            .get(key)
            .ok_or_else(|| self.err(key, "missing (required)"))?;
        let n = self.number(key, v)?;
        if n.fract() != 0.0 {
            return Err(self.err(
                key,
                format!(
                    "expected an integer from 1 to {MAX_CANVAS_SIDE}, got {}",
                    shown(n)
                ),
            ));
        }
        if !(1.0..=MAX_CANVAS_SIDE as f64).contains(&n) {
            return Err(self.err(
                key,
                format!(
                    "{} is out of range: expected an integer from 1 to {MAX_CANVAS_SIDE}",
                    shown(n)
                ),
            ));
        }
        Ok(n as u32)
    }

    /// The boolean at `key`, `default` when absent.
    pub(super) fn boolean(&self, key: &str, default: bool) -> Result<bool, Error> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.err(key, format!("expected true or false, got {}", kind_of(v)))),
        }
    }

    pub(super) fn string(&self, key: &str) -> Result<Option<&'a str>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(self.err(key, format!("expected a string, got {}", kind_of(v)))),
        }
    }

    /// The value a name at `key` stands for, `default` when absent.
    pub(super) fn named<T: Named>(&self, key: &str, default: T) -> Result<T, Error> {
        match self.string(key)? {
            None => Ok(default),
            Some(name) => T::from_name(name).ok_or_else(|| self.err(key, not_a_name::<T>(name))),
        }
    }

    pub(super) fn color(&self, key: &str) -> Result<Option<Color>, Error> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) => Color::parse_hex(s).map(Some).map_err(|m| self.err(key, m)),
        }
    }

    pub(super) fn required_color(&self, key: &str) -> Result<Color, Error> {
        self.color(key)?
            .ok_or_else(|| self.err(key, "missing (required)"))
    }

    pub(super) fn pair(&self, key: &str, default: [f64; 2]) -> Result<[f64; 2], Error> {
        let Some(v) = self.get(key) else {
            return Ok(default);
        };
        let bad = || {
            self.err(
                key,
                format!("expected an array of two numbers, got {}", kind_of(v)),
            )
        };
        let arr = v.as_array().ok_or_else(bad)?;
        if arr.len() != 2 {
            return Err(bad());
        }
        let mut pair = [0.0; 2];
        for (i, (e, out)) in arr.iter().zip(&mut pair).enumerate() {
            *out = e.as_f64().filter(|n| n.is_finite()).ok_or_else(|| {
                self.err(
                    key,
                    format!("item {i}: expected a number, got {}", kind_of(e)),
                )
            })?;
            if out.abs() > MAX_COORD {
                return Err(self.err(
                    key,
                    format!(
                        "item {i}: {} is out of range: expected a number from -{MAX_COORD} to {MAX_COORD}",
                        shown(*out)
                    ),
                ));
            }
        }
        Ok(pair)
    }

    /// The `stops` of a gradient: at least two, offsets not decreasing.
    pub(super) fn stops(&self) -> Result<Vec<Stop>, Error> {
        let v = self
            .get("stops")
            .ok_or_else(|| self.err("stops", "missing (required: at least two stops)"))?;
        let arr = v
            .as_array()
            .ok_or_else(|| self.err("stops", format!("expected an array, got {}", kind_of(v))))?;
        if arr.len() < 2 {
            return Err(self.err(
                "stops",
                format!("expected at least two stops, got {}", arr.len()),
            ));
        }
        let mut stops: Vec<Stop> = Vec::with_capacity(arr.len());
        for (i, sv) in arr.iter().enumerate() {
            let prev = stops.last().map(|s| s.offset);
            stops.push(self.stop(i, sv, prev)?);
        }
        Ok(stops)
    }

    /// Stop `i` of `stops`, whose offset must not be less than `prev`.
    fn stop(&self, i: usize, sv: &Value, prev: Option<f64>) -> Result<Stop, Error> {
        let field = format!("stops[{i}]");
        let map = sv.as_object().ok_or_else(|| {
            self.err(
                &field,
                format!(
                    "expected an object with \"offset\" and \"color\", got {}",
                    kind_of(sv)
                ),
            )
        })?;
        for key in map.keys() {
            if key != "offset" && key != "color" {
                let hint = match closest(key, &["offset", "color"]) {
                    Some(s) => format!("; did you mean \"{s}\"?"),
                    None => String::new(),
                };
                return Err(self.err(
                    &format!("{field}.{key}"),
                    format!("{UNKNOWN_FIELD}{hint} (allowed: offset, color)"),
                ));
            }
        }
        let off_field = format!("{field}.offset");
        let offset = match map.get("offset") {
            None => return Err(self.err(&off_field, "missing (required)")),
            Some(ov) => self.number(&off_field, ov)?,
        };
        if !(0.0..=1.0).contains(&offset) {
            return Err(self.err(
                &off_field,
                format!(
                    "{} is out of range: expected a number from 0 to 1",
                    shown(offset)
                ),
            ));
        }
        if let Some(prev) = prev {
            if offset < prev {
                return Err(self.err(
                    &off_field,
                    format!("{offset} is less than the previous stop's offset {prev}: offsets must not decrease"),
                ));
            }
        }
        let col_field = format!("{field}.color");
        let color = match map.get("color") {
            None => return Err(self.err(&col_field, "missing (required)")),
            Some(Value::String(s)) => Color::parse_hex(s).map_err(|m| self.err(&col_field, m))?,
            Some(cv) => {
                return Err(self.err(
                    &col_field,
                    format!("expected a string, got {}", kind_of(cv)),
                ))
            }
        };
        Ok(Stop { offset, color })
    }
}

/// A number as an error message shows it: in exponent form when very
/// large or very small (`1e300`, not 301 digits).
pub(super) fn shown(n: f64) -> String {
    if n != 0.0 && !(1e-6..1e15).contains(&n.abs()) {
        format!("{n:e}")
    } else {
        format!("{n}")
    }
}

/// How an error message describes a JSON value it did not expect.
pub(crate) fn kind_of(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("the number {}", shown(f)),
            _ => format!("the number {n}"),
        },
        Value::String(s) => format!("the string {}", super::quoted(s)),
        Value::Array(a) if a.len() == 1 => "an array of 1 item".into(),
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

/// The allowed name closest to `key` (edit distance at most 2), for hints.
pub(crate) fn closest<'b>(key: &str, allowed: &[&'b str]) -> Option<&'b str> {
    // Another case is no misspelling (a CSV column `PHOTO`).
    if let Some(a) = allowed.iter().find(|a| a.eq_ignore_ascii_case(key)) {
        return Some(a);
    }
    if let Some(&(_, to)) = ALIASES.iter().find(|(from, _)| *from == key) {
        if let Some(a) = allowed.iter().find(|a| **a == to) {
            return Some(a);
        }
    }
    let length = key.chars().count();
    // Two edits on a short name reach unrelated ones ("id" to "x", "file"
    // to "fit"): one edit up to five letters, none (only another case or
    // an alias, above) for one or two ("w" is no misspelt "a").
    let most = match length {
        0..=2 => return None,
        3..=5 => 1,
        _ => 2,
    };
    // Names whose lengths differ by more are further apart: skipped
    // unmeasured (a 60 MB field name took tens of seconds to compare).
    allowed
        .iter()
        .filter(|a| a.chars().count().abs_diff(length) <= most)
        .map(|a| (edit_distance(key, a), *a))
        .filter(|(d, _)| *d <= most)
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

/// The names other tools (CSS, satori, Pillow, sharp) give some fields,
/// with ours; suggested only where ours is allowed.
const ALIASES: &[(&str, &str)] = &[
    ("file", "src"),
    ("url", "src"),
    ("path", "src"),
    ("href", "src"),
    ("source", "src"),
    ("image", "src"),
    ("rotation", "rotate"),
    ("angle", "rotate"),
    ("radius", "corner_radius"),
    ("border_radius", "corner_radius"),
    ("borderRadius", "corner_radius"),
    ("cornerRadius", "corner_radius"),
    ("rounded", "corner_radius"),
    ("fontSize", "size"),
    ("font_size", "size"),
    ("fontWeight", "weight"),
    ("font_weight", "weight"),
    ("fontFamily", "font"),
    ("font_family", "font"),
    ("family", "font"),
    ("fontStyle", "style"),
    ("font_style", "style"),
    ("fill", "color"),
    ("alpha", "opacity"),
    ("blendMode", "blend"),
    ("blend_mode", "blend"),
    ("mixBlendMode", "blend"),
    ("mode", "blend"),
    ("hidden", "visible"),
    ("display", "visible"),
    ("content", "text"),
    ("value", "text"),
    ("lineHeight", "line_height"),
    ("letterSpacing", "letter_spacing"),
    ("textAlign", "align"),
    ("text_align", "align"),
    ("verticalAlign", "valign"),
    ("maxLines", "max_lines"),
    ("minSize", "min_size"),
    ("objectFit", "fit"),
    ("object_fit", "fit"),
    ("objectPosition", "position"),
    ("kernel", "filter"),
    ("left", "x"),
    ("top", "y"),
    ("w", "width"),
    ("h", "height"),
    ("backgroundColor", "background"),
    ("background_color", "background"),
    ("bg", "background"),
    ("blendSpace", "blend_space"),
];

/// Edits (insert, delete, substitute, or swap two neighbours: `titel` is
/// one from `title`) from `a` to `b`: the optimal string alignment
/// distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut before: Vec<usize> = Vec::new();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

/// "a" or "an" before `word` (by its first letter: the layer types).
fn article(word: &str) -> &'static str {
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("heigth", "height"), 1, "a swap is one edit");
        assert_eq!(edit_distance("abc", "ca"), 3);
        assert_eq!(edit_distance("x", "x"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn closest_suggests_only_near_names() {
        assert_eq!(closest("heigth", &["width", "height"]), Some("height"));
        assert_eq!(closest("colour", &["color"]), Some("color"));
        assert_eq!(closest("banana", &["width", "height"]), None);
        // Short names: one edit at most; other tools' names by alias.
        assert_eq!(closest("id", &["x", "y", "src"]), None);
        assert_eq!(closest("w", &["a", "x"]), None);
        assert_eq!(closest("X", &["x"]), Some("x"), "another case is no edit");
        assert_eq!(closest("file", &["fit", "src"]), Some("src"));
        assert_eq!(closest("url", &["src"]), Some("src"));
        // A huge name is compared by length alone (quadratic otherwise).
        assert_eq!(closest(&"x".repeat(1 << 24), &["width", "x"]), None);
        assert_eq!(closest("rotation", &["rotate"]), Some("rotate"));
        assert_eq!(
            closest("radius", &["corner_radius", "color"]),
            Some("corner_radius")
        );
        assert_eq!(closest("fontSize", &["size", "font"]), Some("size"));
        assert_eq!(
            closest("fill", &["stops"]),
            None,
            "no alias to a field not allowed"
        );
        assert_eq!(closest("opcity", &["opacity"]), Some("opacity"));
        // Two letters swapped are one edit.
        assert_eq!(closest("titel", &["title", "price"]), Some("title"));
        assert_eq!(closest("PHOTO", &["photo", "price"]), Some("photo"));
        assert_eq!(closest("wdith", &["width", "height"]), Some("width"));
    }

    #[test]
    fn numbers_in_messages_are_short_however_large_or_small() {
        assert_eq!(shown(1e300), "1e300");
        assert_eq!(shown(-1e-300), "-1e-300");
        assert_eq!(shown(16385.0), "16385");
        assert_eq!(shown(1.5), "1.5");
        assert_eq!(shown(0.0), "0");
        assert_eq!(kind_of(&serde_json::json!([0.5])), "an array of 1 item");
        assert_eq!(
            kind_of(&serde_json::json!([1, 2, 3])),
            "an array of 3 items"
        );
    }
}
