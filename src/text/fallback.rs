//! Which face draws a character the layer's face lacks
//! ([`Chooser`], for `super::shape`): the first family that has a face
//! holding it, of the layer's own family, cosmic-text's fallback list for
//! its script, its common list, the family cosmic-text found (when asked
//! after shaping), the families found so far, then every font; of that
//! family, the face CSS picks ([`super::face`]) when it holds the
//! characters, else the face CSS picks among those that do.

use std::collections::HashMap;

use cosmic_text::fontdb::{Weight, ID};
use cosmic_text::{Fallback, FontSystem, PlatformFallback};

use super::{face, LOCALE};
use crate::scene::TextLayer;

/// The faces of every family of the database, by each of the family's
/// names, and the families (by their first name) in the database's order.
pub(super) struct Members {
    by_name: HashMap<String, Vec<ID>>,
    order: Vec<String>,
}

/// Chooses the faces of fallback characters, remembering what it read.
pub(super) struct Chooser<'a> {
    pub(super) t: &'a TextLayer,
    /// The layer's family.
    layer: &'a str,
    /// The faces of every family (by each of its names), and the families
    /// in the database's order: read when first needed.
    members: Option<Members>,
    /// The face CSS picks of a family, by family.
    picks: HashMap<String, Option<(ID, Weight)>>,
    /// Whether a face has a character.
    covers: HashMap<(ID, char), bool>,
    /// Families found by [`Chooser::choose_any`] in every font, tried
    /// first the next time.
    found: Vec<String>,
}

impl<'a> Chooser<'a> {
    pub(super) fn new(t: &'a TextLayer, layer: &'a str) -> Chooser<'a> {
        Chooser {
            t,
            layer,
            members: None,
            picks: HashMap::new(),
            covers: HashMap::new(),
            found: Vec::new(),
        }
    }

    /// [`Chooser::choose`], else the first family with a face that has
    /// `cluster`'s characters: of those found so for earlier characters,
    /// then of every font, in the database's order.
    pub(super) fn choose_any(
        &mut self,
        fonts: &mut FontSystem,
        cluster: &str,
    ) -> Option<(String, ID, Weight)> {
        if let Some(chosen) = self.choose(fonts, cluster, None) {
            return Some(chosen);
        }
        for family in self.found.clone() {
            if let Some((id, weight)) = self.face_of(fonts, &family, cluster) {
                return Some((family, id, weight));
            }
        }
        let every = self.members(fonts).order.clone();
        for family in every {
            if self.found.contains(&family) {
                continue;
            }
            if let Some((id, weight)) = self.face_of(fonts, &family, cluster) {
                self.found.push(family.clone());
                return Some((family, id, weight));
            }
        }
        None
    }

    /// The family and face (and the weight to draw it at) to draw
    /// `cluster` from, which cosmic-text drew from `drawn_from` (module
    /// notes); `None` when no family of the lists has it.
    pub(super) fn choose(
        &mut self,
        fonts: &mut FontSystem,
        cluster: &str,
        drawn_from: Option<&str>,
    ) -> Option<(String, ID, Weight)> {
        use unicode_script::{Script, UnicodeScript};
        let script = cluster
            .chars()
            .map(|c| c.script())
            .find(|s| !matches!(s, Script::Common | Script::Inherited | Script::Unknown))
            .unwrap_or(Script::Common);
        let lists = PlatformFallback;
        let listed = lists
            .script_fallback(script, LOCALE)
            .iter()
            .chain(lists.common_fallback())
            .copied()
            .filter(|f| !lists.forbidden_fallback().contains(f));
        let mut tried: Vec<&str> = Vec::new();
        let families = std::iter::once(self.layer).chain(listed).chain(drawn_from);
        for family in families {
            if tried.contains(&family) {
                continue;
            }
            tried.push(family);
            if let Some((id, weight)) = self.face_of(fonts, family, cluster) {
                return Some((family.to_string(), id, weight));
            }
        }
        None
    }

    /// The face of `family` to draw `cluster` from: the one CSS picks if it
    /// has the characters, else the one CSS picks among those that have
    /// them; `None` when no face of it has them.
    fn face_of(
        &mut self,
        fonts: &mut FontSystem,
        family: &str,
        cluster: &str,
    ) -> Option<(ID, Weight)> {
        let (weight, italic) = (self.t.weight, self.t.italic);
        let picked = match self.picks.get(family) {
            Some(p) => *p,
            None => {
                let p = face::css_face(fonts.db(), family, weight, italic);
                self.picks.insert(family.to_string(), p);
                p
            }
        };
        let (id, w) = picked?;
        if self.has(fonts, id, cluster) {
            return Some((id, w));
        }
        let ids = self
            .members(fonts)
            .by_name
            .get(family)
            .cloned()
            .unwrap_or_default();
        let holding: Vec<ID> = ids
            .into_iter()
            .filter(|&id| self.has(fonts, id, cluster))
            .collect();
        if holding.is_empty() {
            return None;
        }
        face::css_face_among(fonts.db(), family, weight, italic, |id| {
            holding.contains(&id)
        })
    }

    /// The families of the database ([`Members`]), read once.
    fn members(&mut self, fonts: &FontSystem) -> &Members {
        self.members.get_or_insert_with(|| {
            let mut by_name: HashMap<String, Vec<ID>> = HashMap::new();
            let mut order = Vec::new();
            for f in fonts.db().faces() {
                for (i, (name, _)) in f.families.iter().enumerate() {
                    let ids = by_name.entry(name.clone()).or_default();
                    if i == 0 && ids.is_empty() {
                        order.push(name.clone());
                    }
                    ids.push(f.id);
                }
            }
            Members { by_name, order }
        })
    }

    /// Whether face `id` has every character of `cluster` (the ignorable
    /// ones aside).
    pub(super) fn has(&mut self, fonts: &mut FontSystem, id: ID, cluster: &str) -> bool {
        let mut font = None;
        for c in cluster.chars().filter(|&c| !is_ignorable(c)) {
            let known = match self.covers.get(&(id, c)) {
                Some(&k) => k,
                None => {
                    let font = font.get_or_insert_with(|| fonts.get_font(id, Weight::NORMAL));
                    let Some(font) = font else { return false };
                    let k = font.as_swash().charmap().map(c) != 0;
                    self.covers.insert((id, c), k);
                    k
                }
            };
            if !known {
                return false;
            }
        }
        true
    }
}

/// Characters a font need not have to draw a cluster: controls, joiners,
/// variation selectors and the other default-ignorable ones (a soft
/// hyphen, direction marks, a zero-width space).
pub(super) fn is_ignorable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
            | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}
