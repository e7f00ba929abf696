//! Which face of its family a text layer is drawn from: the one CSS font
//! matching picks (CSS Fonts 4, §5.2), as a browser (and satori, and
//! Takumi) would: first the width nearest normal (narrower first), then
//! the style (for `italic`: italic, oblique, upright; else upright,
//! oblique, italic), then the weight, a variable face matching every
//! weight of its `wght` axis (a static face of exactly the weight asked
//! for first, where CSS leaves the choice open). A weight no face has is
//! looked for, from
//! 400 to 500, heavier up to 500, then lighter, then heavier; below 400
//! lighter first, above 500 heavier first.
//!
//! cosmic-text's shaping picks otherwise: a face of the family at exactly
//! the weight asked for wins whatever its style, and when the family has
//! none at that weight, the platform's fallback families (DejaVu Sans,
//! Noto Sans) are tried before the family itself. So, asked for weight 700
//! of a family with one regular face, it drew the text in DejaVu Sans Bold;
//! asked for Inter at 300 in italic, it slanted Inter Light rather than
//! draw Inter Italic. fontdb's query (CSS Fonts 3) knows no variable range
//! and rounds weights between 400 and 500 to one of them.
//!
//! cosmic-text is told the face through the weight it is asked for: the
//! weight of the face CSS picks, at which that face is an exact match and
//! comes first. A variable face is drawn at the weight asked for, clamped
//! to its `wght` axis as CSS clamps it (one unit off it where another face
//! of the family has exactly that weight, which cosmic-text would take
//! first). The style asked for is kept, so that an italic drawn from an
//! upright face is still slanted (a variable face's `ital` or `slnt` axis
//! is not set: cosmic-text sets only `wght`). Characters the face lacks
//! fall back at the same weight, so they match the weight drawn.

use cosmic_text::fontdb::{Database, Stretch, Style, Weight, ID};

/// A face of the family, as matching sees it.
struct Candidate {
    id: ID,
    stretch: Stretch,
    style: Style,
    /// The weights it draws: its own, or its `wght` axis.
    low: f32,
    high: f32,
    variable: bool,
    /// Its own weight (a variable face's default instance's).
    own: f32,
}

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
    css_face_among(db, family, weight, italic, |_| true)
}

/// [`css_face`] among the faces of `family` that `keep` keeps (those that
/// have the characters to draw, for a character that falls back).
pub(crate) fn css_face_among(
    db: &Database,
    family: &str,
    weight: u16,
    italic: bool,
    keep: impl Fn(ID) -> bool,
) -> Option<(ID, Weight)> {
    let every: Vec<Candidate> = db
        .faces()
        .filter(|f| f.families.iter().any(|(name, _)| name == family))
        .map(|f| {
            let axis = weight_axis(db, f.id);
            let own = f.weight.0 as f32;
            let (low, high) = axis.unwrap_or((own, own));
            Candidate {
                id: f.id,
                stretch: f.stretch,
                style: f.style,
                low,
                high,
                variable: axis.is_some(),
                own,
            }
        })
        .collect();
    let all: Vec<&Candidate> = every.iter().filter(|c| keep(c.id)).collect();
    // Width: normal, else the nearest narrower, else the nearest wider.
    let stretch = match all.iter().any(|c| c.stretch == Stretch::Normal) {
        true => Stretch::Normal,
        false => all
            .iter()
            .map(|c| c.stretch)
            .filter(|&s| s < Stretch::Normal)
            .max()
            .or_else(|| all.iter().map(|c| c.stretch).min())?,
    };
    let order = match italic {
        true => [Style::Italic, Style::Oblique, Style::Normal],
        false => [Style::Normal, Style::Oblique, Style::Italic],
    };
    let style = order
        .into_iter()
        .find(|&s| all.iter().any(|c| c.stretch == stretch && c.style == s))?;
    let set: Vec<&Candidate> = all
        .iter()
        .copied()
        .filter(|c| c.stretch == stretch && c.style == style)
        .collect();
    // cosmic-text takes fontdb's pick (CSS Fonts 3, on default weights)
    // first when it matches the weight asked for: among variable faces
    // that all hold the weight, that one, so that it draws the face picked.
    let fontdb_pick = |w: u16| {
        use cosmic_text::fontdb::{Family, Query};
        db.query(&Query {
            families: &[Family::Name(family)],
            weight: Weight(w),
            stretch: Stretch::Normal,
            style: order[0],
        })
    };
    let best = by_weight(&set, weight as f32, fontdb_pick(weight))?;
    if !best.variable {
        return Some((best.id, Weight(best.low as u16)));
    }
    // A variable face's range is in the font's own units, integral for
    // every font seen; rounding keeps a fractional end inside.
    let (low, high) = (best.low.ceil(), best.high.floor().max(best.low.ceil()));
    let mut drawn = (weight as f32).clamp(low, high);
    // cosmic-text takes a static face of exactly the weight asked for
    // before a variable one: a unit off, within the axis.
    let taken = |w: f32| {
        every
            .iter()
            .any(|c| c.id != best.id && !c.variable && c.low == w)
    };
    if taken(drawn) {
        drawn = [drawn + 1.0, drawn - 1.0]
            .into_iter()
            .find(|&w| (low..=high).contains(&w) && !taken(w))
            .unwrap_or(drawn);
    }
    Some((best.id, Weight(drawn as u16)))
}

