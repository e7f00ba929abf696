//! The `variables` block: declarations, and values checked against them.

use serde_json::{Map, Number, Value};

use crate::color::Color;
use crate::scene::quoted;

use super::refs::is_name;
use super::TemplateError;

/// The type of a template variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarType {
    /// `"string"`: any text.
    String,
    /// `"number"`: a finite number.
    Number,
    /// `"color"`: a CSS hex colour, checked like a scene's colours.
    Color,
    /// `"image"`: an image path (not empty), resolved under the asset root.
    Image,
    /// `"boolean"`: `true` or `false`.
    Boolean,
}

impl VarType {
    const ALL: [(&'static str, VarType); 5] = [
        ("string", VarType::String),
        ("number", VarType::Number),
        ("color", VarType::Color),
        ("image", VarType::Image),
        ("boolean", VarType::Boolean),
    ];

    /// The name used in `variables` (`"color"`, ...).
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("string", |(n, _)| n)
    }

    /// The type's name after "a" or "an": "an image", "a colour".
    pub fn with_article(self) -> String {
        let name = self.name();
        let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {name}")
    }

    /// A valid value of the type, to check a template before any row.
    pub(super) fn stand_in(self) -> Value {
        match self {
            VarType::String => Value::from("x"),
            VarType::Image => Value::from("x.png"),
            VarType::Number => Value::from(1),
            VarType::Color => Value::from("#000"),
            VarType::Boolean => Value::Bool(true),
        }
    }

    fn from_name(name: &str) -> Option<VarType> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }
}

/// One declared variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// Its name, as references write it.
    pub name: String,
    /// Its type.
    pub ty: VarType,
    /// True when every row must give it a value.
    pub required: bool,
    /// Its value when a row gives none (checked against the type).
    pub default: Option<Value>,
    /// What it is for, for people.
    pub description: Option<String>,
}

/// A raw value from a row: text (CSV, `--set`) or JSON (JSONL).
#[derive(Debug, Clone, Copy)]
pub(super) enum Raw<'a> {
    Text(&'a str),
    Json(&'a Value),
}

const FIELDS: &[&str] = &["type", "required", "default", "description"];

/// Parses the `variables` object.
pub(super) fn declarations(v: &Value) -> Result<Vec<Variable>, TemplateError> {
    let map = v.as_object().ok_or_else(|| TemplateError::Variables {
        message: "expected an object of variable declarations keyed by name".into(),
    })?;
    map.iter().map(|(name, d)| declaration(name, d)).collect()
}

fn declaration(name: &str, d: &Value) -> Result<Variable, TemplateError> {
    let err = |message: String| TemplateError::Declaration {
        name: name.to_owned(),
        message,
    };
    if !is_name(name) {
        return Err(err(
            "not a variable name (a letter or _, then letters, digits, _, - or .)".into(),
        ));
    }
    let map: &Map<String, Value> = d
        .as_object()
        .ok_or_else(|| err("expected an object with a \"type\"".into()))?;
    if let Some(key) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        let hint = match crate::scene::closest(key, FIELDS) {
            Some(s) => format!("; did you mean {s:?}?"),
            None => String::new(),
        };
        return Err(err(format!(
            "unknown field {}{hint} (allowed: {})",
            quoted(key),
            FIELDS.join(", ")
        )));
    }
    let names = || {
        VarType::ALL
            .iter()
            .map(|(n, _)| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ty = match map.get("type") {
        Some(Value::String(t)) => VarType::from_name(t).ok_or_else(|| {
            let known: Vec<&str> = VarType::ALL.iter().map(|(n, _)| *n).collect();
            let hint = match crate::scene::closest(t, &known) {
                Some(s) => format!("; did you mean {s:?}?"),
                None => String::new(),
            };
            err(format!(
                "type {} is not one of {}{hint}",
                quoted(t),
                names()
            ))
        })?,
        Some(other) => {
            return Err(err(format!(
                "type: expected one of {}, got {}",
                names(),
                crate::scene::kind_of(other)
            )))
        }
        None => return Err(err(format!("missing \"type\" (one of {})", names()))),
    };
    let description = match map.get("description") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(err(format!(
                "description: expected a string, got {}",
                crate::scene::kind_of(other)
            )))
        }
    };
    let mut var = Variable {
        name: name.to_owned(),
        ty,
        required: true,
        default: None,
        description,
    };
    if let Some(dv) = map.get("default") {
        if dv.is_null() {
            // null is never a value: leave `default` out for none.
            return Err(err(format!(
                "default: expected {}, got null (leave \"default\" out for no default)",
                ty.with_article()
            )));
        }
        let typed = var
            .check(Raw::Json(dv))
            .map_err(|m| err(format!("default: {m}")))?;
        var.default = typed;
    }
    var.required = match map.get("required") {
        None => var.default.is_none(),
        Some(Value::Bool(true)) if var.default.is_some() => {
            return Err(err("is required and has a default: choose one".into()))
        }
        Some(Value::Bool(false)) if var.default.is_none() => {
            return Err(err("is not required but has no default: give one".into()))
        }
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(err("required: expected true or false".into())),
    };
    Ok(var)
}

