//! Templates: a scene with `variables`, bound to one row of values at a
//! time to make ordinary [`Scene`]s (`docs/scene-format.md`, Templates).
//!
//! A template is checked when it is loaded: its declarations, and every
//! `{{name}}` reference, which must name a declared variable. Binding a row
//! checks each value against its variable's type, substitutes the values
//! into a copy of the document and hands it to the strict scene parser, so
//! a bound scene is checked exactly as a scene file is.
//!
//! ```
//! use std::collections::BTreeMap;
//! use impasto::Template;
//!
//! let template = Template::from_json(r##"{
//!     "variables": {
//!         "title": { "type": "string" },
//!         "accent": { "type": "color", "default": "#e4572e" },
//!         "badge": { "type": "boolean", "default": false }
//!     },
//!     "width": 400, "height": 200,
//!     "layers": [
//!         { "type": "rect", "color": "{{accent}}" },
//!         { "type": "text", "text": "{{title}} \\{{not a reference}}" },
//!         { "type": "rect", "color": "#fff", "visible": "{{badge}}" }
//!     ]
//! }"##)?;
//! let row = BTreeMap::from([("title".to_string(), "Hello".to_string())]);
//! let scene = template.bind(&row)?;
//! assert!(!scene.layers[2].visible);
//! # Ok::<(), impasto::Error>(())
//! ```

mod error;
mod refs;
mod vars;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Location};
use crate::scene::Scene;
use crate::Limits;

pub use error::TemplateError;
pub use refs::Place;
pub use vars::{VarType, Variable};

use refs::{Part, Slot};
use vars::Raw;

/// A scene with variables; see the [module documentation](self).
///
/// A scene file without `variables` is a template with none: binding it
/// gives the scene the file describes, its strings untouched.
#[derive(Debug, Clone)]
pub struct Template {
    /// The document without `variables`.
    doc: Value,
    /// The declarations, in name order.
    variables: Vec<Variable>,
    /// Every string with a reference or an escape (none without `variables`).
    slots: Vec<Slot>,
    /// The folder of the template file: the bound scenes' asset root.
    base_dir: Option<PathBuf>,
}

impl Template {
    /// Parses a template (or a plain scene) from JSON text, bounded by the
    /// default [`Limits`] as [`Scene::from_json`] is.
    pub fn from_json(json: &str) -> Result<Template, Error> {
        Template::from_json_limited(json, &Limits::default())
    }

    /// [`Template::from_json`] bounded by `limits`: more than `max_layers`
    /// layers, or a JSON tree over `max_render_bytes`, is refused while it
    /// is read ([`Scene::from_json_limited`]).
    pub fn from_json_limited(json: &str, limits: &Limits) -> Result<Template, Error> {
        Template::from_value(crate::scene::json_value(json, limits)?)
    }