/// The face of `set` (one width and style) CSS picks for weight `w`.
fn by_weight<'a>(set: &[&'a Candidate], w: f32, preferred: Option<ID>) -> Option<&'a Candidate> {
    // Every face whose weights hold `w` matches; CSS leaves the choice
    // among them open: a static face of exactly that weight (a designed
    // instance) before a variable one.
    // Among variable ones, `preferred` (the face cosmic-text takes first
    // when it holds the weight), else the one whose default weight is
    // nearest (the lighter of two as near), cosmic-text's next order.
    let exact = set.iter().find(|c| !c.variable && c.low == w);
    let holds = |c: &&&Candidate| c.low <= w && w <= c.high;
    let holding = || {
        set.iter()
            .filter(holds)
            .find(|c| Some(c.id) == preferred)
            .or_else(|| {
                set.iter().filter(holds).min_by(|a, b| {
                    let (da, db) = ((a.own - w).abs(), (b.own - w).abs());
                    da.total_cmp(&db).then(a.own.total_cmp(&b.own))
                })
            })
    };
    if let Some(c) = exact.or_else(holding) {
        return Some(c);
    }
    // The nearest of those above (by their lightest weight) or below (by
    // their heaviest), optionally capped.
    let heavier = |cap: f32| {
        set.iter()
            .filter(|c| c.low > w && c.low <= cap)
            .min_by(|a, b| a.low.total_cmp(&b.low))
            .copied()
    };
    let lighter = || {
        set.iter()
            .filter(|c| c.high < w)
            .max_by(|a, b| a.high.total_cmp(&b.high))
            .copied()
    };
    if (400.0..=500.0).contains(&w) {
        heavier(500.0)
            .or_else(lighter)
            .or_else(|| heavier(f32::INFINITY))
    } else if w < 400.0 {
        lighter().or_else(|| heavier(f32::INFINITY))
    } else {
        heavier(f32::INFINITY).or_else(lighter)
    }
}

