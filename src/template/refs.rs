//! References inside a template's strings: `{{name}}` and the escape `\{{`,
//! and where in the document each string sits (for errors).

use serde_json::Value;

use crate::error::Location;
use crate::scene::quoted;

/// One piece of a template string.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Part {
    /// Text copied as it is (escapes already undone).
    Lit(String),
    /// A reference to the variable of this name.
    Var(String),
}

/// Where a string sits in the document: the canvas or a layer, and the
/// field path inside it (`"text"`, `"stops[1].color"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The canvas or the layer (index and type, when the type is a literal).
    pub location: Location,
    /// The field, as the scene parser names it (`"stops[1].color"`).
    pub field: String,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: field \"{}\"", self.location, self.field)
    }
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

/// A string of the template that holds a reference or an escape.
#[derive(Debug, Clone)]
pub(super) struct Slot {
    /// Its path from the document root.
    pub path: Vec<Seg>,
    /// Its pieces.
    pub parts: Vec<Part>,
    /// Where it is, for errors.
    pub place: Place,
}

/// True for a name a variable may have: a letter or `_`, then letters,
/// digits, `_`, `-` or `.`.
pub(super) fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Splits `s` into literal text and references. `\{{` is a literal `{{`,
/// and `\\{{name}}` a backslash before a reference (backslashes before
/// `{{` pair up; elsewhere they are literal); `{{ name }}` may have spaces
/// inside the braces. `None` when the string
/// has neither a reference nor an escape (it is copied as it is).
pub(super) fn split(s: &str) -> Result<Option<Vec<Part>>, String> {
    if !s.contains("{{") {
        return Ok(None);
    }
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("{{") {
        // Backslashes before `{{` pair up: `\\` is one backslash, and an
        // odd one left makes the `{{` literal.
        let slashes = rest[..at].len() - rest[..at].trim_end_matches('\\').len();
        lit.push_str(&rest[..at - slashes]);
        lit.push_str(&"\\".repeat(slashes / 2));
        if slashes % 2 == 1 {
            lit.push_str("{{");
            rest = &rest[at + 2..];
            continue;
        }
        let after = &rest[at + 2..];
        let Some(end) = after.find("}}") else {
            return Err(format!(
                "{}: \"{{{{\" without a closing \"}}}}\" (write \\{{{{ for a literal {{{{)",
                quoted(s)
            ));
        };
        // Spaces and tabs around the name, as the format says; a line
        // separator or a no-break space is part of it (and no name holds
        // one), not trimmed away unseen.
        let name = after[..end].trim_matches([' ', '\t']);
        if !is_name(name) {
            return Err(format!(
                "{}: {} is not a variable name (a letter or _, then letters, digits, _, - or .)",
                quoted(s),
                quoted(&after[..end])
            ));
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(std::mem::take(&mut lit)));
        }
        parts.push(Part::Var(name.to_owned()));
        rest = &after[end + 2..];
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        parts.push(Part::Lit(lit));
    }
    Ok(Some(parts))
}

/// Every string of `doc` (the template without its `variables`) that holds
/// a reference or an escape, in document order.
pub(super) fn collect(doc: &Value) -> Result<Vec<Slot>, (Place, String)> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    walk(doc, doc, &mut path, &mut out)?;
    Ok(out)
}

fn walk(
    root: &Value,
    v: &Value,
    path: &mut Vec<Seg>,
    out: &mut Vec<Slot>,
) -> Result<(), (Place, String)> {
    match v {
        Value::String(s) => {
            let parts = split(s).map_err(|m| (place_of(root, path), m))?;
            if let Some(parts) = parts {
                out.push(Slot {
                    path: path.clone(),
                    parts,
                    place: place_of(root, path),
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                walk(root, item, path, out)?;
                path.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                path.push(Seg::Key(k.clone()));
                walk(root, item, path, out)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

/// The place a path names: `layers[i]...` is layer `i`, the rest the canvas.
pub(super) fn place_of(root: &Value, path: &[Seg]) -> Place {
    let (location, rest) = match path {
        [Seg::Key(k), Seg::Index(index), rest @ ..] if k == "layers" => {
            let kind = root["layers"][*index]["type"]
                .as_str()
                .filter(|t| !t.contains("{{"))
                .map(str::to_owned);
            (
                Location::Layer {
                    index: *index,
                    kind,
                },
                rest,
            )
        }
        _ => (Location::Canvas, path),
    };
    let mut field = String::new();
    for seg in rest {
        match seg {
            Seg::Key(k) if field.is_empty() => field.push_str(k),
            Seg::Key(k) => {
                field.push('.');
                field.push_str(k);
            }
            Seg::Index(i) => field.push_str(&format!("[{i}]")),
        }
    }
    Place { location, field }
}

/// The value at `path` in `doc`, to overwrite. The path was collected from
/// a copy of the same document, so it exists.
pub(super) fn at_mut<'v>(doc: &'v mut Value, path: &[Seg]) -> Option<&'v mut Value> {
    path.iter().try_fold(doc, |v, seg| match seg {
        Seg::Key(k) => v.get_mut(k.as_str()),
        Seg::Index(i) => v.get_mut(*i),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn split_finds_references_undoes_escapes_and_leaves_plain_strings_alone() {
        assert_eq!(split("plain }} text").unwrap(), None);
        assert_eq!(
            split("{{title}} — {{ price }}!").unwrap().unwrap(),
            vec![
                Part::Var("title".into()),
                Part::Lit(" — ".into()),
                Part::Var("price".into()),
                Part::Lit("!".into()),
            ]
        );
        assert_eq!(
            split(r"\{{title}} {{a}}").unwrap().unwrap(),
            vec![Part::Lit("{{title}} ".into()), Part::Var("a".into())]
        );
        // A backslash before a reference (a Windows path): `\\` is one.
        assert_eq!(
            split(r"C:\files\\{{name}}.png").unwrap().unwrap(),
            vec![
                Part::Lit(r"C:\files\".into()),
                Part::Var("name".into()),
                Part::Lit(".png".into()),
            ]
        );
        assert_eq!(
            split(r"a\\\{{b}}").unwrap().unwrap(),
            vec![Part::Lit(r"a\{{b}}".into())]
        );
    }

    #[test]
    fn split_refuses_an_unclosed_reference_and_a_bad_name() {
        assert!(split("{{title").unwrap_err().contains("without a closing"));
        assert!(split("{{1x}}").unwrap_err().contains("not a variable name"));
        assert!(split("{{}}").unwrap_err().contains("not a variable name"));
    }

    #[test]
    fn places_name_the_layer_its_type_and_the_field_path() {
        let doc = json!({"background": "{{bg}}", "layers": [
            {"type": "rect", "color": "#fff"},
            {"type": "linear-gradient", "stops": [{"offset": 0, "color": "#000"}, {"offset": 1, "color": "{{c}}"}]}
        ]});
        let slots = collect(&doc).unwrap();
        let places: Vec<String> = slots.iter().map(|s| s.place.to_string()).collect();
        assert_eq!(
            places,
            [
                "canvas: field \"background\"",
                "layer 1 (linear-gradient): field \"stops[1].color\""
            ]
        );
    }
}
