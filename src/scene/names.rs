//! The names the scene format gives enum values (`"cover"`, `"center"`,
//! `"multiply"`...): one table per enum, used both to parse and to write.

use crate::blend::BlendMode;
use crate::color::BlendSpace;

use super::{Align, Filter, Fit, Overflow, VAlign};

/// A value the scene format writes as a name, such as [`Fit`] (`"cover"`,
/// `"contain"`, ...).
///
/// Each implementation holds its names once, in [`TABLE`](Named::TABLE);
/// parsing and serializing both read it.
///
/// ```
/// use impasto::scene::{Fit, Named};
///
/// assert_eq!(Fit::from_name("contain"), Some(Fit::Contain));
/// assert_eq!(Fit::Contain.name(), "contain");
/// ```
pub trait Named: Copy + PartialEq + Sized + 'static {
    /// Every accepted name with its value. A value's first entry is its
    /// canonical name; later entries for the same value are aliases.
    const TABLE: &'static [(&'static str, Self)];

    /// What a wrong name is said not to be, with its article: `"a fit"` in
    /// `"stretch" is not a fit: expected ...`.
    const WHAT: &'static str;

    /// The value named `name`, if any (names are case-sensitive).
    fn from_name(name: &str) -> Option<Self> {
        Self::TABLE
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, v)| v)
    }

    /// The canonical name of this value.
    fn name(self) -> &'static str {
        Self::TABLE
            .iter()
            .find(|&&(_, v)| v == self)
            .map(|&(n, _)| n)
            .expect("every value of a Named type has a name in its TABLE")
    }
}

/// The accepted names of `T` as an error message lists them.
pub(crate) fn expected<T: Named>() -> String {
    names_list(&T::TABLE.iter().map(|&(n, _)| n).collect::<Vec<_>>())
}

/// A short list reads as a sentence (`"a", "b" or "c"`), a long one as
/// `one of "a", "b", ...`.
pub(crate) fn names_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() && quoted.len() <= 4 => {
            format!("{} or {last}", rest.join(", "))
        }
        _ => format!("one of {}", quoted.join(", ")),
    }
}

/// The message for a name that is not one of `T`'s.
pub(crate) fn not_a_name<T: Named>(name: &str) -> String {
    format!(
        "{} is not {}: expected {}",
        super::quoted(name),
        T::WHAT,
        expected::<T>()
    )
}

impl Named for BlendMode {
    /// The table of [`BlendMode::NAME_TABLE`], where the blend names live.
    const TABLE: &'static [(&'static str, BlendMode)] = BlendMode::NAME_TABLE;
    const WHAT: &'static str = "a blend name";
}

impl Named for BlendSpace {
    const TABLE: &'static [(&'static str, BlendSpace)] =
        &[("srgb", BlendSpace::Srgb), ("linear", BlendSpace::Linear)];
    const WHAT: &'static str = "a blend space";
}

impl Named for Fit {
    const TABLE: &'static [(&'static str, Fit)] = &[
        ("cover", Fit::Cover),
        ("contain", Fit::Contain),
        ("fill", Fit::Fill),
        ("none", Fit::None),
    ];
    const WHAT: &'static str = "a fit";
}

impl Named for Filter {
    const TABLE: &'static [(&'static str, Filter)] = &[
        ("lanczos3", Filter::Lanczos3),
        ("bilinear", Filter::Bilinear),
        ("nearest", Filter::Nearest),
    ];
    const WHAT: &'static str = "a filter";
}

impl Named for Align {
    const TABLE: &'static [(&'static str, Align)] = &[
        ("left", Align::Left),
        ("center", Align::Center),
        ("right", Align::Right),
        ("start", Align::Start),
        ("end", Align::End),
    ];
    const WHAT: &'static str = "an alignment";
}

impl Named for VAlign {
    const TABLE: &'static [(&'static str, VAlign)] = &[
        ("top", VAlign::Top),
        ("middle", VAlign::Middle),
        ("bottom", VAlign::Bottom),
    ];
    const WHAT: &'static str = "a vertical alignment";
}

impl Named for Overflow {
    const TABLE: &'static [(&'static str, Overflow)] = &[
        ("clip", Overflow::Clip),
        ("ellipsis", Overflow::Ellipsis),
        ("shrink", Overflow::Shrink),
    ];
    const WHAT: &'static str = "an overflow mode";
}

/// A text layer's `style`; the model keeps it as [`TextLayer::italic`](super::TextLayer::italic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Normal,
    Italic,
}

impl Style {
    pub(crate) fn of(italic: bool) -> Style {
        if italic {
            Style::Italic
        } else {
            Style::Normal
        }
    }
}

impl Named for Style {
    const TABLE: &'static [(&'static str, Style)] =
        &[("normal", Style::Normal), ("italic", Style::Italic)];
    const WHAT: &'static str = "a style";
}

/// A layer's `type`, without its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LayerType {
    Image,
    Rect,
    LinearGradient,
    RadialGradient,
    Text,
}

impl LayerType {
    /// The fields a layer of this type has besides the common ones.
    pub(crate) fn fields(self) -> &'static [&'static str] {
        match self {
            LayerType::Rect => &["color"],
            LayerType::LinearGradient => &["angle", "stops"],
            LayerType::RadialGradient => &["center", "radius", "stops"],
            LayerType::Image => &["src", "fit", "position", "filter", "frame"],
            LayerType::Text => &[
                "text",
                "size",
                "color",
                "font",
                "weight",
                "style",
                "align",
                "valign",
                "line_height",
                "max_lines",
                "overflow",
                "min_size",
                "letter_spacing",
            ],
        }
    }
}

impl Named for LayerType {
    const TABLE: &'static [(&'static str, LayerType)] = &[
        ("image", LayerType::Image),
        ("rect", LayerType::Rect),
        ("linear-gradient", LayerType::LinearGradient),
        ("radial-gradient", LayerType::RadialGradient),
        ("text", LayerType::Text),
    ];
    const WHAT: &'static str = "a layer type";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Named + std::fmt::Debug>() {
        for &(name, value) in T::TABLE {
            assert_eq!(T::from_name(name), Some(value), "{name}");
            assert_eq!(T::from_name(value.name()), Some(value));
        }
        assert_eq!(T::from_name("no-such-name"), None);
    }

    #[test]
    fn every_table_parses_what_it_prints() {
        round_trips::<BlendMode>();
        round_trips::<BlendSpace>();
        round_trips::<Fit>();
        round_trips::<Filter>();
        round_trips::<Align>();
        round_trips::<VAlign>();
        round_trips::<Style>();
        round_trips::<LayerType>();
    }

    #[test]
    fn aliases_parse_but_the_first_name_prints() {
        assert_eq!(BlendMode::from_name("normal"), Some(BlendMode::SourceOver));
        assert_eq!(Named::name(BlendMode::SourceOver), "source-over");
    }

    #[test]
    fn short_lists_read_as_a_sentence_and_long_ones_as_one_of() {
        assert_eq!(expected::<BlendSpace>(), r#""srgb" or "linear""#);
        assert_eq!(expected::<Fit>(), r#""cover", "contain", "fill" or "none""#);
        assert!(expected::<BlendMode>().starts_with(r#"one of "source-over", "normal", "#));
        assert_eq!(
            not_a_name::<Align>("top"),
            r#""top" is not an alignment: expected one of "left", "center", "right", "start", "end""#
        );
    }
}
