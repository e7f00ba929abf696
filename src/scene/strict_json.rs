//! JSON text to a `serde_json::Value`, refusing an object that names the
//! same key twice (serde_json keeps the last one silently, which hides a
//! mistake such as two `"color"`s in one layer), and bounding what the
//! tree may hold while it is built ([`Budget`]): a scene's tree of many
//! tiny values is tens of times its text, so a file within the size limit
//! could otherwise take gigabytes before any check on the scene ran.

use std::cell::Cell;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// What a parse may build: checked as each value is added, so a document
/// over it is refused with at most the budget allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    /// Most elements in the top-level object's `"layers"` array (a scene's
    /// or a template's `max_layers`); `usize::MAX` for no bound.
    pub(crate) max_layers: usize,
    /// Most heap bytes the tree may take, as estimated by [`TreeBytes`]
    /// (a render's `max_render_bytes`, at least [`MIN_TREE_BYTES`]).
    pub(crate) max_tree_bytes: u64,
    /// Where `max_tree_bytes` comes from, for its error.
    pub(crate) tree_limit: &'static str,
}

impl Budget {
    /// The budget from a render's limits: `max_layers`, and
    /// `max_render_bytes` but at least [`MIN_TREE_BYTES`].
    pub(crate) fn of(limits: &crate::Limits) -> Budget {
        Budget {
            max_layers: limits.max_layers,
            max_tree_bytes: limits.max_render_bytes.max(MIN_TREE_BYTES),
            tree_limit: if limits.max_render_bytes < MIN_TREE_BYTES {
                "64 MiB, the least a scene's tree is allowed whatever max_render_bytes"
            } else {
                "max_render_bytes"
            },
        }
    }
}

/// The least a scene's tree may take whatever its `max_render_bytes`: a
/// file's worth (64 MiB, [`super::MAX_SCENE_BYTES`]), so that a render
/// budget set small to refuse renders still lets their scenes be read and
/// refused with the render's own message.
pub(crate) const MIN_TREE_BYTES: u64 = super::MAX_SCENE_BYTES;

/// Why a parse stopped at its budget (serde_json's error carries the
/// position; this, the facts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Over {
    Layers(usize),
    TreeBytes(u64),
}

/// The heap bytes of a `serde_json::Value` tree, bounded from above as it
/// is built: a string's bytes plus an allocation's overhead; an array's
/// capacity in 32-byte values; an object's B-tree nodes beside its keys.
/// An object of up to 11 entries is one leaf (632 bytes for `String` keys
/// and `Value`s); a larger one has split, and every node but the root
/// holds at least 5 entries, so it has at most `1 + (n - 1) / 5` nodes,
/// each counted at an internal node's 728 bytes. Checked against a
/// counting allocator in `tests/parse_memory.rs`.
struct TreeBytes;

impl TreeBytes {
    /// malloc's bookkeeping and rounding per allocation, about.
    const ALLOCATION: u64 = 16;
    const VALUE: u64 = 32;
    const LEAF: u64 = 632;
    const NODE: u64 = 728;

    fn string(len: usize) -> u64 {
        if len == 0 {
            0
        } else {
            len as u64 + Self::ALLOCATION
        }
    }

    /// An array's values: its capacity as it grows.
    fn array(capacity: usize) -> u64 {
        if capacity == 0 {
            0
        } else {
            capacity as u64 * Self::VALUE + Self::ALLOCATION
        }
    }

    /// An object of `entries` entries, without its keys' and values' heap.
    fn object(entries: usize) -> u64 {
        match entries {
            0 => 0,
            1..=11 => Self::LEAF + Self::ALLOCATION,
            n => (1 + (n as u64 - 1) / 5) * (Self::NODE + Self::ALLOCATION),
        }
    }
}

/// The running count of one parse.
struct Spent {
    budget: Budget,
    bytes: Cell<u64>,
    /// The most `bytes` has been.
    peak: Cell<u64>,
    over: Cell<Option<Over>>,
}

impl Spent {
    fn new(budget: Budget) -> Spent {
        Spent {
            budget,
            bytes: Cell::new(0),
            peak: Cell::new(0),
            over: Cell::new(None),
        }
    }

    /// Takes `bytes` back from the estimate (a buffer freed).
    fn release(&self, bytes: u64) {
        self.bytes.set(self.bytes.get().saturating_sub(bytes));
    }