    /// Reads a template file (at most [`crate::scene::MAX_SCENE_BYTES`]);
    /// its folder becomes the bound scenes' default asset root. The parse
    /// is bounded by the default [`Limits`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<Template, Error> {
        Template::from_path_limited(path, &Limits::default())
    }

    /// [`Template::from_path`] with its parse bounded by `limits`
    /// ([`Template::from_json_limited`]).
    pub fn from_path_limited(path: impl AsRef<Path>, limits: &Limits) -> Result<Template, Error> {
        let path = path.as_ref();
        let text = crate::scene::read_limited(path, crate::scene::MAX_SCENE_BYTES)?;
        let mut template = Template::from_json_limited(&text, limits)?;
        let dir = path.parent().unwrap_or(Path::new(""));
        template.base_dir = Some(if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir.to_path_buf()
        });
        Ok(template)
    }

    /// Reads a template (or a plain scene) from `reader`, such as standard
    /// input, refusing more than `max_bytes`; `what` names it in errors. Its
    /// parse is bounded by `limits` ([`Template::from_json_limited`]).
    pub fn from_reader(
        reader: impl std::io::Read,
        max_bytes: u64,
        what: &str,
        limits: &Limits,
    ) -> Result<Template, Error> {
        let text = crate::scene::read_text(reader, max_bytes, what)?;
        Template::from_json_limited(&text, limits)
    }

    /// Builds a template from a parsed JSON document. Checks the
    /// declarations and every reference; a scene without `variables` is
    /// also checked as a scene, so a bad one fails here.
    pub fn from_value(mut doc: Value) -> Result<Template, Error> {
        let declared = match doc.as_object_mut() {
            Some(map) => map.remove("variables"),
            None => None,
        };
        let Some(declared) = declared else {
            Scene::from_value(&doc)?;
            return Ok(Template {
                doc,
                variables: Vec::new(),
                slots: Vec::new(),
                base_dir: None,
            });
        };
        let variables = vars::declarations(&declared)?;
        let slots = refs::collect(&doc)
            .map_err(|(place, message)| TemplateError::Syntax { place, message })?;
        let template = Template {
            doc,
            variables,
            slots,
            base_dir: None,
        };
        for slot in &template.slots {
            for part in &slot.parts {
                if let Part::Var(name) = part {
                    if template.variable(name).is_none() {
                        return Err(TemplateError::Undeclared {
                            name: name.clone(),
                            place: slot.place.clone(),
                            declared: template.declared(),
                        }
                        .into());
                    }
                }
            }
        }
        template.probe()?;
        Ok(template)
    }

    /// Binds stand-in values (each default, or a value of the type) and
    /// refuses the template when the scene is wrong in a field that holds
    /// no reference (a misspelt field, a bad literal colour): that would
    /// fail every row, so it fails the template. Errors in fields fed by
    /// variables are left to the rows, whose values decide them.
    fn probe(&self) -> Result<(), Error> {
        let stand_in = |v: &Variable| v.default.clone().unwrap_or_else(|| v.ty.stand_in());
        let first = self.probe_with(stand_in);
        let Err(error) = first else {
            return Ok(());
        };
        // A field without a reference can still be refused because of one
        // beside it: a literal gradient stop's offset before a stop whose
        // offset is a variable's stand-in. Such an error depends on the
        // rows' values, so the template stands if other numbers pass (no
        // default kept: a row may override it).
        let numbers = self.variables.iter().any(|v| v.ty == VarType::Number);
        for n in [0.0, 0.5].into_iter().filter(|_| numbers) {
            let number = |v: &Variable| match v.ty {
                VarType::Number => Value::from(n),
                _ => stand_in(v),
            };
            if self.probe_with(number).is_ok() {
                return Ok(());
            }
        }
        Err(error)
    }

    /// The probe with `value` for each variable: an error only for a scene
    /// error in a field that holds no reference.
    fn probe_with(&self, value: impl Fn(&Variable) -> Value) -> Result<(), Error> {
        let values: BTreeMap<&str, Value> = self
            .variables
            .iter()
            .map(|v| (v.name.as_str(), value(v)))
            .collect();
        let doc = self.substituted(&values, &BTreeMap::new());
        match Scene::from_value(&doc).map_err(|e| self.attribute(e)) {
            Err(Error::Template(TemplateError::Scene { error, variables }))
                if variables.is_empty() =>
            {
                Err(Error::Scene(error))
            }
            _ => Ok(()),
        }
    }

    /// The document with `values` in every slot; a number in `written`
    /// (as a CSV cell or `--set` wrote it) is shown so in text.
    fn substituted(
        &self,
        values: &BTreeMap<&str, Value>,
        written: &BTreeMap<&str, String>,
    ) -> Value {
        let mut doc = self.doc.clone();
        for slot in &self.slots {
            if let Some(target) = refs::at_mut(&mut doc, &slot.path) {
                // A text layer's `text` is text whatever fills it: a lone
                // number or boolean is shown as it would be in a longer
                // string (it could only be refused otherwise).
                let as_text = slot.place.field == "text";
                *target = substitute(&slot.parts, values, written, as_text);
            }
        }
        doc
    }

    /// The declared variables, in name order.
    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// The variable called `name`, if declared.
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }

    /// Whether every scene bound from this template is animated: its
    /// `animate` is the literal `true`, not a variable's value. A runner of
    /// still images can refuse such a template before any row.
    pub fn always_animates(&self) -> bool {
        self.doc.get("animate") == Some(&Value::Bool(true))
    }

    /// The declared variable whose name is closest to `name` (at most two
    /// edits away), for a "did you mean" hint on a misspelt name.
    pub fn closest_variable(&self, name: &str) -> Option<&str> {
        let names: Vec<&str> = self.variables.iter().map(|v| v.name.as_str()).collect();
        crate::scene::closest(name, &names)
    }

    /// Sets the folder the bound scenes' image paths are relative to
    /// (by default the template file's folder).
    pub fn with_base_dir(mut self, dir: impl Into<PathBuf>) -> Template {
        self.base_dir = Some(dir.into());
        self
    }

    /// Binds one row of text values (a CSV row, `--set name=value`), keyed
    /// by variable name. Keys that are not variables are ignored; an empty
    /// value counts as absent.
    pub fn bind(&self, row: &BTreeMap<String, String>) -> Result<Scene, Error> {
        self.bind_raw(|name| row.get(name).map(|s| Raw::Text(s)))
    }

    /// Binds one row of JSON values (a JSONL line), keyed by variable name.
    /// Keys that are not variables are ignored; `null` counts as absent.
    pub fn bind_json(&self, row: &Map<String, Value>) -> Result<Scene, Error> {
        self.bind_raw(|name| row.get(name).map(Raw::Json))
    }

    /// Refuses a name that is not a declared variable (for `--set` and the
    /// service's requests, where an unknown name is a typo rather than an
    /// extra column), with the closest declared name.
    pub fn check_names<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Result<(), Error> {
        for name in names {
            if self.variable(name).is_none() {
                return Err(TemplateError::Unknown {
                    name: name.to_owned(),
                    closest: self.closest_variable(name).map(str::to_owned),
                    declared: self.declared(),
                }
                .into());
            }
        }
        Ok(())
    }

    /// The declared names, comma separated (empty when there are none).
    fn declared(&self) -> String {
        let names: Vec<&str> = self.variables.iter().map(|v| v.name.as_str()).collect();
        names.join(", ")
    }

    /// The first place `name` is used.
    fn first_use(&self, name: &str) -> Option<Place> {
        self.slots
            .iter()
            .find(|s| {
                s.parts
                    .iter()
                    .any(|p| matches!(p, Part::Var(n) if n == name))
            })
            .map(|s| s.place.clone())
    }

    fn bind_raw<'r>(&self, get: impl Fn(&str) -> Option<Raw<'r>>) -> Result<Scene, Error> {
        let mut values: BTreeMap<&str, Value> = BTreeMap::new();
        let mut written: BTreeMap<&str, String> = BTreeMap::new();
        for var in &self.variables {
            let raw = get(&var.name);
            let given = match raw {
                Some(raw) => var.check(raw).map_err(|message| TemplateError::Value {
                    name: var.name.clone(),
                    message,
                    place: self.first_use(&var.name),
                })?,
                None => None,
            };
            // A number given as text keeps its digits in text (`2.50`
            // stays `2.50`, not `2.5`).
            if let (Some(Raw::Text(t)), Some(_), VarType::Number) = (raw, &given, var.ty) {
                written.insert(&var.name, t.trim().to_owned());
            }
            match given.or_else(|| var.default.clone()) {
                Some(v) => {
                    values.insert(&var.name, v);
                }
                None => {
                    // Every other required variable without a value too
                    // (a value that is wrong is said first, as found).
                    let also = self
                        .variables
                        .iter()
                        .filter(|v| v.name != var.name && v.default.is_none())
                        .filter(|v| get(&v.name).is_none_or(|raw| matches!(v.check(raw), Ok(None))))
                        .map(|v| v.name.clone())
                        .collect();
                    return Err(TemplateError::Missing {
                        name: var.name.clone(),
                        place: self.first_use(&var.name),
                        also,
                    }
                    .into());
                }
            }
        }
        let doc = self.substituted(&values, &written);
        let mut scene = Scene::from_value(&doc).map_err(|e| self.attribute(e))?;
        scene.base_dir.clone_from(&self.base_dir);
        Ok(scene)
    }

    /// A scene error in a field that holds references names their
    /// variables: as binding does for the scene's own errors, and as a
    /// caller does for the errors of rendering a scene this template made
    /// (an image `src` from a variable that names no file, say). Other
    /// errors are returned as they are.
    pub fn attribute(&self, e: Error) -> Error {
        let Error::Scene(error) = e else {
            return e;
        };
        if self.variables.is_empty() {
            return Error::Scene(error);
        }
        let mut variables: Vec<String> = Vec::new();
        // A misspelt field name is wrong whatever a variable gives it: no
        // variable is named, and the template's probe refuses it.
        let named_wrong = error.message.starts_with(crate::scene::UNKNOWN_FIELD);
        let fields = (!named_wrong)
            .then(|| error.field.iter().cloned().chain(previous_stop(&error)))
            .into_iter()
            .flatten();
        for field in fields {
            for slot in &self.slots {
                if slot.place.location != error.location || !same_field(&slot.place, &field) {
                    continue;
                }
                for part in &slot.parts {
                    if let Part::Var(n) = part {
                        if !variables.contains(n) {
                            variables.push(n.clone());
                        }
                    }
                }
            }
        }
        TemplateError::Scene { error, variables }.into()
    }
}

