//! Reading while parsing: the root mapping is kept as a node tree, but the
//! `services` mapping is not. Each service is read into the model as soon
//! as its node is complete, and its node dropped, so that the whole file
//! never exists twice in memory (once as nodes, once as the model).
//!
//! What is reported stays the same as reading a whole tree: the first
//! `services` key is streamed, its duplicate services reported as
//! [`Reader::entries`] does; any other shape of `services` (null, a list, a
//! scalar) is kept as a node and read as before.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::Reader;
use crate::fast::HashMap;
use crate::yaml::{Key, Node, Scalar, Span, SpannedSeed, Value, ValueVisitor};

/// The root of the document, read with `reader`: its value (the `services`
/// entry left empty when its services were read on the way) and position.
pub(super) struct RootSeed<'r, 's> {
    pub(super) reader: &'r mut Reader<'s>,
}

impl<'de> DeserializeSeed<'de> for RootSeed<'_, 'de> {
    type Value = Node<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node<'de>, D::Error> {
        let (value, span) = SpannedSeed(RootValue(self.reader)).deserialize(deserializer)?;
        Ok(Node { value, span })
    }
}

struct RootValue<'r, 's>(&'r mut Reader<'s>);

impl<'de> DeserializeSeed<'de> for RootValue<'_, 'de> {
    type Value = Value<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value<'de>, D::Error> {
        deserializer.deserialize_any(Streaming {
            reader: self.0,
            part: Part::Root,
        })
    }
}

/// The value of the first `services` key: `None` when it was a mapping and
/// its services are read, the value otherwise.
struct ServicesValue<'r, 's>(&'r mut Reader<'s>);

impl<'de> DeserializeSeed<'de> for ServicesValue<'_, 'de> {
    type Value = Value<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value<'de>, D::Error> {
        deserializer.deserialize_any(Streaming {
            reader: self.0,
            part: Part::Services,
        })
    }
}

#[derive(Clone, Copy)]
enum Part {
    Root,
    Services,
}

/// Visits the root or the `services` value: mappings are read as they come,
/// anything else is built as a plain value.
struct Streaming<'r, 's> {
    reader: &'r mut Reader<'s>,
    part: Part,
}

impl<'de> Visitor<'de> for Streaming<'_, 'de> {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value<'de>, A::Error> {
        match self.part {
            Part::Root => root_map(self.reader, map),
            Part::Services => services_map(self.reader, map),
        }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value<'de>, E> {
        ValueVisitor.visit_bool(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value<'de>, E> {
        ValueVisitor.visit_i64(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value<'de>, E> {
        ValueVisitor.visit_u64(v)
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value<'de>, E> {
        ValueVisitor.visit_i128(v)
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value<'de>, E> {
        ValueVisitor.visit_u128(v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value<'de>, E> {
        ValueVisitor.visit_f64(v)
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Value<'de>, E> {
        ValueVisitor.visit_borrowed_str(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value<'de>, E> {
        ValueVisitor.visit_str(v)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value<'de>, E> {
        ValueVisitor.visit_string(v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value<'de>, E> {
        ValueVisitor.visit_unit()
    }
    fn visit_none<E: de::Error>(self) -> Result<Value<'de>, E> {
        ValueVisitor.visit_none()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value<'de>, D::Error> {
        ValueVisitor.visit_some(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value<'de>, A::Error> {
        ValueVisitor.visit_seq(seq)
    }
}

/// The root mapping: kept as entries, except the value of the first
/// `services` key, which is streamed (and left as an empty mapping).
fn root_map<'de, A: MapAccess<'de>>(
    reader: &mut Reader<'de>,
    mut map: A,
) -> Result<Value<'de>, A::Error> {
    let mut entries: Vec<(Key<'de>, Node<'de>)> = Vec::new();
    let mut seen_services = false;
    while let Some(key) = map.next_key::<Key>()? {
        let node = if key.is("services") && !seen_services {
            seen_services = true;
            let (value, span) = map.next_value_seed(SpannedSeed(ServicesValue(reader)))?;
            Node { value, span }
        } else {
            map.next_value::<Node>()?
        };
        entries.push((key, node));
    }
    Ok(Value::Map(entries))
}

/// The `services` mapping: each service read into `reader` as it comes,
/// duplicates reported as [`Reader::entries`] does.
fn services_map<'de, A: MapAccess<'de>>(
    reader: &mut Reader<'de>,
    mut map: A,
) -> Result<Value<'de>, A::Error> {
    let mut first_seen: HashMap<Cow<'de, str>, Span> =
        HashMap::with_capacity_and_hasher(map.size_hint().unwrap_or(0), Default::default());
    while let Some(key) = map.next_key::<Key>()? {
        let node = map.next_value::<Node>()?;
        let text = key_text(&key);
        if let Some(first) = first_seen.get(&text) {
            reader.duplicate(&key, *first, "`services`");
            continue;
        }
        first_seen.insert(text, key.span);
        if let Some(service) = reader.service(&key, &node) {
            reader.services.insert(service.name.clone(), service);
        }
    }
    Ok(Value::Map(Vec::new()))
}

/// The key's text as [`Key::text_cow`] gives it, kept beyond the key.
fn key_text<'de>(key: &Key<'de>) -> Cow<'de, str> {
    match &key.scalar {
        Scalar::Str(Cow::Borrowed(text)) => Cow::Borrowed(text),
        _ => Cow::Owned(key.text_cow().into_owned()),
    }
}