    /// Counts an array of `capacity` values growing, as `Vec` grows it
    /// (doubled, 4 at least), while the old and new buffers are both held;
    /// its new capacity. The parse and the measure ([`tree_bytes`]) count
    /// through this and [`Spent::add_entry`], so that they count alike.
    fn grow_array<E: de::Error>(&self, capacity: usize) -> Result<usize, E> {
        let new = (capacity * 2).max(4);
        let moving = TreeBytes::array(capacity);
        self.add(TreeBytes::array(new) + moving)?;
        self.release(moving);
        Ok(new)
    }

    /// Counts the `n + 1`th entry of an object, its key `key_len` bytes.
    fn add_entry<E: de::Error>(&self, n: usize, key_len: usize) -> Result<(), E> {
        let entry = TreeBytes::object(n + 1) - TreeBytes::object(n);
        self.add(entry + TreeBytes::string(key_len))
    }

    /// Adds `bytes` to the tree's estimate; an error once over the budget.
    fn add<E: de::Error>(&self, bytes: u64) -> Result<(), E> {
        let total = self.bytes.get().saturating_add(bytes);
        self.bytes.set(total);
        self.peak.set(self.peak.get().max(total));
        let max = self.budget.max_tree_bytes;
        if total > max {
            self.over.set(Some(Over::TreeBytes(max)));
            return Err(E::custom(format_args!(
                "the JSON's parsed tree would take more than the {max} bytes of memory allowed ({})",
                self.budget.tree_limit
            )));
        }
        Ok(())
    }
}

/// Parses `text` like `serde_json::from_str::<Value>`, except that a
/// duplicate key is an error naming the key (with serde_json's position),
/// and a document over `budget` stops with [`Over`] saying why.
pub(super) fn from_str(
    text: &str,
    budget: Budget,
) -> Result<Value, (serde_json::Error, Option<Over>)> {
    let spent = Spent::new(budget);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = Strict::top(&spent)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| (e, spent.over.get()))
}

/// JSON bytes to a `serde_json::Value` as a scene's JSON text is read: a key
/// named twice in one object is an error naming it. For JSON that is not a
/// scene but is read as strictly (a batch's JSON Lines rows, a service's
/// template values). The tree may take at most twice the text plus 64 MiB
/// (estimated as it is built): a row of variable values is mostly strings,
/// about its text's size, while a line of tiny arrays or objects would take
/// tens of times its text.
pub fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let max = (bytes.len() as u64)
        .saturating_mul(2)
        .saturating_add(64 << 20);
    from_slice_budget(
        bytes,
        Budget {
            max_layers: usize::MAX,
            max_tree_bytes: max,
            tree_limit: "twice the text plus 64 MiB",
        },
    )
}

/// What a tree held to the memory its caller reserved says it was over.
pub(crate) const RESERVED: &str = "the memory reserved for the parse";

/// [`from_slice`] with the tree held to `max_tree_bytes` exactly: for a
/// caller that reserved that much memory for it (`impasto serve`, in its
/// memory budget).
pub fn from_slice_within(bytes: &[u8], max_tree_bytes: u64) -> Result<Value, serde_json::Error> {
    from_slice_budget(
        bytes,
        Budget {
            max_layers: usize::MAX,
            max_tree_bytes,
            tree_limit: RESERVED,
        },
    )
}

fn from_slice_budget(bytes: &[u8], budget: Budget) -> Result<Value, serde_json::Error> {
    let spent = Spent::new(budget);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict::top(&spent).deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// serde_json's message for `e`, with its two misleading ones about `\u`
/// escapes of UTF-16 surrogates said plainly: a high surrogate not followed
/// by a low one is "unexpected end of hex escape" (as is a short escape),
/// and a low surrogate alone is a "lone leading surrogate".
pub fn describe(e: &serde_json::Error) -> String {
    e.to_string()
        .replace(
            "unexpected end of hex escape",
            "unexpected end of a \\u escape (4 hex digits; a \\uD800-\\uDBFF escape must be followed by a \\uDC00-\\uDFFF one)",
        )
        .replace(
            "lone leading surrogate in hex escape",
            "a \\uDC00-\\uDFFF escape without a \\uD800-\\uDBFF escape before it (an unpaired UTF-16 surrogate)",
        )
}

/// A seed that builds a `Value`, refusing duplicate keys at every depth and
/// counting what it builds against the parse's [`Budget`].
#[derive(Clone, Copy)]
struct Strict<'s> {
    spent: &'s Spent,
    place: Place,
}

/// Where a value sits, as far as the budget cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// The document itself.
    Top,
    /// The top-level object's `"layers"`.
    Layers,
    Other,
}

