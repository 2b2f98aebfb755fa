//! Versions and requirements: single or listed, and the hints for the
//! usual mistakes (two parts instead of three, numbers YAML read unquoted).

use semver::{Version, VersionReq};

use super::{Reader, What};
use crate::diagnostic::{Code, Diagnostic};
use crate::matrix::Located;
use crate::yaml::{Node, Scalar, Span, Value};

impl Reader<'_> {
    pub(super) fn version(&mut self, node: &Node, what: What) -> Option<Located<Version>> {
        let text = self.version_text(node, what, true)?;
        match Version::parse(text) {
            Ok(version) => Some(Located::new(version, node.span)),
            Err(error) => {
                let diagnostic = invalid_version(node.span, text, &what(), &error);
                self.error(diagnostic);
                None
            }
        }
    }

    /// A version, or a list of versions served at once.
    pub(super) fn versions(&mut self, node: &Node, what: What) -> Option<Vec<Version>> {
        match &node.value {
            Value::Seq(items) if !items.is_empty() => {
                let versions: Vec<_> = items
                    .iter()
                    .filter_map(|item| self.version(item, what))
                    .collect();
                (versions.len() == items.len())
                    .then(|| versions.into_iter().map(|l| l.value).collect())
            }
            Value::Seq(_) => {
                self.wrong_type(node, &what(), "a version or a non-empty list of versions");
                None
            }
            _ => self.version(node, what).map(|l| vec![l.value]),
        }
    }

    pub(super) fn requirement(&mut self, node: &Node, what: What) -> Option<VersionReq> {
        let text = self.version_text(node, what, false)?;
        match VersionReq::parse(text) {
            Ok(req) => Some(req),
            Err(error) => {
                self.error(
                    Diagnostic::error(
                        Code::InvalidRequirement,
                        node.span,
                        format!(
                            "`{text}` ({}) is not a valid semver requirement: {error}",
                            what()
                        ),
                    )
                    .with_label("invalid requirement")
                    .with_hint("use the semver crate's syntax, e.g. `^2`, `~1.4`, `>=2.0.0, <3`"),
                );
                None
            }
        }
    }

    /// A requirement, or a list of alternatives.
    pub(super) fn requirements(&mut self, node: &Node, what: What) -> Option<Vec<VersionReq>> {
        match &node.value {
            Value::Seq(items) if !items.is_empty() => {
                let reqs: Vec<_> = items
                    .iter()
                    .filter_map(|item| self.requirement(item, what))
                    .collect();
                (reqs.len() == items.len()).then_some(reqs)
            }
            Value::Seq(_) => {
                self.wrong_type(
                    node,
                    &what(),
                    "a requirement or a non-empty list of alternatives",
                );
                None
            }
            _ => self.requirement(node, what).map(|req| vec![req]),
        }
    }

    /// The text of a scalar that must be a version or requirement string.
    pub(super) fn version_text<'n>(
        &mut self,
        node: &'n Node<'n>,
        what: What,
        full_version: bool,
    ) -> Option<&'n str> {
        match &node.value {
            Value::Scalar(Scalar::Str(text)) => Some(text),
            Value::Scalar(Scalar::Number(_)) => {
                let raw = self.raw(node);
                let what = what();
                self.error(
                    Diagnostic::error(
                        Code::UnquotedNumber,
                        node.span,
                        format!(
                            "`{raw}` ({what}) is read by YAML as a number, not a version string"
                        ),
                    )
                    .with_label("a number, not a string")
                    .with_hint(quote_hint(&raw, full_version)),
                );
                None
            }
            _ => {
                self.wrong_type(node, &what(), "a version string");
                None
            }
        }
    }
}

pub(super) fn invalid_version(
    span: Span,
    text: &str,
    what: &str,
    error: &semver::Error,
) -> Diagnostic {
    let parts = text.split('.').count();
    let hint = if parts < 3 && text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        let padded = format!("{text}{}", ".0".repeat(3 - parts));
        format!("semantic versions have three parts: `{padded}`")
    } else {
        "write MAJOR.MINOR.PATCH, e.g. `2.0.0` or `2.0.0-rc.1`".to_owned()
    };
    Diagnostic::error(
        Code::InvalidVersion,
        span,
        format!("`{text}` ({what}) is not a valid semantic version: {error}"),
    )
    .with_label("invalid version")
    .with_hint(hint)
}

pub(super) fn quote_hint(raw: &str, full_version: bool) -> String {
    let parts = raw.split('.').count();
    if full_version && parts < 3 {
        let padded = format!("{raw}{}", ".0".repeat(3 - parts));
        format!("quote it and give all three parts: `\"{padded}\"`")
    } else {
        format!("quote it: `\"{raw}\"`")
    }
}
