//! What to say when a text layer's `font` names no family found: the
//! spellings users bring from CSS and font menus, each with its fix.

use crate::scene::quoted;

/// CSS's generic families, which name no font.
const GENERIC: [&str; 10] = [
    "serif",
    "sans-serif",
    "monospace",
    "cursive",
    "fantasy",
    "system-ui",
    "ui-sans-serif",
    "ui-serif",
    "ui-monospace",
    "emoji",
];

/// Style words a font menu puts after the family, with the fields that
/// say them in a scene.
const STYLES: [(&str, &str); 17] = [
    ("thin", "\"weight\": 100"),
    ("hairline", "\"weight\": 100"),
    ("extralight", "\"weight\": 200"),
    ("ultralight", "\"weight\": 200"),
    ("light", "\"weight\": 300"),
    ("regular", "\"weight\": 400"),
    ("normal", "\"weight\": 400"),
    ("medium", "\"weight\": 500"),
    ("semibold", "\"weight\": 600"),
    ("demibold", "\"weight\": 600"),
    ("bold", "\"weight\": 700"),
    ("extrabold", "\"weight\": 800"),
    ("ultrabold", "\"weight\": 800"),
    ("black", "\"weight\": 900"),
    ("heavy", "\"weight\": 900"),
    ("italic", "\"style\": \"italic\""),
    ("oblique", "\"style\": \"italic\""),
];

/// A hint for the family `name` not found among `families` (the names
/// known), or `None` when nothing better than "not found" can be said.
pub(super) fn hint<'a>(name: &str, families: impl Fn() -> Vec<&'a str>) -> Option<String> {
    let known = |n: &str| families().into_iter().find(|f| f.eq_ignore_ascii_case(n));
    let trimmed = name.trim();
    if name.contains(',') {
        // The first of the list that is here, as a browser takes it.
        let here = name
            .split(',')
            .map(|n| n.trim().trim_matches(['"', '\'']))
            .find_map(known);
        return Some(match here {
            Some(f) => format!(
                "give one family, not a CSS list: {} (characters it lacks fall back by themselves)",
                quoted(f)
            ),
            None => "give one family, not a CSS list (characters a family lacks fall back by themselves)".into(),
        });
    }
    if GENERIC.iter().any(|g| g.eq_ignore_ascii_case(trimmed)) {
        return Some(
            "CSS's generic families name no font: leave \"font\" out for the default (Inter), or name a family"
                .into(),
        );
    }
    if trimmed != name {
        if let Some(f) = known(trimmed) {
            return Some(format!("without the spaces around it: {}", quoted(f)));
        }
    }
    // "Inter Bold", "Inter SemiBold Italic", "Inter-Bold" (a PostScript
    // name), "Inter Semi Bold", "Inter 700": the family and the fields.
    let words: Vec<&str> = trimmed
        .split([' ', '-'])
        .filter(|w| !w.is_empty())
        .collect();
    for cut in (1..words.len()).rev() {
        let (family, styles) = words.split_at(cut);
        let Some(fields) = style_fields(styles) else {
            continue;
        };
        // The family as written ("DejaVu Sans"), or a near spelling of it.
        let family = family.join(" ");
        let all = families();
        let found = known(&family).or_else(|| crate::scene::closest(&family, &all));
        if let Some(f) = found {
            return Some(format!(
                "that is the family {} with {}",
                quoted(f),
                fields.join(" and ")
            ));
        }
    }
    let all = families();
    crate::scene::closest(trimmed, &all).map(|f| format!("did you mean {}?", quoted(f)))
}

/// The scene fields that style `words` say ("Semi Bold", "Italic", "700"),
/// or `None` when one of them is no style word.
fn style_fields(words: &[&str]) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = words[i].to_ascii_lowercase();
        // "Semi Bold", "Extra Light": two words a font menu writes as one.
        let pair = words
            .get(i + 1)
            .map(|next| format!("{word}{}", next.to_ascii_lowercase()));
        let field = |w: &str| STYLES.iter().find(|(s, _)| *s == w).map(|(_, f)| *f);
        if let Some(f) = pair.as_deref().and_then(field) {
            fields.push(f.to_string());
            i += 2;
            continue;
        }
        match (field(&word), word.parse::<u16>()) {
            (Some(f), _) => fields.push(f.to_string()),
            (None, Ok(n)) if (1..=1000).contains(&n) => fields.push(format!("\"weight\": {n}")),
            _ => return None,
        }
        i += 1;
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(name: &str) -> Option<String> {
        hint(name, || vec!["Inter", "DejaVu Sans", "Noto Sans CJK JP"])
    }

    #[test]
    fn css_and_font_menu_spellings_get_their_fix() {
        assert_eq!(
            said("Inter, sans-serif").unwrap(),
            "give one family, not a CSS list: \"Inter\" (characters it lacks fall back by themselves)"
        );
        assert!(said("sans-serif")
            .unwrap()
            .starts_with("CSS's generic families"));
        assert_eq!(
            said("inter ").unwrap(),
            "without the spaces around it: \"Inter\""
        );
        assert_eq!(
            said("Inter Bold").unwrap(),
            "that is the family \"Inter\" with \"weight\": 700"
        );
        assert_eq!(
            said("DejaVu Sans Semi-Bold Italic").unwrap(),
            "that is the family \"DejaVu Sans\" with \"weight\": 600 and \"style\": \"italic\""
        );
        assert_eq!(said("Intr").unwrap(), "did you mean \"Inter\"?");
        for name in ["Inter-Bold", "Inter 700", "Intr Bold"] {
            assert_eq!(
                said(name).unwrap(),
                "that is the family \"Inter\" with \"weight\": 700",
                "{name}"
            );
        }
        assert_eq!(
            said("Inter Semi Bold").unwrap(),
            "that is the family \"Inter\" with \"weight\": 600"
        );
        assert_eq!(
            said("Arial, Inter").unwrap(),
            "give one family, not a CSS list: \"Inter\" (characters it lacks fall back by themselves)"
        );
        assert_eq!(said("Helvetica"), None);
    }
}
