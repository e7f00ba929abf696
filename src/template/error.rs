//! What can be wrong with a template or with the values bound to it.

use crate::error::{Location, SceneError};
use crate::scene::quoted;

use super::Place;

/// A problem with a template (found when it is loaded) or with one row of
/// values (found when it is bound). Every variant names the variable and,
/// where it is used, the layer and field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    /// `variables` is not an object of declarations.
    #[error("canvas: field \"variables\": {message}")]
    Variables {
        /// What is wrong.
        message: String,
    },
    /// One declaration in `variables` is wrong.
    #[error("canvas: field \"variables.{name}\": {message}")]
    Declaration {
        /// The variable.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A string of the template is not a well-formed reference.
    #[error("{place}: {message}")]
    Syntax {
        /// Where the string is.
        place: Place,
        /// What is wrong.
        message: String,
    },
    /// A reference names a variable that `variables` does not declare.
    #[error("{place}: {{{{{}}}}} refers to an undeclared variable (declared: {})", shortened(.name), or_none(.declared))]
    Undeclared {
        /// The name referred to.
        name: String,
        /// Where the reference is.
        place: Place,
        /// The declared names, comma separated; empty when there are none.
        declared: String,
    },
    /// A value was given for a name that is not declared (`--set typo=...`).
    #[error("variable {} is not declared by the template{} ({})", quoted(.name), hint(.closest), declared_text(.declared))]
    Unknown {
        /// The name given.
        name: String,
        /// The declared name closest to it, if one is near.
        closest: Option<String>,
        /// The declared names, comma separated; empty when there are none.
        declared: String,
    },
    /// A required variable has no value.
    #[error("variable {}: missing (required){}{}", quoted(.name), used_at(.place), also_missing(.also))]
    Missing {
        /// The variable (the first declared of those missing).
        name: String,
        /// Its first use.
        place: Option<Place>,
        /// The other required variables without a value, in the order
        /// they are declared, so that one error names every one.
        also: Vec<String>,
    },
    /// A value is not of the variable's type (or not a valid colour).
    #[error("variable {}: {message}{}", quoted(.name), used_at(.place))]
    Value {
        /// The variable.
        name: String,
        /// What is wrong with the value.
        message: String,
        /// Its first use.
        place: Option<Place>,
    },
    /// The scene the values made is not valid; `variables` are those used
    /// in the field at fault.
    #[error("{error}{}", from_variables(.variables))]
    Scene {
        /// The scene parser's error.
        error: SceneError,
        /// The variables used in that field (may be empty).
        variables: Vec<String>,
    },
}

/// A name as written in a message: whole, or, past
/// [`crate::scene::LONGEST_QUOTED`] bytes, its first 200 characters and its
/// length (as [`quoted`] shortens a string).
fn shortened(name: &str) -> String {
    match name.len() > crate::scene::LONGEST_QUOTED {
        true => format!(
            "{}... ({} bytes)",
            crate::scene::start_of(name, 200),
            name.len()
        ),
        false => name.to_owned(),
    }
}

/// The declared names, or "none".
fn or_none(declared: &str) -> &str {
    if declared.is_empty() {
        "none"
    } else {
        declared
    }
}

/// The declared names for a message (empty: none, the scene is not a
/// template).
fn hint(closest: &Option<String>) -> String {
    closest
        .as_ref()
        .map_or(String::new(), |c| format!("; did you mean {}?", quoted(c)))
}

fn declared_text(declared: &str) -> String {
    if declared.is_empty() {
        "the scene declares none: a template declares its variables under \"variables\"".into()
    } else {
        format!("declared: {declared}")
    }
}

fn used_at(place: &Option<Place>) -> String {
    match place {
        Some(p) => format!(" (used at {p})"),
        None => " (not used)".into(),
    }
}

fn from_variables(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => format!(" (from variable {})", quoted(one)),
        many => format!(" (from variables {})", many.join(", ")),
    }
}

impl TemplateError {
    /// The variable at fault, when one is.
    pub fn variable(&self) -> Option<&str> {
        match self {
            TemplateError::Declaration { name, .. }
            | TemplateError::Undeclared { name, .. }
            | TemplateError::Unknown { name, .. }
            | TemplateError::Missing { name, .. }
            | TemplateError::Value { name, .. } => Some(name),
            TemplateError::Scene { variables, .. } => variables.first().map(String::as_str),
            TemplateError::Variables { .. } | TemplateError::Syntax { .. } => None,
        }
    }

    /// The canvas or layer concerned, when known.
    pub fn location(&self) -> Option<&Location> {
        match self {
            TemplateError::Syntax { place, .. } | TemplateError::Undeclared { place, .. } => {
                Some(&place.location)
            }
            TemplateError::Missing { place, .. } | TemplateError::Value { place, .. } => {
                place.as_ref().map(|p| &p.location)
            }
            TemplateError::Scene { error, .. } => Some(&error.location),
            _ => None,
        }
    }

    /// The field concerned, when known.
    pub fn field(&self) -> Option<&str> {
        match self {
            TemplateError::Syntax { place, .. } | TemplateError::Undeclared { place, .. } => {
                Some(&place.field)
            }
            TemplateError::Missing { place, .. } | TemplateError::Value { place, .. } => {
                place.as_ref().map(|p| p.field.as_str())
            }
            TemplateError::Scene { error, .. } => error.field.as_deref(),
            _ => None,
        }
    }
}

/// "; also missing: "b", "c"" for the other required variables without a
/// value; nothing when there are none.
fn also_missing(also: &[String]) -> String {
    if also.is_empty() {
        return String::new();
    }
    let names: Vec<String> = also.iter().map(|n| quoted(n).to_string()).collect();
    format!("; also missing: {}", names.join(", "))
}