impl<'s> Strict<'s> {
    fn top(spent: &'s Spent) -> Strict<'s> {
        Strict {
            spent,
            place: Place::Top,
        }
    }

    fn at(self, place: Place) -> Strict<'s> {
        Strict { place, ..self }
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.spent.add(TreeBytes::string(v.len()))?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.spent.add(TreeBytes::string(v.len()))?;
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self.at(Place::Other))? {
            if self.place == Place::Layers && out.len() == self.spent.budget.max_layers {
                let max = self.spent.budget.max_layers;
                self.spent.over.set(Some(Over::Layers(max)));
                return Err(de::Error::custom(format_args!(
                    "more than {max} layers, over the limit of {max} (max_layers)"
                )));
            }
            if out.len() == out.capacity() {
                // Grown here, as Vec would, once the budget allows it.
                let new = self.spent.grow_array(out.capacity())?;
                out.reserve_exact(new - out.capacity());
            }
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key {}",
                    super::quoted(&key)
                )));
            }
            self.spent.add_entry(out.len(), key.len())?;
            let place = if self.place == Place::Top && key == "layers" {
                Place::Layers
            } else {
                Place::Other
            };
            let value = map.next_value_seed(self.at(place))?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// The most heap the tree of the JSON `bytes` would take while it is
/// parsed, as a parse bounded by a [`Budget`] counts it ([`TreeBytes`]),
/// found without building it: a parse held to this much
/// ([`from_slice_within`], `Scene::from_json_within`) is not stopped by it.
/// JSON that is not valid is the error its parse would stop with (its
/// syntax: a duplicate key is found by the parse); a UTF-8 byte-order mark
/// before it is skipped, as a scene's is. For a caller that reserves the
/// memory before parsing (`impasto serve`): a scene of tiny values takes
/// tens of times its text, one holding an image as a `data:` URL about
/// its text, and invalid JSON late in a large body is told without the
/// tree before it being built.
pub fn tree_bytes(bytes: &[u8]) -> Result<u64, serde_json::Error> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let spent = Spent::new(Budget {
        max_layers: usize::MAX,
        max_tree_bytes: u64::MAX,
        tree_limit: "",
    });
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Measure { spent: &spent }.deserialize(&mut de)?;
    de.end()?;
    Ok(spent.peak.get())
}

/// [`Strict`]'s count without its tree: the same additions in the same
/// order (a duplicate key, which stops a parse, is counted on).
#[derive(Clone, Copy)]
struct Measure<'s> {
    spent: &'s Spent,
}

