//! The structure of mappings: which keys each accepts, unknown, missing and
//! duplicate keys, and the names used as keys (services, releases, APIs).

use std::borrow::Cow;
use std::fmt;

use super::versions::quote_hint;
use super::{Fields, Reader};
use crate::diagnostic::{Code, Diagnostic};
use crate::fast::HashMap;
use crate::yaml::{Key, Node, Scalar, Span, Value};

/// The keys each mapping of the format accepts.
pub(crate) mod keys {
    pub(crate) const TOP: &[&str] = &["version", "services", "defaults"];
    pub(crate) const SERVICE: &[&str] = &["current", "target", "releases", "deploy"];
    pub(crate) const RELEASE: &[&str] = &["provides", "consumes", "image", "ami"];
    pub(crate) const DEPLOY: &[&str] = &[
        "health",
        "live_health",
        "require",
        "listener",
        "rule",
        "target_groups",
        "target_group",
        "test_listener",
        "ecs",
        "asg",
        "strategy",
        "steps",
        "bake",
        "alarms",
        "checks",
    ];
    pub(crate) const ECS: &[&str] = &["cluster", "services", "container"];
    pub(crate) const ASG: &[&str] = &["groups"];
    pub(crate) const DEFAULTS: &[&str] = &["health", "deploy"];
    pub(crate) const HEALTH_DEFAULTS: &[&str] = &["timeout", "retries", "require", "token_env"];
    pub(crate) const DEPLOY_DEFAULTS: &[&str] = &["strategy", "steps", "bake", "alarms", "checks"];
    pub(crate) const CHECK: &[&str] = &["name", "run", "timeout"];
}

impl Reader<'_> {
    /// A mapping with a fixed set of keys.
    pub(super) fn fields<'n>(
        &mut self,
        node: &'n Node<'n>,
        what: &(impl fmt::Display + ?Sized),
        allowed: &[&'static str],
    ) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            self.wrong_type(node, what, "a mapping");
            return None;
        };
        let mut fields = Fields {
            entries: Vec::with_capacity(entries.len()),
            span: node.span,
        };
        let mut first_seen = FirstSeen::with_capacity(entries.len());
        for (key, value) in entries {
            let text = key.text_cow();
            if let Some(first) = first_seen.get(&text) {
                self.duplicate(key, first, what);
                continue;
            }
            first_seen.insert(text, key.span);
            match allowed.iter().find(|name| key.is(name)) {
                Some(name) => fields.entries.push((name, (key, value))),
                None => self.unknown_key(key, what, allowed),
            }
        }
        Some(fields)
    }

    /// A mapping with user-chosen keys (services, releases, APIs), duplicates reported.
    pub(super) fn entries<'n>(
        &mut self,
        node: &'n Node<'n>,
        what: &(impl fmt::Display + ?Sized),
    ) -> Vec<(&'n Key<'n>, &'n Node<'n>)> {
        let entries = match &node.value {
            Value::Map(entries) => entries,
            Value::Scalar(Scalar::Null) => return Vec::new(),
            _ => {
                self.wrong_type(node, what, "a mapping");
                return Vec::new();
            }
        };
        let mut first_seen = FirstSeen::with_capacity(entries.len());
        let mut unique = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let text = key.text_cow();
            if let Some(first) = first_seen.get(&text) {
                self.duplicate(key, first, what);
                continue;
            }
            first_seen.insert(text, key.span);
            unique.push((key, value));
        }
        unique
    }

    pub(super) fn key_text(&mut self, key: &Key, what: &str, version_key: bool) -> Option<String> {
        match &key.scalar {
            Scalar::Str(text) => Some(text.clone().into_owned()),
            Scalar::Number(_) => {
                let raw = self.raw_span(key.span).unwrap_or_default();
                self.error(
                    Diagnostic::error(
                        Code::UnquotedNumber,
                        key.span,
                        format!("`{raw}` is read by YAML as a number, but {what} must be a string"),
                    )
                    .with_label("a number, not a string")
                    .with_hint(quote_hint(&raw, version_key)),
                );
                None
            }
            other => {
                let kind = Value::Scalar(other.clone()).kind();
                self.error(Diagnostic::error(
                    Code::WrongType,
                    key.span,
                    format!("expected {what}, found {kind}"),
                ));
                None
            }
        }
    }

    pub(super) fn api_name(&mut self, key: &Key) -> Option<String> {
        let name = self.key_text(key, "an API name", false)?;
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            self.error(
                Diagnostic::error(
                    Code::InvalidApiName,
                    key.span,
                    format!("`{name}` is not a valid API or service name"),
                )
                .with_hint(
                    "use letters, digits, `-`, `_` and `.`, starting with a letter or digit",
                ),
            );
            return None;
        }
        Some(name)
    }

    pub(super) fn missing(
        &mut self,
        fields: &Fields,
        name: &str,
        what: &(impl fmt::Display + ?Sized),
        hint: &str,
    ) {
        self.error(
            Diagnostic::error(
                Code::MissingField,
                fields.span,
                format!("{what} has no `{name}`"),
            )
            .with_label(format!("`{name}` is required here"))
            .with_hint(hint.to_owned()),
        );
    }

    pub(super) fn duplicate(
        &mut self,
        key: &Key,
        first: Span,
        what: &(impl fmt::Display + ?Sized),
    ) {
        let text = key.text();
        self.error(
            Diagnostic::error(
                Code::DuplicateKey,
                key.span,
                format!("`{text}` appears twice in {what}"),
            )
            .with_label("duplicate key")
            .with_secondary(first, "first defined here")
            .with_hint("remove one of them; YAML keys must be unique"),
        );
    }

    pub(super) fn unknown_key(
        &mut self,
        key: &Key,
        what: &(impl fmt::Display + ?Sized),
        allowed: &[&str],
    ) {
        let text = key.text();
        let hint = match closest(&text, allowed) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("expected one of {}", quoted_list(allowed)),
        };
        self.error(
            Diagnostic::error(
                Code::UnknownKey,
                key.span,
                format!("unknown key `{text}` in {what}"),
            )
            .with_label("unknown key")
            .with_hint(hint),
        );
    }
}

