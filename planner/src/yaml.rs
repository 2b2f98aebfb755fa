//! A YAML document read into a tree of nodes that each remember where they
//! came from, so that every later check can point at the exact line and column.
//!
//! Parsing is done by serde-saphyr (pure Rust, panic-free, with input budgets);
//! this module only decides *what* to keep: scalars with their raw text and
//! whether YAML resolved them to a number, sequences, and mappings whose
//! duplicate keys are kept (so they can be reported instead of silently lost).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

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
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    /// A string (quoted, or plain text that is not a number, boolean or null).
    Str(String),
    /// A plain scalar YAML reads as a number: `2`, `1.10`. The raw text is kept.
    Number(String),
    /// `true` / `false`.
    Bool(bool),
    /// `~`, `null` or nothing at all.
    Null,
}

/// One node of the document.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order, duplicates kept.
    Map(Vec<(Key, Node)>),
}

/// A node and its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it is.
    pub span: Span,
}

/// A mapping key and its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The key as written (numbers keep their raw text).
    pub scalar: Scalar,
    /// Where it is.
    pub span: Span,
}

impl Key {
    /// The key's text, whatever YAML resolved it to.
    pub fn text(&self) -> String {
        scalar_text(&self.scalar)
    }

    /// The key's text, borrowed when YAML read it as a string.
    pub fn text_cow(&self) -> std::borrow::Cow<'_, str> {
        match &self.scalar {
            Scalar::Str(s) | Scalar::Number(s) => std::borrow::Cow::Borrowed(s),
            other => std::borrow::Cow::Owned(scalar_text(other)),
        }
    }

    /// Whether the key is the string `name`.
    pub fn is(&self, name: &str) -> bool {
        matches!(&self.scalar, Scalar::Str(s) if s == name)
    }
}

/// The text of a scalar as a person wrote it.
pub fn scalar_text(scalar: &Scalar) -> String {
    match scalar {
        Scalar::Str(s) | Scalar::Number(s) => s.clone(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Null => "null".to_owned(),
    }
}

impl Value {
    /// A word for the kind of node, for messages ("expected a mapping, found a list").
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Scalar(Scalar::Str(_)) => "a string",
            Value::Scalar(Scalar::Number(_)) => "a number",
            Value::Scalar(Scalar::Bool(_)) => "a boolean",
            Value::Scalar(Scalar::Null) => "nothing (null)",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        Ok(Node {
            span: Span::from_location(&spanned.referenced),
            value: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        let span = Span::from_location(&spanned.referenced);
        match spanned.value {
            Value::Scalar(scalar) => Ok(Key { scalar, span }),
            other => Err(de::Error::custom(format!(
                "mapping keys must be plain text, found {}",
                other.kind()
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Scalar(Scalar::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Scalar(Scalar::Number(v.to_string())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Scalar(Scalar::Number(v.to_string())))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Scalar(Scalar::Number(v.to_string())))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(Value::Scalar(Scalar::Number(v.to_string())))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Scalar(Scalar::Number(v.to_string())))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Scalar(Scalar::Str(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Scalar(Scalar::Str(v)))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Scalar(Scalar::Null))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Scalar(Scalar::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key::<Key>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}
