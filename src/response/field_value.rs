//! JSON values as the classifier keeps them, and the check that no object
//! anywhere in a body repeats a key.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// A JSON value as far as the classifier cares: scalars are kept (borrowed
/// from the body when possible), containers are skipped except for the few
/// nested fields providers use (`data.token`, an error list's first entry).
#[derive(Clone, PartialEq, Debug)]
pub(crate) enum FieldValue<'a> {
    Str(Cow<'a, str>),
    UInt(u64),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    /// An object: its `token` field and its error words.
    Object(Box<Nested<'a>>),
    /// An array: its length and the error words of its first entry that has some.
    Array(Box<Nested<'a>>),
}

/// What the classifier keeps of an object or an array. Boxed in [`FieldValue`]:
/// success bodies rarely nest, and every field of a body stays 32 bytes.
#[derive(Clone, PartialEq, Debug, Default)]
pub(crate) struct Nested<'a> {
    /// An array's length (0 for objects).
    pub len: usize,
    /// An object's `token` field, when it is a string.
    pub token: Option<Cow<'a, str>>,
    /// The `token` field is present but neither a string nor `null`.
    pub token_not_string: bool,
    /// The first message-like field ([`MESSAGE_KEYS`], best ranked first).
    pub text: Option<Cow<'a, str>>,
    /// The entry's own error code ([`CODE_KEYS`]).
    pub code: Option<Cow<'a, str>>,
    /// The field the entry is about ([`FIELD_KEYS`]): SUZ `fieldErrors`,
    /// FastAPI's `loc` (joined with `.`).
    pub field: Option<Cow<'a, str>>,
}

impl<'a> Nested<'a> {
    /// The entry's message, naming its field when it has one
    /// (`address: must not be blank`).
    pub(crate) fn message(&self) -> Option<Cow<'a, str>> {
        match (&self.field, &self.text) {
            (Some(field), Some(text)) => Some(Cow::Owned(format!("{}: {}", field.trim(), text.trim()))),
            (None, Some(text)) => Some(text.clone()),
            (_, None) => None,
        }
    }
}

impl<'a> FieldValue<'a> {
    /// The value as text: strings as they are, numbers and booleans
    /// printed, containers by their message.
    pub(crate) fn text(&self) -> Option<Cow<'a, str>> {
        match self {
            FieldValue::Str(s) => Some(s.clone()),
            FieldValue::UInt(n) => Some(Cow::Owned(n.to_string())),
            FieldValue::Int(n) => Some(Cow::Owned(n.to_string())),
            FieldValue::Float(n) => Some(Cow::Owned(n.to_string())),
            FieldValue::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            FieldValue::Object(nested) | FieldValue::Array(nested) => nested.message(),
            FieldValue::Null => None,
        }
    }

    /// A container's own error code (`globalErrors[0].errorCode`).
    pub(crate) fn nested_code(&self) -> Option<Cow<'a, str>> {
        match self {
            FieldValue::Object(nested) | FieldValue::Array(nested) => nested.code.clone(),
            _ => None,
        }
    }

    /// The credential a value holds: a string as it is, an object's string
    /// `token` (Astana-plat's `data.token`).
    pub(crate) fn secret_text(&self) -> Option<&str> {
        match self {
            FieldValue::Str(s) => Some(s),
            FieldValue::Object(nested) => nested.token.as_deref(),
            _ => None,
        }
    }

    /// A string value, borrowed.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            FieldValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the value says "something is here": not null, not false, not
    /// an empty string or container.
    pub(crate) fn is_substantial(&self) -> bool {
        match self {
            FieldValue::Null | FieldValue::Bool(false) => false,
            FieldValue::Str(s) => !s.trim().is_empty(),
            FieldValue::Array(nested) => nested.len > 0,
            _ => true,
        }
    }

    /// A non-negative whole number from a JSON number or a numeric string.
    /// Values beyond `u64` saturate; fractions are truncated.
    pub(crate) fn non_negative(&self) -> Option<u64> {
        match self {
            FieldValue::UInt(n) => Some(*n),
            // `Int` holds only negatives: serde_json reads others as `UInt`.
            // `as` saturates for floats; JSON has no NaN or infinity.
            FieldValue::Float(f) if *f >= 0.0 => Some(*f as u64),
            FieldValue::Str(s) => parse_non_negative(s.trim()),
            _ => None,
        }
    }
}

