//! A YAML document read into a tree of nodes that each remember where they
//! came from, so that every later check can point at the exact line and column.
//!
//! Parsing is done by serde-saphyr (pure Rust, panic-free, with input budgets);
//! this module only decides *what* to keep: scalars with their text (borrowed
//! from the source whenever YAML took it as written) and whether YAML
//! resolved them to a number, sequences, and mappings whose duplicate keys
//! are kept (so they can be reported instead of silently lost). The matrix
//! reader never builds the whole tree at once: it reads each service as soon
//! as its nodes are complete (see `matrix/read/stream.rs`).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Location;

/// Where a node starts in the source, and how long it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// Byte offset of the first character.
    pub offset: usize,
    /// Length in bytes (0 when unknown, e.g. for whole collections).
    pub len: usize,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
}

impl Span {
    /// A span with a known position but no length.
    pub fn point(offset: usize, line: u32, column: u32) -> Self {
        Span {
            offset,
            len: 0,
            line,
            column,
        }
    }

    pub(crate) fn from_location(location: &Location) -> Self {
        let span = location.span();
        Span {
            offset: span.byte_offset().unwrap_or(0) as usize,
            len: span.byte_len().unwrap_or(0) as usize,
            line: u32::try_from(location.line()).unwrap_or(u32::MAX),
            column: u32::try_from(location.column()).unwrap_or(u32::MAX),
        }
    }
}

/// What YAML made of a scalar.
///
/// Strings are borrowed from the source text whenever YAML took them as
/// written (plain and quoted scalars without escapes), and owned only when
/// the parser had to build them (escapes, folded and literal blocks).
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar<'a> {
    /// A string (quoted, or plain text that is not a number, boolean or null).
    Str(Cow<'a, str>),
    /// A plain scalar YAML reads as a number: `2`, `1.10`. The number's text is kept.
    Number(String),
    /// `true` / `false`.
    Bool(bool),
    /// `~`, `null` or nothing at all.
    Null,
}

/// One node of the document.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// A scalar.
    Scalar(Scalar<'a>),
    /// A sequence.
    Seq(Vec<Node<'a>>),
    /// A mapping, in document order, duplicates kept.
    Map(Vec<(Key<'a>, Node<'a>)>),
}

/// A node and its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node<'a> {
    /// The value.
    pub value: Value<'a>,
    /// Where it is.
    pub span: Span,
}

/// A mapping key and its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Key<'a> {
    /// The key as written (numbers keep their text).
    pub scalar: Scalar<'a>,
    /// Where it is.
    pub span: Span,
}

impl Key<'_> {
    /// The key's text, whatever YAML resolved it to.
    pub fn text(&self) -> String {
        scalar_text(&self.scalar)
    }

    /// The key's text, borrowed when YAML read it as a string or number.
    pub fn text_cow(&self) -> Cow<'_, str> {
        match &self.scalar {
            Scalar::Str(s) => Cow::Borrowed(s),
            Scalar::Number(s) => Cow::Borrowed(s),
            other => Cow::Owned(scalar_text(other)),
        }
    }

    /// Whether the key is the string `name`.
    pub fn is(&self, name: &str) -> bool {
        matches!(&self.scalar, Scalar::Str(s) if s == name)
    }

    /// The same key, owning its text.
    pub fn into_owned(self) -> Key<'static> {
        Key {
            scalar: self.scalar.into_owned(),
            span: self.span,
        }
    }
}

/// The text of a scalar as a person wrote it.
pub fn scalar_text(scalar: &Scalar) -> String {
    match scalar {
        Scalar::Str(s) => s.clone().into_owned(),
        Scalar::Number(s) => s.clone(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Null => "null".to_owned(),
    }
}

impl Scalar<'_> {
    /// The same scalar, owning its text.
    pub fn into_owned(self) -> Scalar<'static> {
        match self {
            Scalar::Str(s) => Scalar::Str(Cow::Owned(s.into_owned())),
            Scalar::Number(s) => Scalar::Number(s),
            Scalar::Bool(b) => Scalar::Bool(b),
            Scalar::Null => Scalar::Null,
        }
    }
}

impl Value<'_> {
    /// A word for the kind of node, for messages ("expected a mapping, found a list").
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Scalar(scalar) => scalar.kind(),
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The same value, owning all its text.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Scalar(scalar) => Value::Scalar(scalar.into_owned()),
            Value::Seq(items) => Value::Seq(items.into_iter().map(Node::into_owned).collect()),
            Value::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(key, node)| (key.into_owned(), node.into_owned()))
                    .collect(),
            ),
        }
    }
}

