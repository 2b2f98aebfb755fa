//! Scalars and lists of scalars: strings, counts, and the text of a node as
//! written, for messages.

use super::Reader;
use super::versions::quote_hint;
use crate::diagnostic::{Code, Diagnostic};
use crate::matrix::Located;
use crate::yaml::{Node, Scalar, Span, Value};

impl Reader<'_> {
    pub(super) fn string(&mut self, node: &Node, what: &str) -> Option<Located<String>> {
        match &node.value {
            Value::Scalar(Scalar::Str(text)) => {
                Some(Located::new(text.clone().into_owned(), node.span))
            }
            Value::Scalar(Scalar::Number(_)) => {
                let raw = self.raw(node);
                self.error(
                    Diagnostic::error(
                        Code::UnquotedNumber,
                        node.span,
                        format!("`{raw}` is read by YAML as a number, but {what} must be a string"),
                    )
                    .with_label("a number, not a string")
                    .with_hint(quote_hint(&raw, false)),
                );
                None
            }
            _ => {
                self.wrong_type(node, what, "a string");
                None
            }
        }
    }

    pub(super) fn string_list(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
        let strings = self.located_strings(node, what)?;
        Some(strings.into_iter().map(|l| l.value).collect())
    }

    /// A list of strings, each with its position.
    pub(super) fn located_strings(
        &mut self,
        node: &Node,
        what: &str,
    ) -> Option<Vec<Located<String>>> {
        let Value::Seq(items) = &node.value else {
            self.wrong_type(node, what, "a list of strings");
            return None;
        };
        let strings: Vec<_> = items
            .iter()
            .filter_map(|item| self.string(item, what))
            .collect();
        (strings.len() == items.len()).then_some(strings)
    }

    /// Two entries (that they differ is checked with the rest of `deploy`,
    /// in `deploy_checks`).
    pub(super) fn exactly_two(
        &mut self,
        node: &Node,
        len: usize,
        field: &str,
        expected: &str,
    ) -> Option<()> {
        if len == 2 {
            return Some(());
        }
        self.error(
            Diagnostic::error(
                Code::InvalidValue,
                node.span,
                format!("{field} must name {expected}, found {len} entries"),
            )
            .with_hint("list exactly two different entries"),
        );
        None
    }

    pub(super) fn count(&mut self, node: &Node, what: &str, min: u32, max: u32) -> Option<u32> {
        let number = match &node.value {
            Value::Scalar(Scalar::Number(text)) => text.parse::<u32>().ok(),
            _ => None,
        };
        match number {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                let raw = self.raw(node);
                self.error(
                    Diagnostic::error(
                        Code::InvalidValue,
                        node.span,
                        format!("{what} must be a whole number from {min} to {max}, found `{raw}`"),
                    )
                    .with_label("out of range"),
                );
                None
            }
        }
    }

    pub(super) fn raw(&self, node: &Node) -> String {
        match &node.value {
            Value::Scalar(scalar) => self
                .raw_span(node.span)
                .unwrap_or_else(|| crate::yaml::scalar_text(scalar)),
            other => other.kind().to_owned(),
        }
    }

    /// The text exactly as written at `span`.
    pub(super) fn raw_span(&self, span: Span) -> Option<String> {
        self.source
            .slice(span.offset, span.len)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    pub(super) fn wrong_type(
        &mut self,
        node: &Node,
        what: &(impl std::fmt::Display + ?Sized),
        expected: &str,
    ) {
        let found = node.value.kind();
        self.error(
            Diagnostic::error(
                Code::WrongType,
                node.span,
                format!("{what} must be {expected}, found {found}"),
            )
            .with_label(format!("expected {expected}")),
        );
    }
}
