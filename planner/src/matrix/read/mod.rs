//! Turns the YAML node tree into the matrix model, reporting every structural
//! problem (unknown keys, wrong types, invalid versions, ...) instead of
//! stopping at the first.

//!
//! One file per concept: `mapping` (the keys of each mapping, and names used as
//! keys), `scalars` (strings, counts), `versions` (versions and
//! requirements), `deploy` (`deploy` and `defaults`), `gates` (`alarms` and
//! `checks`), `stream` (services read while the document is parsed); this
//! file reads the services and their releases.

mod deploy;
mod gates;
mod mapping;
mod scalars;
mod stream;
mod versions;

use std::collections::BTreeMap;
use std::fmt;

use semver::Version;

use super::{
    Consumed, Limits, Matrix, Provided, Release, Service, SortedMap, Unread, non_empty, parse,
};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::SourceFile;
use crate::yaml::{Key, Node, Scalar, Span, Value};

pub(crate) use mapping::keys;
use mapping::{is_service_name, suggest_service_name};
use versions::invalid_version;

/// Describes the value being read, for messages; only called when there is a problem.
type What<'a> = &'a dyn Fn() -> String;

/// Reads the whole document. Services whose required fields could not be
/// read are left out of the model (their problems are reported). An error
/// when the document is not YAML, breaks a budget or is empty.
pub(crate) fn read_matrix(
    source: &SourceFile,
    limits: &Limits,
) -> Result<(Option<Matrix>, Vec<Diagnostic>), Box<Diagnostic>> {
    let mut reader = Reader {
        source,
        diagnostics: Vec::new(),
        unread: Unread::default(),
        services: BTreeMap::new(),
    };
    let root = non_empty(parse(
        source,
        limits,
        stream::RootSeed {
            reader: &mut reader,
        },
    )?)?;
    let matrix = reader.matrix(&root);
    Ok((matrix, reader.diagnostics))
}

struct Reader<'s> {
    source: &'s SourceFile,
    diagnostics: Vec<Diagnostic>,
    /// What could not be read, so that checks leave its consequences unsaid.
    unread: Unread,
    /// The services read so far (while parsing, see `stream`).
    services: BTreeMap<String, Service>,
}

/// The known keys of one mapping, first occurrence of each (a handful at
/// most, so a list).
struct Fields<'n> {
    entries: Vec<(&'static str, (&'n Key<'n>, &'n Node<'n>))>,
    span: Span,
}

impl<'n> Fields<'n> {
    fn get(&self, name: &str) -> Option<&'n Node<'n>> {
        self.entries
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, (_, node))| *node)
    }
}

/// A description written only when a message needs it.
struct Described<F>(F);

impl<F: Fn(&mut fmt::Formatter<'_>) -> fmt::Result> fmt::Display for Described<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.0)(f)
    }
}

/// Describes with `write`, lazily.
fn described<F: Fn(&mut fmt::Formatter<'_>) -> fmt::Result>(write: F) -> Described<F> {
    Described(write)
}