impl Scalar<'_> {
    /// A word for the kind of scalar, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Scalar::Str(_) => "a string",
            Scalar::Number(_) => "a number",
            Scalar::Bool(_) => "a boolean",
            Scalar::Null => "nothing (null)",
        }
    }
}

impl Node<'_> {
    /// The same node, owning all its text.
    pub fn into_owned(self) -> Node<'static> {
        Node {
            value: self.value.into_owned(),
            span: self.span,
        }
    }
}

/// The name under which serde-saphyr hands out a node together with its
/// position: the protocol behind `serde_saphyr::Spanned`. Asking for it
/// directly spares, on every node, the owned marker key and the second
/// location `Spanned` reads; only the `referenced` location is kept, as
/// `Spanned::referenced` was.
const SPANNED: &str = "__yaml_spanned";

/// Deserializes the next node with `seed`, together with where it is.
pub(crate) fn spanned<'de, D, S>(deserializer: D, seed: S) -> Result<(S::Value, Span), D::Error>
where
    D: Deserializer<'de>,
    S: DeserializeSeed<'de>,
{
    deserializer.deserialize_newtype_struct(SPANNED, SpannedVisitor(seed))
}

/// A seed that deserializes with `S` and adds the position (see [`spanned`]).
pub(crate) struct SpannedSeed<S>(pub(crate) S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for SpannedSeed<S> {
    type Value = (S::Value, Span);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        spanned(deserializer, self.0)
    }
}

struct SpannedVisitor<S>(S);

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for SpannedVisitor<S> {
    type Value = (S::Value, Span);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML node with its position")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(SpannedFields(self.0))
    }
}

/// The fields serde-saphyr synthesizes for a spanned node, in this order:
/// a marker, `value`, `referenced`, `defined`.
struct SpannedFields<S>(S);

#[derive(PartialEq)]
enum Field {
    Marker,
    Value,
    Referenced,
    Other,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field of a spanned node")
            }
            fn visit_str<E>(self, v: &str) -> Result<Field, E> {
                Ok(match v {
                    "__serde_saphyr_private_spanned" => Field::Marker,
                    "value" => Field::Value,
                    "referenced" => Field::Referenced,
                    _ => Field::Other,
                })
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for SpannedFields<S> {
    type Value = (S::Value, Span);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML node with its position")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let expect = |map: &mut A, field: Field| match map.next_key::<Field>()? {
            Some(found) if found == field => Ok(()),
            _ => Err(de::Error::custom(
                "the YAML parser did not give the position of a node",
            )),
        };
        expect(&mut map, Field::Marker)?;
        map.next_value::<de::IgnoredAny>()?;
        expect(&mut map, Field::Value)?;
        let value = map.next_value_seed(self.0)?;
        expect(&mut map, Field::Referenced)?;
        let location = map.next_value::<Location>()?;
        Ok((value, Span::from_location(&location)))
    }
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (value, span) = spanned(deserializer, PhantomData::<Value<'de>>)?;
        Ok(Node { value, span })
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (value, span) = spanned(deserializer, PhantomData::<Value<'de>>)?;
        match value {
            Value::Scalar(scalar) => Ok(Key { scalar, span }),
            other => Err(de::Error::custom(format!(
                "mapping keys must be plain text, found {}",
                other.kind()
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// Builds a [`Value`] from whatever the parser found.
pub(crate) struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value<'de>, E> {
        Ok(Value::Scalar(Scalar::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value<'de>, E> {
        Ok(Value::Scalar(Scalar::Number(v.to_string())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value<'de>, E> {
        Ok(Value::Scalar(Scalar::Number(v.to_string())))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value<'de>, E> {
        Ok(Value::Scalar(Scalar::Number(v.to_string())))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value<'de>, E> {
        Ok(Value::Scalar(Scalar::Number(v.to_string())))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value<'de>, E> {
        Ok(Value::Scalar(Scalar::Number(v.to_string())))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::Scalar(Scalar::Str(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value<'de>, E> {
        Ok(Value::Scalar(Scalar::Str(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E>(self, v: String) -> Result<Value<'de>, E> {
        Ok(Value::Scalar(Scalar::Str(Cow::Owned(v))))
    }
    fn visit_unit<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Scalar(Scalar::Null))
    }
    fn visit_none<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Scalar(Scalar::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value<'de>, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key::<Key>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}