pub(crate) fn parse_non_negative(s: &str) -> Option<u64> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: only overflow can fail, and overflow saturates.
        return Some(s.parse::<u64>().unwrap_or(u64::MAX));
    }
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 => Some(f as u64),
        _ => None,
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for FieldValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor(std::marker::PhantomData))
    }
}

struct ScalarVisitor<'a>(std::marker::PhantomData<&'a ()>);

/// Keys whose value is an entry's message, best first.
const MESSAGE_KEYS: [&str; 12] = [
    "message",
    "msg",
    "error_message",
    "errorMessage",
    "error_description",
    "description",
    "detail",
    "fieldError",
    "defaultMessage",
    "title",
    "error",
    "text",
];

/// Keys whose value is an entry's error code, best first.
const CODE_KEYS: [&str; 4] = ["errorCode", "error_code", "code", "type"];

/// Keys naming the field an entry is about, best first.
const FIELD_KEYS: [&str; 5] = ["fieldName", "field", "param", "pointer", "loc"];

/// The best-ranked value seen for one kind of key.
struct Ranked<'a>(Option<(usize, Cow<'a, str>)>);

impl<'a> Ranked<'a> {
    fn offer(&mut self, rank: usize, value: Option<Cow<'a, str>>) {
        if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
            if self.0.as_ref().is_none_or(|(best, _)| rank < *best) {
                self.0 = Some((rank, value));
            }
        }
    }

    fn take(self) -> Option<Cow<'a, str>> {
        self.0.map(|(_, value)| value)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
    type Value = FieldValue<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(FieldValue::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(FieldValue::UInt(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(FieldValue::Int(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(FieldValue::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(FieldValue::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(FieldValue::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(FieldValue::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(FieldValue::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(FieldValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        FieldValue::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut len = 0usize;
        let mut first: Option<Nested<'a>> = None;
        while let Some(item) = seq.next_element::<FieldValue<'a>>()? {
            len += 1;
            if first.is_none() {
                first = match item {
                    FieldValue::Object(nested) | FieldValue::Array(nested) if nested.text.is_some() => {
                        Some(Nested { len: 0, ..*nested })
                    }
                    other => other.text().map(|text| Nested {
                        text: Some(text),
                        ..Nested::default()
                    }),
                };
            }
        }
        Ok(FieldValue::Array(Box::new(Nested {
            len,
            ..first.unwrap_or_default()
        })))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut token = None;
        let mut token_not_string = false;
        let mut text = Ranked(None);
        let mut code = Ranked(None);
        let mut field = Ranked(None);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let rank = |keys: &[&str]| keys.iter().position(|k| *k == key);
            if key == "token" {
                let value = map.next_value::<FieldValue<'a>>()?;
                token_not_string = !matches!(value, FieldValue::Str(_) | FieldValue::Null);
                token = value.as_str().map(|s| Cow::Owned(s.to_owned()));
            } else if key == "loc" {
                let Joined(path) = map.next_value()?;
                field.offer(FIELD_KEYS.len() - 1, path.map(Cow::Owned));
            } else if let Some(r) = rank(&MESSAGE_KEYS) {
                text.offer(r, map.next_value::<FieldValue<'a>>()?.text());
            } else if let Some(r) = rank(&CODE_KEYS) {
                code.offer(r, map.next_value::<FieldValue<'a>>()?.text());
            } else if let Some(r) = rank(&FIELD_KEYS) {
                field.offer(r, map.next_value::<FieldValue<'a>>()?.text());
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(FieldValue::Object(Box::new(Nested {
            len: 0,
            token,
            token_not_string,
            text: text.take(),
            code: code.take(),
            field: field.take(),
        })))
    }
}

/// A location such as FastAPI's `"loc": ["body", "username"]`, joined with
/// `.`; a single value as its text.
struct Joined(Option<String>);

impl<'de> Deserialize<'de> for Joined {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Joined;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a location")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Joined, A::Error> {
                let mut parts = Vec::new();
                while let Some(part) = seq.next_element::<FieldValue<'de>>()? {
                    parts.extend(part.text().map(Cow::into_owned));
                }
                Ok(Joined((!parts.is_empty()).then(|| parts.join("."))))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Joined, A::Error> {
                IgnoredAny::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Joined(None))
            }
            fn visit_str<E>(self, v: &str) -> Result<Joined, E> {
                Ok(Joined(Some(v.to_owned())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Joined, E> {
                Ok(Joined(Some(v.to_string())))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Joined, E> {
                Ok(Joined(Some(v.to_string())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Joined, E> {
                Ok(Joined(Some(v.to_string())))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Joined, E> {
                Ok(Joined(None))
            }
            fn visit_unit<E>(self) -> Result<Joined, E> {
                Ok(Joined(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Refuses a top-level value that is not an object (a derived struct would
/// also accept an array, filling fields by position).
pub(crate) struct ObjectOnly<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = ObjectOnly<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(ObjectOnly)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Any JSON value, read only to refuse an object anywhere in it that
/// repeats a key (compared after unescaping: `"a"` and `"\u0061"` are one
/// key). Derived structs refuse repeats of their own fields only, and
/// skip whatever they do not keep unchecked: a server that sends
/// `{"data":{"token":"A","token":"B"}}` means something, but not one thing.
pub(crate) struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        // Ordered, not hashed: a hash set would draw random keys.
        let mut keys: BTreeSet<Cow<'de, str>> = BTreeSet::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if !keys.insert(key) {
                return Err(de::Error::custom("an object repeats a key"));
            }
            map.next_value::<UniqueKeys>()?;
        }
        Ok(UniqueKeys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(json: &str) -> Option<String> {
        serde_json::from_str::<Joined>(json).unwrap().0
    }

    /// A location is joined from its text parts; numbers print as
    /// numbers; objects, booleans and null name no place.
    #[test]
    fn a_location_joins_its_parts_and_drops_what_names_no_place() {
        assert_eq!(joined(r#"["body", 0, "inn"]"#).as_deref(), Some("body.0.inn"));
        assert_eq!(joined("[]"), None);
        assert_eq!(joined("-3").as_deref(), Some("-3"));
        assert_eq!(joined("1.5").as_deref(), Some("1.5"));
        assert_eq!(joined(r#"{"a":1}"#), None);
        assert_eq!(joined("true"), None);
        assert_eq!(joined("null"), None);
    }

    /// Values from an owned source (not borrowed text) read as the same
    /// values; what no JSON holds is refused naming what was expected.
    #[test]
    fn owned_values_read_alike_and_bytes_are_refused() {
        let value = FieldValue::deserialize(serde_json::json!("abc")).unwrap();
        assert_eq!(value.as_str(), Some("abc"));
        let null = FieldValue::deserialize(serde_json::Value::Null).unwrap();
        assert!(null.text().is_none());
        let bytes = de::value::BytesDeserializer::<de::value::Error>::new(b"x");
        let err = FieldValue::deserialize(bytes).err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("any JSON value")),
            "{err:?}"
        );
        let bytes = de::value::BytesDeserializer::<de::value::Error>::new(b"x");
        let err = Joined::deserialize(bytes).err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("a location")),
            "{err:?}"
        );
    }
}