impl Reader<'_> {
    pub(super) fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub(super) fn matrix(&mut self, root: &Node) -> Option<Matrix> {
        let fields = self.fields(root, "the matrix", keys::TOP)?;
        match fields.get("version") {
            None => self.missing(
                &fields,
                "version",
                "the matrix",
                "add `version: 1` at the top",
            ),
            Some(node) => self.format_version(node),
        }
        let defaults = fields
            .get("defaults")
            .map(|node| self.defaults(node))
            .unwrap_or_default();
        match fields.get("services") {
            None => self.missing(
                &fields,
                "services",
                "the matrix",
                "add a `services:` mapping",
            ),
            Some(node) => {
                for (key, node) in self.entries(node, "`services`") {
                    if let Some(service) = self.service(key, node) {
                        self.services.insert(service.name.clone(), service);
                    }
                }
            }
        }
        Some(Matrix {
            source: self.source.clone(),
            services: std::mem::take(&mut self.services),
            defaults,
            unread: std::mem::take(&mut self.unread),
        })
    }

    pub(super) fn format_version(&mut self, node: &Node) {
        match &node.value {
            Value::Scalar(Scalar::Number(text)) if text == "1" => {}
            Value::Scalar(Scalar::Number(_)) | Value::Scalar(Scalar::Str(_)) => {
                let found = self.raw(node);
                self.error(
                    Diagnostic::error(
                        Code::UnsupportedVersion,
                        node.span,
                        format!("matrix format version `{found}` is not supported; expected `1`"),
                    )
                    .with_label("unsupported version")
                    .with_hint("write `version: 1`"),
                );
            }
            other => {
                let kind = other.kind();
                self.error(
                    Diagnostic::error(
                        Code::WrongType,
                        node.span,
                        format!("`version` must be the number 1, found {kind}"),
                    )
                    .with_hint("write `version: 1`"),
                );
            }
        }
    }

    pub(super) fn service(&mut self, key: &Key, node: &Node) -> Option<Service> {
        let name = self.key_text(key, "a service name", false)?;
        if !is_service_name(&name) {
            self.error(
                Diagnostic::error(
                    Code::InvalidServiceName,
                    key.span,
                    format!(
                        "service name `{name}` may only contain lowercase letters, digits and `-`"
                    ),
                )
                .with_label("invalid service name")
                .with_hint(format!("rename it to `{}`", suggest_service_name(&name))),
            );
        }
        let what = described(|f| write!(f, "service `{name}`"));
        let Some(fields) = self.fields(node, &what, keys::SERVICE) else {
            self.unread.names.insert(name);
            return None;
        };
        let mut releases = SortedMap::new();
        match fields.get("releases") {
            None => self.missing(
                &fields,
                "releases",
                &what,
                "list the releases under `releases:`",
            ),
            Some(node) => {
                let entries = self.entries(node, &described(|f| write!(f, "`releases` of {what}")));
                releases = SortedMap::with_capacity(entries.len());
                for (key, node) in entries {
                    if let Some(release) = self.release(&name, key, node) {
                        releases.insert(release.version.clone(), release);
                    }
                }
            }
        }
        let current = match fields.get("current") {
            None => {
                self.missing(
                    &fields,
                    "current",
                    &what,
                    "add `current:` with the release serving now",
                );
                None
            }
            Some(node) => self.version(node, &|| format!("`current` of {what}")),
        };
        let target = fields
            .get("target")
            .filter(|node| !matches!(node.value, Value::Scalar(Scalar::Null)))
            .and_then(|node| {
                let target = self.version(node, &|| format!("`target` of {what}"));
                if target.is_none() {
                    self.unread.services.insert(name.clone());
                }
                target
            });
        let before = self.diagnostics.len();
        let deploy = fields
            .get("deploy")
            .map(|node| self.deploy(node, &what.to_string()))
            .unwrap_or_default();
        if self.diagnostics.len() > before {
            self.unread.deploys.insert(name.clone());
        }
        let Some(current) = current else {
            // Left out of the model: whatever it provides may exist.
            let apis = releases.values().flat_map(|r: &Release| r.provides.keys());
            self.unread.names.extend(apis.cloned());
            self.unread.names.insert(name);
            return None;
        };
        Some(Service {
            name,
            span: key.span,
            current,
            target,
            releases,
            deploy,
        })
    }

    pub(super) fn release(&mut self, service: &str, key: &Key, node: &Node) -> Option<Release> {
        let release = self.release_fields(service, key, node);
        if release.is_none() {
            self.unread.services.insert(service.to_owned());
            self.unread.names.extend(provided_names(node));
        }
        release
    }

    /// A release, `None` when its version or its mapping cannot be read.
    fn release_fields(&mut self, service: &str, key: &Key, node: &Node) -> Option<Release> {
        let text = self.key_text(key, "a release version", true)?;
        let version = match Version::parse(&text) {
            Ok(version) => version,
            Err(error) => {
                let diagnostic =
                    invalid_version(key.span, &text, &format!("release of `{service}`"), &error);
                self.error(diagnostic);
                return None;
            }
        };
        let what = described(|f| write!(f, "`{service}` {version}"));
        if matches!(node.value, Value::Scalar(Scalar::Null)) {
            return Some(Release {
                version,
                span: key.span,
                image: None,
                ami: None,
                provides: SortedMap::new(),
                consumes: SortedMap::new(),
            });
        }
        let fields = self.fields(
            node,
            &described(|f| write!(f, "release {what}")),
            keys::RELEASE,
        )?;
        let image = fields
            .get("image")
            .and_then(|n| self.string(n, &format!("`image` of {what}")));
        let ami = fields
            .get("ami")
            .and_then(|n| self.string(n, &format!("`ami` of {what}")));
        let mut provides = SortedMap::new();
        if let Some(node) = fields.get("provides") {
            let entries = self.entries(node, &described(|f| write!(f, "`provides` of {what}")));
            provides = SortedMap::with_capacity(entries.len());
            for (key, node) in entries {
                let Some(api) = self.api_name(key) else {
                    self.unread.services.insert(service.to_owned());
                    continue;
                };
                match self.versions(node, &|| format!("`{api}` provided by {what}")) {
                    Some(versions) => {
                        provides.insert(
                            api,
                            Provided {
                                versions,
                                span: node.span,
                            },
                        );
                    }
                    None => {
                        self.unread.services.insert(service.to_owned());
                        self.unread.names.insert(api);
                    }
                }
            }
        }
        let mut consumes = SortedMap::new();
        if let Some(node) = fields.get("consumes") {
            let entries = self.entries(node, &described(|f| write!(f, "`consumes` of {what}")));
            consumes = SortedMap::with_capacity(entries.len());
            for (key, node) in entries {
                let Some(name) = self.api_name(key) else {
                    continue;
                };
                if let Some(alternatives) =
                    self.requirements(node, &|| format!("`{name}` consumed by {what}"))
                {
                    consumes.insert(
                        name,
                        Consumed {
                            alternatives,
                            span: node.span,
                        },
                    );
                }
            }
        }
        Some(Release {
            version,
            span: key.span,
            image,
            ami,
            provides,
            consumes,
        })
    }
}