impl<'de> DeserializeSeed<'de> for Measure<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Measure<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.spent.add(TreeBytes::string(v.len()))
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (mut len, mut capacity) = (0usize, 0usize);
        while seq.next_element_seed(self)?.is_some() {
            if len == capacity {
                capacity = self.spent.grow_array(capacity)?;
            }
            len += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut n = 0;
        while let Some(key) = map.next_key_seed(KeyLength)? {
            self.spent.add_entry(n, key)?;
            n += 1;
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

/// A key's length in bytes, read without keeping it.
struct KeyLength;

impl<'de> DeserializeSeed<'de> for KeyLength {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyLength {
    type Value = usize;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, v: &str) -> Result<usize, E> {
        Ok(v.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_measured_is_what_its_parse_counts_and_a_parse_held_to_it_passes() {
        let long = format!("{{\"s\": \"{}\"}}", "x".repeat(100_000));
        let many = format!("[{}1]", "{\"a\": [1, 2, 3], \"bb\": \"cc\"},".repeat(3000));
        let keys: String = (0..40).map(|i| format!("\"k{i}\": {{}},")).collect();
        let wide = format!("{{{keys} \"z\": 0}}");
        for text in [
            long.as_str(),
            many.as_str(),
            wide.as_str(),
            "{}",
            "[]",
            "\"\"",
            "7",
        ] {
            let measured = tree_bytes(text.as_bytes()).unwrap();
            // The parse counts the same: held to it, it passes; to a byte
            // less (where anything is counted), it stops.
            assert!(
                from_slice_within(text.as_bytes(), measured).is_ok(),
                "{text:.40}"
            );
            if measured > 0 {
                let e = from_slice_within(text.as_bytes(), measured - 1).unwrap_err();
                assert!(e.to_string().contains("parsed tree"), "{e}");
            }
        }
        // Invalid JSON: the error its parse stops with, where it does.
        let broken = format!("[\"{}\", }}", "y".repeat(1000));
        let measured = tree_bytes(broken.as_bytes()).unwrap_err();
        let parsed = from_slice_within(broken.as_bytes(), u64::MAX).unwrap_err();
        assert_eq!(measured.to_string(), parsed.to_string());
        assert!(tree_bytes(b"[1] 2").is_err(), "trailing characters");
        // A byte-order mark is skipped.
        let bom = tree_bytes("\u{feff}[\"ab\"]".as_bytes()).unwrap();
        assert_eq!(bom, tree_bytes(b"[\"ab\"]").unwrap());
    }

    /// `from_str` under the default limits' budget.
    fn parse(text: &str) -> Result<Value, serde_json::Error> {
        from_str(text, Budget::of(&crate::Limits::default())).map_err(|(e, _)| e)
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth_and_other_json_parses_as_serde_json_does() {
        for text in [
            r#"{"a": 1, "b": [1, 2.5, -3, true, null, "x", {"c": {}}], "d": 18446744073709551615}"#,
            r#"[1e300, -0.0, "\u00e9\ud83c\udf1e", []]"#,
        ] {
            let want: Value = serde_json::from_str(text).unwrap();
            assert_eq!(parse(text).unwrap(), want);
        }
        for text in [
            r#"{"width": 1, "width": 2}"#,
            r##"{"layers": [{"type": "rect", "color": "#fff", "color": "#000"}]}"##,
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.starts_with("duplicate key"), "{e}");
        }
        assert!(parse("{} x").is_err(), "trailing characters");
    }

    #[test]
    fn only_the_top_level_layers_array_counts_against_max_layers() {
        let budget = Budget {
            max_layers: 2,
            max_tree_bytes: 1 << 20,
            tree_limit: "max_render_bytes",
        };
        for text in [
            r#"{"layers": [1, 2]}"#,
            r#"{"a": {"layers": [1, 2, 3]}, "layers": []}"#,
            r#"[{"layers": [1, 2, 3]}]"#,
            r#"{"layers": [[1, 2, 3], [4, 5, 6]]}"#,
        ] {
            assert!(from_str(text, budget).is_ok(), "{text}");
        }
        let (e, over) = from_str(r#"{"layers": [1, 2, 3]}"#, budget).unwrap_err();
        assert_eq!(over, Some(Over::Layers(2)));
        assert!(
            e.to_string()
                .starts_with("more than 2 layers, over the limit of 2 (max_layers) at line 1"),
            "{e}"
        );
    }

    #[test]
    fn a_tree_over_its_bytes_stops_saying_which_limit() {
        let budget = Budget {
            max_layers: usize::MAX,
            max_tree_bytes: 1000,
            tree_limit: "max_render_bytes",
        };
        assert!(from_str(r#"{"a": "b"}"#, budget).is_ok());
        let (e, over) = from_str(r#"{"a": {"b": {}}}"#, budget).unwrap_err();
        assert_eq!(over, Some(Over::TreeBytes(1000)));
        assert!(
            e.to_string()
                .contains("more than the 1000 bytes of memory allowed (max_render_bytes)"),
            "{e}"
        );
        // Not a scene: twice the text plus 64 MiB. A million one-entry
        // objects (8 MB of text) would take some 700 MB as a tree.
        let objects = format!("[{}]", vec![r#"{"a":1}"#; 1_000_000].join(","));
        let e = from_slice(objects.as_bytes()).unwrap_err().to_string();
        let max = 2 * objects.len() + (64 << 20);
        assert!(
            e.contains(&format!(
                "more than the {max} bytes of memory allowed (twice the text plus 64 MiB)"
            )),
            "{e}"
        );
        assert!(from_slice(br#"{"a": [1, 2, {"b": "c"}]}"#).is_ok());
    }
}

#[cfg(test)]
mod describe_tests {
    use super::*;

    fn parse(text: &str) -> Result<Value, serde_json::Error> {
        from_str(text, Budget::of(&crate::Limits::default())).map_err(|(e, _)| e)
    }

    #[test]
    fn unpaired_surrogate_escapes_are_named_as_such() {
        let high = describe(&parse(r#"{"t": "a\ud800b"}"#).unwrap_err());
        assert!(
            high.contains("must be followed by a \\uDC00-\\uDFFF"),
            "{high}"
        );
        assert!(high.contains("line 1 column"), "{high}");
        let low = describe(&parse(r#"{"t": "a\udc00b"}"#).unwrap_err());
        assert!(low.contains("unpaired UTF-16 surrogate"), "{low}");
        assert!(!low.contains("leading"), "{low}");
    }
}