/// The keys of one mapping seen so far, each with where it is first written:
/// a list for the few keys of most mappings, hashed past a few dozen.
enum FirstSeen<'k> {
    Few(Vec<(Cow<'k, str>, Span)>),
    Many(HashMap<Cow<'k, str>, Span>),
}

impl<'k> FirstSeen<'k> {
    /// Up to this many keys, a linear search is faster than hashing.
    const FEW: usize = 16;

    fn with_capacity(keys: usize) -> Self {
        if keys <= Self::FEW {
            FirstSeen::Few(Vec::with_capacity(keys))
        } else {
            FirstSeen::Many(HashMap::with_capacity_and_hasher(keys, Default::default()))
        }
    }

    fn get(&self, text: &str) -> Option<Span> {
        match self {
            FirstSeen::Few(seen) => seen.iter().find(|(t, _)| t == text).map(|(_, s)| *s),
            FirstSeen::Many(seen) => seen.get(text).copied(),
        }
    }

    fn insert(&mut self, text: Cow<'k, str>, span: Span) {
        match self {
            FirstSeen::Few(seen) => seen.push((text, span)),
            FirstSeen::Many(seen) => {
                seen.insert(text, span);
            }
        }
    }
}

pub(super) fn is_service_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

pub(super) fn suggest_service_name(name: &str) -> String {
    let lower: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = lower.trim_matches('-');
    if trimmed.is_empty() {
        "my-service".to_owned()
    } else {
        trimmed.to_owned()
    }
}

pub(super) fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn closest<'a>(text: &str, allowed: &[&'a str]) -> Option<&'a str> {
    crate::suggest::closest(text, allowed.iter().copied(), crate::suggest::NAME_EDITS)
}