impl Variable {
    /// `raw` as a JSON value of this variable's type; `None` when the value
    /// counts as absent (JSON `null`, an empty CSV cell).
    pub(super) fn check(&self, raw: Raw<'_>) -> Result<Option<Value>, String> {
        // Text values (CSV cells, `--set`, query parameters) lose spaces
        // around a colour; a JSON string (a default, a JSON Lines row) is
        // held to the scene's rule, as the schema holds it.
        let from_text = matches!(raw, Raw::Text(_));
        let text = match raw {
            Raw::Json(Value::Null) => return Ok(None),
            Raw::Text("") => return Ok(None),
            // Spaces alone are no colour, number, boolean or file name: the
            // cell counts as empty (a string keeps them).
            Raw::Text(t) if self.ty != VarType::String && t.trim().is_empty() => return Ok(None),
            Raw::Text(t) => t,
            // JSON values keep their JSON types: a number or a boolean is
            // not given as a string (text values, CSV and `--set`, are
            // parsed below).
            Raw::Json(Value::String(s))
                if !matches!(self.ty, VarType::Number | VarType::Boolean) =>
            {
                s
            }
            Raw::Json(Value::Number(n)) if self.ty == VarType::Number => {
                return number(n.as_f64(), &n.to_string())
            }
            Raw::Json(Value::Bool(b)) if self.ty == VarType::Boolean => {
                return Ok(Some(Value::Bool(*b)))
            }
            Raw::Json(other) => {
                // Described, not written out: a value may be megabytes.
                return Err(format!(
                    "expected {}, got {}",
                    self.ty.with_article(),
                    crate::scene::kind_of(other)
                ));
            }
        };
        match self.ty {
            VarType::String => Ok(Some(Value::String(text.to_owned()))),
            VarType::Image if text.is_empty() => Err("an image path may not be empty".into()),
            VarType::Image => Ok(Some(Value::String(text.to_owned()))),
            // Spaces around a colour, number or boolean (a CSV written
            // `a, b`) cannot be part of it: they are dropped. A string or an
            // image path is kept as given (a file name may hold spaces).
            VarType::Color => {
                let text = if from_text { text.trim() } else { text };
                match Color::parse_hex(text) {
                    Ok(_) => Ok(Some(Value::String(text.to_owned()))),
                    Err(m) => Err(m),
                }
            }
            VarType::Number => number(text.trim().parse::<f64>().ok(), text),
            // In any case from text: spreadsheets write TRUE and FALSE.
            VarType::Boolean => match text.trim() {
                t if t.eq_ignore_ascii_case("true") => Ok(Some(Value::Bool(true))),
                t if t.eq_ignore_ascii_case("false") => Ok(Some(Value::Bool(false))),
                _ => Err(format!("{} is not a boolean (true or false)", quoted(text))),
            },
        }
    }
}

fn number(n: Option<f64>, text: &str) -> Result<Option<Value>, String> {
    let n = n
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("{} is not a finite number", quoted(text)))?;
    // A whole number stays an integer, so that `"{{n}}"` reads as `12`.
    let v = if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    };
    Ok(Some(v))
}