/// The API names under `provides` of a release that could not be read,
/// without judging anything.
fn provided_names(node: &Node) -> Vec<String> {
    let Value::Map(fields) = &node.value else {
        return Vec::new();
    };
    fields
        .iter()
        .filter(|(key, _)| key.is("provides"))
        .flat_map(|(_, provides)| match &provides.value {
            Value::Map(apis) => apis.iter().map(|(api, _)| api.text()).collect(),
            _ => Vec::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::mapping::closest;
    use super::versions::quote_hint;
    use super::*;
    use crate::diagnostic::sort_diagnostics;

    /// Reads `text` as a whole tree first, then reads it again while
    /// parsing, and checks that both give the same matrix and diagnostics.
    fn assert_streaming_reads_as_the_tree(text: &str) {
        let limits = Limits::default();
        let (source, document) = crate::matrix::load("m.yaml", text.as_bytes(), &limits);
        let whole = document.map(|root| {
            let mut reader = Reader {
                source: &source,
                diagnostics: Vec::new(),
                unread: Unread::default(),
                services: BTreeMap::new(),
            };
            let matrix = reader.matrix(&root);
            let mut diagnostics = reader.diagnostics;
            sort_diagnostics(&mut diagnostics);
            (matrix, diagnostics)
        });
        let streamed = read_matrix(&source, &limits).map(|(matrix, mut diagnostics)| {
            sort_diagnostics(&mut diagnostics);
            (matrix, diagnostics)
        });
        assert_eq!(format!("{whole:#?}"), format!("{streamed:#?}"), "{text}");
    }

    #[test]
    fn streaming_reads_as_the_whole_tree_does() {
        let service = "{current: 1.0.0, releases: {1.0.0: {provides: {api: 1.0.0}}}}";
        let cases = [
            "- a\n- b\n".to_owned(),
            "just text\n".to_owned(),
            "~\n".to_owned(),
            "{}\n".to_owned(),
            "services: []\nversion: 1\n".to_owned(),
            "services:\nversion: 1\n".to_owned(),
            "version: 1\nservices: 3\n".to_owned(),
            format!("version: 1\nservices:\n  a: {service}\n  a: {{current: 2}}\n"),
            format!("version: 1\nservices: {{a: {service}}}\nservices: {{b: 1}}\n"),
            format!("services: {{a: {service}}}\nversion: 2\nextra: 1\n"),
            "version: 1\nservices:\n  1: {}\n  true: {}\n  ~: {}\n  \"1\": {}\n".to_owned(),
            format!(
                "x: &s {service}\nversion: 1\nservices:\n  a: *s\n  b: *s\n  Bad_Name: {{current: 1.0, releases: {{1.0: {{}}}}}}\n"
            ),
            "version: 1\nservices:\n  a:\n    current: 1.0.0\n    target: x\n    releases:\n      1.0.0: {provides: {api: [1.0.0, 2]}}\n"
                .to_owned(),
            "version: 1\nservices:\n  a: {current: 1.0.0, releases: {1.0.0: {}}}\n  b: [\n".to_owned(),
        ];
        for case in &cases {
            assert_streaming_reads_as_the_tree(case);
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../matrices");
        let mut dirs = vec![root];
        let mut files = 0;
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("matrices/ is readable") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml")
                    // Budget breaches: the parser's own error on both paths,
                    // and slow to reach in a debug build.
                    && !path.ends_with("alias-bomb.yaml")
                    && !path.ends_with("deep-nesting.yaml")
                {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    assert_streaming_reads_as_the_tree(&text);
                    files += 1;
                }
            }
        }
        assert!(files > 10, "{files}");
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("relases", keys::SERVICE), Some("releases"));
        assert_eq!(closest("zzz", keys::SERVICE), None);
        assert_eq!(suggest_service_name("Payments_API"), "payments-api");
        assert_eq!(
            quote_hint("1.10", true),
            "quote it and give all three parts: `\"1.10.0\"`"
        );
        assert_eq!(quote_hint("2", false), "quote it: `\"2\"`");
    }
}
