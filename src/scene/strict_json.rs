//! JSON text to a `serde_json::Value`, refusing an object that names the
//! same key twice (serde_json keeps the last one silently, which hides a
//! mistake such as two `"color"`s in one layer).

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses `text` like `serde_json::from_str::<Value>`, except that a
/// duplicate key is an error naming the key (with serde_json's position).
pub(super) fn from_str(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Strict.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// JSON bytes to a `serde_json::Value` as a scene's JSON text is read: a key
/// named twice in one object is an error naming it. For JSON that is not a
/// scene but is read as strictly (a batch's JSON Lines rows, a service's
/// template values).
pub fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict.deserialize(&mut de)?;
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

/// A seed that builds a `Value`, refusing duplicate keys at every depth.
#[derive(Clone, Copy)]
struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
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

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
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
        while let Some(v) = seq.next_element_seed(Strict)? {
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
            let value = map.next_value_seed(Strict)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth_and_other_json_parses_as_serde_json_does() {
        for text in [
            r#"{"a": 1, "b": [1, 2.5, -3, true, null, "x", {"c": {}}], "d": 18446744073709551615}"#,
            r#"[1e300, -0.0, "\u00e9\ud83c\udf1e", []]"#,
        ] {
            let want: Value = serde_json::from_str(text).unwrap();
            assert_eq!(from_str(text).unwrap(), want);
        }
        for text in [
            r#"{"width": 1, "width": 2}"#,
            r##"{"layers": [{"type": "rect", "color": "#fff", "color": "#000"}]}"##,
        ] {
            let e = from_str(text).unwrap_err().to_string();
            assert!(e.starts_with("duplicate key"), "{e}");
        }
        assert!(from_str("{} x").is_err(), "trailing characters");
    }
}

#[cfg(test)]
mod describe_tests {
    use super::*;

    #[test]
    fn unpaired_surrogate_escapes_are_named_as_such() {
        let high = describe(&from_str(r#"{"t": "a\ud800b"}"#).unwrap_err());
        assert!(
            high.contains("must be followed by a \\uDC00-\\uDFFF"),
            "{high}"
        );
        assert!(high.contains("line 1 column"), "{high}");
        let low = describe(&from_str(r#"{"t": "a\udc00b"}"#).unwrap_err());
        assert!(low.contains("unpaired UTF-16 surrogate"), "{low}");
        assert!(!low.contains("leading"), "{low}");
    }
}
