//! Which top-level fields of an answer are kept, declared once per reader.
//!
//! The classifier keeps the error fields of every provider family
//! ([`ErrorFields`](super::ErrorFields)); each flow declares the fields of
//! its own success next to itself with [`fields!`](crate::response::fields),
//! and that one declaration is the struct, the slots both JSON readers (the
//! flat one and serde's) fill, and the key list tests and fuzzers draw from.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::{ErrorFields, FieldValue};

/// The top-level fields one reader keeps, each an `Option<FieldValue>` named as
/// its JSON key. Implemented by [`fields!`](crate::response::fields).
pub(crate) trait Fields<'a>: Default + fmt::Debug + PartialEq {
    /// Every key kept, in declaration order.
    const KEYS: &'static [&'static str];

    /// The keys that the error fields keep too, a bit per place in
    /// [`KEYS`](Self::KEYS) (`code` is MDLP's answer and a verdict): only
    /// those are looked up twice.
    const SHARED: u64;

    /// The field `key` fills, if it is kept, and its place in [`KEYS`](Self::KEYS).
    fn slot(&mut self, key: &str) -> Option<(usize, &mut Option<FieldValue<'a>>)>;

    /// Hands every token-like value held to `add`, to be scrubbed from the
    /// words of a refusal.
    fn each_secret(&self, add: &mut dyn FnMut(&str));
}

/// Declares a struct of kept fields and implements [`Fields`] for it.
///
/// ```ignore
/// fields! {
///     /// A CRPT sign-in's answer.
///     pub(crate) struct TokenAnswer { token }
///     secrets: token;
/// }
/// ```
///
/// Each field is named as its JSON key (camelCase ones too). `secrets:`
/// names the fields whose text is a credential: a refusal never shows it.
macro_rules! fields {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$field_meta:meta])* $field:ident ),* $(,)?
        }
        $( secrets: $( $secret:ident ),* ; )?
    ) => {
        $(#[$meta])*
        #[derive(Default, Debug, PartialEq)]
        #[allow(non_snake_case)]
        $vis struct $name<'a> {
            $( $(#[$field_meta])* pub $field: Option<$crate::response::FieldValue<'a>>, )*
            _borrows: ::std::marker::PhantomData<&'a str>,
        }

        impl<'a> $crate::response::Fields<'a> for $name<'a> {
            const KEYS: &'static [&'static str] = &[$( stringify!($field) ),*];
            const SHARED: u64 = $crate::response::shared_keys(Self::KEYS, $crate::response::ErrorFields::KEYS);

            #[inline]
            fn slot(&mut self, key: &str) -> Option<(usize, &mut Option<$crate::response::FieldValue<'a>>)> {
                match key {
                    $( stringify!($field) => Some((
                        const {
                            $crate::response::key_index(Self::KEYS, stringify!($field))
                                .expect("KEYS lists every field the macro declares")
                        },
                        &mut self.$field,
                    )), )*
                    _ => None,
                }
            }

            fn each_secret(&self, _add: &mut dyn FnMut(&str)) {
                $($(
                    if let Some(text) = self.$secret.as_ref().and_then($crate::response::FieldValue::secret_text) {
                        _add(text);
                    }
                )*)?
            }
        }
    };
}
pub(crate) use fields;

fields! {
    /// No fields beyond the error fields: for answers read only as refusals
    /// (a 401 of an API, a redirect).
    pub(crate) struct NoFields {}
}

/// A body as the classifier reads it: the error fields every answer is
/// checked for, and the fields of the flow's own success.
#[derive(Default, Debug, PartialEq)]
pub(crate) struct Body<'a, S> {
    pub errors: ErrorFields<'a>,
    pub fields: S,
}

impl<'a, S: Fields<'a>> Body<'a, S> {
    /// Every kept key has a bit of a `u64`: the error fields' first, then
    /// the flow's (refused at compile time if they do not fit).
    const FITS: () = assert!(ErrorFields::KEYS.len() + S::KEYS.len() <= 64);

    /// Whether either set keeps `key`.
    fn keeps(&mut self, key: &str) -> bool {
        self.errors.slot(key).is_some() || self.fields.slot(key).is_some()
    }

    /// Stores `value` under `key` in each set that keeps it (`code` is both
    /// a verdict and MDLP's answer, `status` both a verdict and ITC's).
    /// The key's bit, if any set keeps it (to find a repeated key).
    #[inline]
    pub(super) fn put(&mut self, key: &str, value: Option<FieldValue<'a>>) -> Option<u64> {
        let () = Self::FITS;
        let flow_bit = |i: usize| 1u64 << (ErrorFields::KEYS.len() + i);
        // Most keys of an answer are its flow's own: one lookup for those.
        match self.fields.slot(key) {
            Some((f, field)) if S::SHARED & 1 << f == 0 => {
                *field = value;
                Some(flow_bit(f))
            }
            Some((f, field)) => {
                let mut bits = flow_bit(f);
                if let Some((e, error)) = self.errors.slot(key) {
                    error.clone_from(&value);
                    bits |= 1 << e;
                }
                *field = value;
                Some(bits)
            }
            None => self.errors.slot(key).map(|(e, slot)| {
                *slot = value;
                1 << e
            }),
        }
    }
}

/// Which of `keys` are also in `others`, a bit per place in `keys` (at
/// most 64 places: [`Body`] asserts it).
pub(crate) const fn shared_keys(keys: &[&str], others: &[&str]) -> u64 {
    let mut bits = 0;
    let mut i = 0;
    while i < keys.len() && i < 64 {
        if key_index(others, keys[i]).is_some() {
            bits |= 1 << i;
        }
        i += 1;
    }
    bits
}

/// Where `key` is in `keys`: the macro numbers its slots with it at compile
/// time, where a key outside the list would fail the build.
pub(crate) const fn key_index(keys: &[&str], key: &str) -> Option<usize> {
    let mut i = 0;
    while i < keys.len() {
        let (a, b) = (keys[i].as_bytes(), key.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

/// Read with the same slots as the flat reader. Repeated keys are refused
/// before (`UniqueKeys`), and unkept values are skipped unread.
impl<'de, S: Fields<'de>> Deserialize<'de> for Body<'de, S> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<S>(PhantomData<S>);
        impl<'de, S: Fields<'de>> Visitor<'de> for V<S> {
            type Value = Body<'de, S>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut body = Body::<S>::default();
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    if body.keeps(&key) {
                        // serde reads `null` into an `Option` as `None`.
                        let value = map.next_value::<Option<FieldValue<'de>>>()?;
                        body.put(&key, value);
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
                Ok(body)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// A key as sent, unescaped; borrowed when it had no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }

            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }

            fn visit_str<E>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The macro's slot numbers, checked at run time (at compile time the
    /// coverage tools do not see them).
    #[test]
    fn keys_are_found_by_place_and_shared_keys_are_marked() {
        let keys = ["error", "message", "code"];
        assert_eq!(key_index(&keys, "message"), Some(1));
        assert_eq!(key_index(&keys, "cod"), None, "a prefix is not the key");
        assert_eq!(key_index(&keys, "codes"), None);
        assert_eq!(key_index(&[], "code"), None);
        assert_eq!(shared_keys(&keys, &["code", "error", "other"]), 0b101);
        assert_eq!(shared_keys(&keys, &[]), 0);
    }
}