/// The text a typed value stands for inside a longer string.
pub(super) fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decl(v: Value) -> Result<Vec<Variable>, String> {
        declarations(&v).map_err(|e| e.to_string())
    }

    #[test]
    fn declarations_take_a_type_and_required_follows_the_default() {
        let vars = decl(json!({
            "title": {"type": "string", "required": true},
            "accent": {"type": "color", "default": "#e4572e"},
            "n": {"type": "number", "default": 2.5, "description": "count"}
        }))
        .unwrap();
        assert_eq!(vars.len(), 3);
        let accent = vars.iter().find(|v| v.name == "accent").unwrap();
        assert!(!accent.required);
        assert_eq!(accent.default, Some(json!("#e4572e")));
        assert!(vars.iter().find(|v| v.name == "title").unwrap().required);
    }

    #[test]
    fn bad_declarations_name_the_variable_and_the_problem() {
        for (v, want) in [
            (
                json!({"t": {"type": "text"}}),
                "variables.t\": type \"text\" is not one of",
            ),
            (json!({"t": {"type": "colour"}}), "did you mean \"color\"?"),
            (
                json!({"t": {"type": "string\u{200b}"}}),
                r#"type "string\u200b" is not one of"#,
            ),
            (
                json!({"t": {"type": "string", "description": 7}}),
                "description: expected a string, got the number 7",
            ),
            (json!({"t": {}}), "missing \"type\""),
            (
                json!({"t": {"type": "color", "default": "#zz"}}),
                "default:",
            ),
            (
                json!({"t": {"type": "number", "default": "3"}}),
                "expected a number",
            ),
            (
                json!({"t": {"type": "string", "required": false}}),
                "has no default",
            ),
            (
                json!({"t": {"type": "string", "default": "", "required": true}}),
                "choose one",
            ),
            (
                json!({"t": {"type": "string", "typ": 1}}),
                "unknown field \"typ\"",
            ),
            (json!({"1t": {"type": "string"}}), "not a variable name"),
            (
                json!({"t": {"type": "string", "defualt": "x"}}),
                "unknown field \"defualt\"; did you mean \"default\"?",
            ),
            (
                json!({"t": {"type": "boolean", "default": null, "required": true}}),
                "default: expected a boolean, got null",
            ),
            (json!([]), "expected an object"),
            (
                json!({"t": {"type": "image", "default": 1}}),
                "default: expected an image, got the number 1",
            ),
            // A default is JSON, held to the scene's colour rule (as the
            // schema holds it): no spaces around it.
            (
                json!({"t": {"type": "color", "default": " #f00\t"}}),
                "is not a colour",
            ),
        ] {
            let e = decl(v).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn values_are_checked_against_the_type_from_text_and_from_json() {
        let var = |ty| Variable {
            name: "v".into(),
            ty,
            required: true,
            default: None,
            description: None,
        };
        let n = var(VarType::Number);
        assert_eq!(n.check(Raw::Text("12")).unwrap(), Some(json!(12)));
        assert_eq!(n.check(Raw::Text("1.5")).unwrap(), Some(json!(1.5)));
        assert_eq!(n.check(Raw::Json(&json!(3))).unwrap(), Some(json!(3)));
        assert!(n.check(Raw::Text("NaN")).is_err());
        assert!(n.check(Raw::Json(&json!("3"))).is_err());
        let flag = var(VarType::Boolean);
        assert!(flag.check(Raw::Json(&json!("true"))).is_err());
        assert_eq!(
            flag.check(Raw::Json(&json!(true))).unwrap(),
            Some(json!(true))
        );
        let b = var(VarType::Boolean);
        assert_eq!(b.check(Raw::Text("false")).unwrap(), Some(json!(false)));
        assert!(b.check(Raw::Text("yes")).is_err());
        assert!(b.check(Raw::Text("1")).is_err());
        // As Excel and Sheets export them.
        assert_eq!(b.check(Raw::Text("TRUE")).unwrap(), Some(json!(true)));
        assert_eq!(b.check(Raw::Text("False")).unwrap(), Some(json!(false)));
        let c = var(VarType::Color);
        assert!(c.check(Raw::Text("#12345")).is_err());
        assert_eq!(c.check(Raw::Text("#fff")).unwrap(), Some(json!("#fff")));
        // Spaces around a colour, number or boolean (a CSV's `a, b`) are
        // dropped; around a string or an image path they are kept.
        assert_eq!(c.check(Raw::Text(" #fff ")).unwrap(), Some(json!("#fff")));
        assert_eq!(n.check(Raw::Text(" 3")).unwrap(), Some(json!(3)));
        assert_eq!(b.check(Raw::Text(" true")).unwrap(), Some(json!(true)));
        assert_eq!(
            var(VarType::String).check(Raw::Text(" a ")).unwrap(),
            Some(json!(" a "))
        );
        assert_eq!(
            var(VarType::Image).check(Raw::Text(" a.png")).unwrap(),
            Some(json!(" a.png"))
        );
        assert_eq!(var(VarType::String).check(Raw::Text("")).unwrap(), None);
        assert_eq!(
            var(VarType::Image).check(Raw::Json(&Value::Null)).unwrap(),
            None
        );
        // An empty JSON string is a value, and no image path (a default of
        // "" loaded, then failed every render).
        assert!(var(VarType::Image).check(Raw::Json(&json!(""))).is_err());
        assert_eq!(
            var(VarType::String).check(Raw::Json(&json!(""))).unwrap(),
            Some(json!(""))
        );
    }
}