/// The range of a variable face's `wght` axis, if it has one. Read from
/// the font once per file and face: matching runs at every shaping (a
/// shrink shapes a layer a dozen times), and reading the axes of a system
/// family's files each time took 200 microseconds a match.
pub(crate) fn weight_axis(db: &Database, id: ID) -> Option<(f32, f32)> {
    use cosmic_text::fontdb::Source;
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    /// Faces by their file (or, for the bundled fonts, the address and
    /// length of their bytes, which live as long as the process) and
    /// index: a few dozen bytes each, cleared past `MOST`.
    type Axes = HashMap<(String, u32), Option<(f32, f32)>>;
    static SEEN: LazyLock<Mutex<Axes>> = LazyLock::new(Mutex::default);
    const MOST: usize = 1 << 16;
    let face = db.face(id)?;
    let file = match &face.source {
        Source::File(path) | Source::SharedFile(path, _) => path.display().to_string(),
        Source::Binary(data) => {
            let bytes: &[u8] = (**data).as_ref();
            format!("\u{0}{:p}+{}", bytes.as_ptr(), bytes.len())
        }
    };
    let key = (file, face.index);
    if let Some(known) = SEEN.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return *known;
    }
    let axis = db
        .with_face_data(id, |data, index| {
            let face = ttf_parser::Face::parse(data, index).ok()?;
            face.variation_axes()
                .into_iter()
                .find(|axis| axis.tag == ttf_parser::Tag::from_bytes(b"wght"))
                .map(|axis| (axis.min_value, axis.max_value))
        })
        .flatten()
        .filter(|(low, high)| low <= high);
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    if seen.len() >= MOST {
        seen.clear();
    }
    seen.insert(key, axis);
    axis
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
    }

    #[test]
    fn a_variable_face_keeps_the_weight_asked_for_within_its_axis() {
        let mut db = Database::new();
        db.load_font_file(VARIABLE).expect("the test font");
        let weight = |w| css_face(&db, "Impasto Var", w, false).map(|(_, w)| w.0);
        assert_eq!(weight(700), Some(700));
        // Its axis runs from 200 to 800.
        assert_eq!(weight(900), Some(800), "clamped to the axis");
        assert_eq!(weight(100), Some(200), "clamped to the axis");
    }

    /// `db` with a face of `family` named `name` at `weight` and `style`,
    /// from `file` (matching reads only its names and its `wght` axis).
    fn push(db: &mut Database, file: &str, family: &str, name: &str, weight: u16, style: Style) {
        db.push_face_info(cosmic_text::fontdb::FaceInfo {
            id: ID::dummy(),
            source: cosmic_text::fontdb::Source::File(file.into()),
            index: 0,
            families: vec![(
                family.into(),
                cosmic_text::fontdb::Language::English_UnitedStates,
            )],
            post_script_name: name.into(),
            style,
            weight: Weight(weight),
            stretch: Stretch::Normal,
            monospaced: false,
        });
    }

    /// Inter Regular's outlines: a static face.
    const STATIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fonts/inter/Inter-Regular.otf");
    /// The test font's: a variable face, 200..800.
    const VARIABLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fonts/ImpastoVar.ttf");

    fn named(db: &Database, family: &str, weight: u16, italic: bool) -> (String, u16) {
        let (id, w) = css_face(db, family, weight, italic).expect("loaded");
        (db.face(id).expect("a face").post_script_name.clone(), w.0)
    }

    #[test]
    fn weights_between_400_and_500_look_heavier_up_to_500_first() {
        let mut db = Database::new();
        for w in [300, 400, 450, 480, 500, 700, 900] {
            push(&mut db, STATIC, "Mix", &format!("w{w}"), w, Style::Normal);
        }
        // fontdb's query rounded 451..499 to 400 first.
        assert_eq!(named(&db, "Mix", 460, false).0, "w480");
        assert_eq!(named(&db, "Mix", 490, false).0, "w500");
        assert_eq!(named(&db, "Mix", 420, false).0, "w450");
        let mut gap = Database::new();
        for w in [400, 450, 480] {
            push(&mut gap, STATIC, "Gap", &format!("w{w}"), w, Style::Normal);
        }
        // Nothing heavier up to 500: the lighter, nearest first.
        assert_eq!(named(&gap, "Gap", 490, false).0, "w480");
        assert_eq!(named(&gap, "Gap", 500, false).0, "w480");
        assert_eq!(named(&gap, "Gap", 350, false).0, "w400");
        assert_eq!(named(&gap, "Gap", 600, false).0, "w480");
    }

    #[test]
    fn a_variable_face_matches_every_weight_of_its_axis_after_a_static_face_of_that_weight() {
        let mut db = Database::new();
        db.load_font_file(VARIABLE).expect("the test font");
        push(
            &mut db,
            STATIC,
            "Impasto Var",
            "static700",
            700,
            Style::Normal,
        );
        push(
            &mut db,
            STATIC,
            "Impasto Var",
            "italic600",
            600,
            Style::Italic,
        );
        // 200..800 is the variable face's, but a static face of exactly
        // the weight comes first; 600 is drawn from the variable face, a
        // unit off the italic's weight, which cosmic-text would take.
        assert_eq!(
            named(&db, "Impasto Var", 700, false),
            ("static700".into(), 700)
        );
        assert_eq!(
            named(&db, "Impasto Var", 750, false),
            ("ImpastoVar-Regular".into(), 750)
        );
        assert_eq!(
            named(&db, "Impasto Var", 600, false),
            ("ImpastoVar-Regular".into(), 601)
        );
        assert_eq!(
            named(&db, "Impasto Var", 500, false),
            ("ImpastoVar-Regular".into(), 500)
        );
        // Past its axis: the nearest, the variable face's 800 over 700.
        assert_eq!(
            named(&db, "Impasto Var", 900, false),
            ("ImpastoVar-Regular".into(), 800)
        );
        assert_eq!(
            named(&db, "Impasto Var", 400, true),
            ("italic600".into(), 600)
        );
    }

    #[test]
    fn of_variable_faces_all_holding_the_weight_the_one_cosmic_text_takes_is_picked() {
        // Two variable faces of one family, defaults 400 and 500, both
        // holding 200..800: cosmic-text takes fontdb's pick (CSS Fonts 3 on
        // the defaults) first, so matching picks it too, and what is
        // reported (the missing-glyph check reads that face) is what is
        // drawn.
        let mut db = Database::new();
        for (name, own) in [("wide", 400), ("mid", 500)] {
            push(&mut db, VARIABLE, "Nest", name, own, Style::Normal);
        }
        for w in [300, 420, 460, 550, 700] {
            let query = cosmic_text::fontdb::Query {
                families: &[cosmic_text::fontdb::Family::Name("Nest")],
                weight: Weight(w),
                stretch: Stretch::Normal,
                style: Style::Normal,
            };
            let (id, drawn) = css_face(&db, "Nest", w, false).expect("loaded");
            assert_eq!(Some(id), db.query(&query), "at {w}");
            assert_eq!(drawn, Weight(w));
        }
    }

    #[test]
    fn a_family_not_loaded_has_no_face() {
        let db = inter(&["Inter-Regular.otf"]);
        assert_eq!(css_face(&db, "No Such Family", 700, false), None);
    }
}