/// For an error of decreasing stop offsets (at `stops[n].offset`), the
/// field it compares against, `stops[n-1].offset`: a variable bound there
/// is as much the cause as one bound at the field named.
fn previous_stop(error: &crate::SceneError) -> Option<String> {
    if !error.message.contains("the previous stop's offset") {
        return None;
    }
    let field = error.field.as_deref()?;
    let (list, rest) = field.rsplit_once('[')?;
    let n: usize = rest.strip_suffix("].offset")?.parse().ok()?;
    Some(format!("{list}[{}].offset", n.checked_sub(1)?))
}

/// True when `field` (a scene error's) is the slot's field or inside it
/// (`stops[1].color` in `stops`), or the other way round.
fn same_field(place: &Place, field: &str) -> bool {
    let within = |a: &str, b: &str| {
        a == b || a.starts_with(&format!("{b}.")) || a.starts_with(&format!("{b}["))
    };
    matches!(place.location, Location::Canvas | Location::Layer { .. })
        && (within(&place.field, field) || within(field, &place.field))
}

/// The value a slot takes: a lone reference keeps its variable's type
/// (unless `as_text`); otherwise the pieces are joined as text, a number
/// as `written` has it where it was given as text.
fn substitute(
    parts: &[Part],
    values: &BTreeMap<&str, Value>,
    written: &BTreeMap<&str, String>,
    as_text: bool,
) -> Value {
    if let [Part::Var(name)] = parts {
        if let Some(v) = values.get(name.as_str()) {
            if !as_text || v.is_string() {
                return v.clone();
            }
        }
    }
    let mut s = String::new();
    for part in parts {
        match part {
            Part::Lit(l) => s.push_str(l),
            Part::Var(name) => match (written.get(name.as_str()), values.get(name.as_str())) {
                (Some(text), _) => s.push_str(text),
                (None, Some(v)) => s.push_str(&vars::as_text(v)),
                (None, None) => {}
            },
        }
    }
    Value::String(s)
}

#[cfg(test)]
mod tests;
