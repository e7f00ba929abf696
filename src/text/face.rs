//! Which face of its family a text layer is drawn from: the one CSS font
//! matching picks, as a browser (and satori, and Takumi) would.
//!
//! fontdb's query follows CSS Fonts: stretch first, then style (an italic
//! face before any upright one for `italic`, and the reverse), then weight.
//! cosmic-text's shaping picks otherwise: a face of the family at exactly
//! the weight asked for wins whatever its style, and when the family has
//! none at that weight, the platform's fallback families (DejaVu Sans,
//! Noto Sans) are tried before the family itself. So, asked for weight 700
//! of a family with one regular face, it drew the text in DejaVu Sans Bold;
//! asked for Inter at 300 in italic, it slanted Inter Light rather than
//! draw Inter Italic.
//!
//! cosmic-text is told the face through the weight it is asked for: the
//! weight of the face CSS picks, at which that face is an exact match and
//! comes first. A variable face keeps the weight asked for, clamped to its
//! `wght` axis as CSS clamps it, since that weight is what it draws. The
//! style asked for is kept, so that an italic drawn from an upright face is
//! still slanted. Characters the face lacks fall back at the same weight,
//! so they match the weight drawn.

use cosmic_text::fontdb::{Database, Family, Query, Stretch, Style, Weight, ID};

/// The face CSS font matching picks from `family` for `weight` and
/// `italic`, and the weight to draw it at: the face's own, or for a
/// variable face the weight asked for within its `wght` axis. `None` when
/// no face of the family is loaded.
pub(crate) fn css_face(
    db: &Database,
    family: &str,
    weight: u16,
    italic: bool,
) -> Option<(ID, Weight)> {
    let query = Query {
        families: &[Family::Name(family)],
        weight: Weight(weight),
        stretch: Stretch::Normal,
        style: if italic { Style::Italic } else { Style::Normal },
    };
    let id = db.query(&query)?;
    let face_weight = db.face(id)?.weight.0;
    let drawn = match weight_axis(db, id) {
        // A variable face's range is in the font's own units, integral
        // for every font seen; rounding keeps a fractional end inside.
        Some((low, high)) => (weight as f32).clamp(low.ceil(), high.floor()) as u16,
        None => face_weight,
    };
    Some((id, Weight(drawn)))
}

/// The weight to ask cosmic-text for so that it draws `family`'s face that
/// CSS picks; the weight asked for when the family is not loaded (the text
/// falls back to other fonts then, as it would).
pub(crate) fn drawn_weight(db: &Database, family: &str, weight: u16, italic: bool) -> Weight {
    css_face(db, family, weight, italic).map_or(Weight(weight), |(_, w)| w)
}

/// The range of a variable face's `wght` axis, if it has one.
fn weight_axis(db: &Database, id: ID) -> Option<(f32, f32)> {
    db.with_face_data(id, |data, index| {
        let face = ttf_parser::Face::parse(data, index).ok()?;
        face.variation_axes()
            .into_iter()
            .find(|axis| axis.tag == ttf_parser::Tag::from_bytes(b"wght"))
            .map(|axis| (axis.min_value, axis.max_value))
    })
    .flatten()
    .filter(|(low, high)| low <= high)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bundled Inter faces named, loaded alone.
    fn inter(files: &[&str]) -> Database {
        let mut db = Database::new();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fonts/inter");
        for f in files {
            db.load_font_file(format!("{dir}/{f}"))
                .expect("a bundled font");
        }
        db
    }

    fn picked(db: &Database, weight: u16, italic: bool) -> (String, u16) {
        let (id, w) = css_face(db, "Inter", weight, italic).expect("Inter is loaded");
        (db.face(id).expect("a face").post_script_name.clone(), w.0)
    }

    const ALL: [&str; 6] = [
        "Inter-Light.otf",
        "Inter-Regular.otf",
        "Inter-Italic.otf",
        "Inter-SemiBold.otf",
        "Inter-Bold.otf",
        "Inter-BoldItalic.otf",
    ];

    #[test]
    fn an_italic_face_is_picked_before_an_upright_one_at_the_weight_asked() {
        let db = inter(&ALL);
        assert_eq!(picked(&db, 300, true), ("Inter-Italic".into(), 400));
        // 600 asks for heavier first: Bold Italic, not the upright SemiBold.
        assert_eq!(picked(&db, 600, true), ("Inter-BoldItalic".into(), 700));
        assert_eq!(picked(&db, 600, false), ("Inter-SemiBold".into(), 600));
        assert_eq!(picked(&db, 900, false), ("Inter-Bold".into(), 700));
    }

    #[test]
    fn an_upright_face_is_picked_before_an_italic_one_at_the_weight_asked() {
        let db = inter(&["Inter-Regular.otf", "Inter-BoldItalic.otf"]);
        assert_eq!(picked(&db, 700, false), ("Inter-Regular".into(), 400));
        assert_eq!(drawn_weight(&db, "Inter", 700, false), Weight(400));
    }

    #[test]
    fn a_variable_face_keeps_the_weight_asked_for_within_its_axis() {
        let mut db = Database::new();
        let font = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fonts/ImpastoVar.ttf");
        db.load_font_file(font).expect("the test font");
        let weight = |w| css_face(&db, "Impasto Var", w, false).map(|(_, w)| w.0);
        assert_eq!(weight(700), Some(700));
        // Its axis runs from 200 to 800.
        assert_eq!(weight(900), Some(800), "clamped to the axis");
        assert_eq!(weight(100), Some(200), "clamped to the axis");
    }

    #[test]
    fn a_family_not_loaded_keeps_the_weight_asked_for() {
        let db = inter(&["Inter-Regular.otf"]);
        assert_eq!(css_face(&db, "No Such Family", 700, false), None);
        assert_eq!(drawn_weight(&db, "No Such Family", 700, false), Weight(700));
    }
}
