//! From raw bytes to a YAML node tree, within input budgets.

use serde::de::DeserializeSeed;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{DuplicateKeyPolicy, Error as YamlError};

use crate::diagnostic::{Code, Diagnostic};
use crate::source::SourceFile;
use crate::yaml::{Node, Scalar, Span, Value};

/// Input budgets. The defaults keep hostile files (alias bombs, deep nesting,
/// huge files) to a clear error within well under a second, while leaving
/// room for matrices of tens of thousands of services.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted nesting of lists and mappings.
    pub max_depth: usize,
    /// Most YAML nodes (scalars, lists, mappings), aliases expanded.
    pub max_nodes: usize,
    /// Most aliases (`*name`).
    pub max_aliases: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 32 * 1024 * 1024,
            max_depth: 32,
            max_nodes: 4_000_000,
            max_aliases: 10_000,
        }
    }
}

impl Limits {
    /// Budgets with room for synthetic matrices of `services` services
    /// (used by benchmarks).
    pub fn for_services(services: usize) -> Self {
        Limits {
            max_bytes: usize::MAX,
            max_nodes: services.saturating_mul(200).max(4_000_000),
            ..Limits::default()
        }
    }
}

/// Reads `bytes` (the contents of `path`) into a YAML node tree.
///
/// Always returns the source file, so that a failure can be shown in context;
/// the tree is missing when the document could not be read at all. The tree
/// owns its text; [`validate_bytes`](crate::validate_bytes) reads the
/// document without building it whole.
pub fn load(
    path: &str,
    bytes: &[u8],
    limits: &Limits,
) -> (SourceFile, Result<Node<'static>, Diagnostic>) {
    let source = match source_file(path, bytes, limits) {
        Ok(source) => source,
        Err(unreadable) => {
            let (source, diagnostic) = *unreadable;
            return (source, Err(diagnostic));
        }
    };
    let document = parse(&source, limits, std::marker::PhantomData::<Node>)
        .and_then(|node| non_empty(node).map(Node::into_owned))
        .map_err(|diagnostic| *diagnostic);
    (source, document)
}

/// The source file of `bytes`, when they are within the size limit and UTF-8;
/// otherwise the diagnostic, with a source file to show it in.
pub(crate) fn source_file(
    path: &str,
    bytes: &[u8],
    limits: &Limits,
) -> Result<SourceFile, Box<(SourceFile, Diagnostic)>> {
    if bytes.len() > limits.max_bytes {
        let source = SourceFile::new(path, "");
        let diagnostic = Diagnostic::error(
            Code::InputTooLarge,
            Span::point(0, 1, 1),
            format!(
                "the file is {} bytes, more than the limit of {} bytes",
                bytes.len(),
                limits.max_bytes
            ),
        )
        .with_hint("split the matrix, or check that this is the right file");
        return Err(Box::new((source, diagnostic)));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(path, text)),
        Err(error) => {
            let source = SourceFile::new(path, String::from_utf8_lossy(bytes));
            let offset = error.valid_up_to();
            let (line, column) = source.line_column(offset);
            let diagnostic = Diagnostic::error(
                Code::InvalidUtf8,
                Span {
                    offset,
                    len: 1,
                    line,
                    column,
                },
                format!(
                    "the file is not valid UTF-8: invalid byte at byte offset {}",
                    error.valid_up_to()
                ),
            )
            .with_label("not UTF-8")
            .with_hint("save the matrix as UTF-8");
            Err(Box::new((source, diagnostic)))
        }
    }
}

/// Parses the text of `source` with `seed`, within the budgets of `limits`;
/// a YAML error or a breached budget becomes a diagnostic.
pub(crate) fn parse<'s, S>(
    source: &'s SourceFile,
    limits: &Limits,
    seed: S,
) -> Result<S::Value, Box<Diagnostic>>
where
    S: DeserializeSeed<'s>,
{
    let options = serde_saphyr::options! {
        duplicate_keys: DuplicateKeyPolicy::PassThrough,
        strict_booleans: true,
        budget: serde_saphyr::budget! {
            max_depth: limits.max_depth,
            max_nodes: limits.max_nodes,
            max_events: limits.max_nodes.saturating_mul(3),
            max_aliases: limits.max_aliases,
            max_anchors: limits.max_aliases,
            max_reader_input_bytes: Some(limits.max_bytes),
        },
    };
    serde_saphyr::with_deserializer_from_str_with_options(source.text(), options, |de| {
        seed.deserialize(de)
    })
    .map_err(|error| Box::new(yaml_error(source, &error)))
}

/// The document, unless it is empty (the root is null).
pub(crate) fn non_empty(node: Node<'_>) -> Result<Node<'_>, Box<Diagnostic>> {
    if is_empty(&node) {
        return Err(Box::new(empty_matrix()));
    }
    Ok(node)
}

/// The diagnostic for a document with nothing in it.
pub(crate) fn empty_matrix() -> Diagnostic {
    Diagnostic::error(
        Code::EmptyMatrix,
        Span::point(0, 1, 1),
        "the matrix is empty",
    )
    .with_hint("start with `version: 1` and a `services:` mapping")
}

fn is_empty(node: &Node) -> bool {
    matches!(node.value, Value::Scalar(Scalar::Null))
}

fn yaml_error(source: &SourceFile, error: &YamlError) -> Diagnostic {
    let (line, column) = error
        .location()
        .map_or((1, 1), |l| (l.line() as u32, l.column() as u32));
    let offset = source.offset_of(line, column);
    let span = Span {
        offset,
        len: 1,
        line,
        column,
    };
    match budget_breach(error) {
        Some(what) => Diagnostic::error(
            Code::InputTooComplex,
            span,
            format!("the document is too complex: {what}"),
        )
        .with_label("limit reached here"),
        None => {
            let message = bare_message(error);
            Diagnostic::error(
                Code::YamlSyntax,
                span,
                format!("the matrix is not valid YAML: {message}"),
            )
            .with_label(message)
        }
    }
}

/// A readable sentence for a budget breach, when the error is one.
fn budget_breach(error: &YamlError) -> Option<String> {
    let mut current = error;
    loop {
        match current {
            YamlError::Budget { breach, .. } => return Some(describe_breach(breach)),
            YamlError::WithSnippet { error, .. } => current = error,
            YamlError::AliasError { error, .. } => current = error,
            _ => break,
        }
    }
    let text = error.without_snippet().to_string();
    text.contains("recursion limit exceeded")
        .then(|| "it is nested too deeply".to_owned())
}

fn describe_breach(breach: &BudgetBreach) -> String {
    match breach {
        BudgetBreach::Depth { depth } => {
            format!(
                "it is nested more than {} levels deep",
                depth.saturating_sub(1)
            )
        }
        BudgetBreach::Nodes { nodes } => {
            format!(
                "it has more than {} nodes once aliases are expanded",
                nodes.saturating_sub(1)
            )
        }
        BudgetBreach::Aliases { aliases } => {
            format!("it uses more than {} aliases", aliases.saturating_sub(1))
        }
        BudgetBreach::Anchors { anchors } => {
            format!("it defines more than {} anchors", anchors.saturating_sub(1))
        }
        BudgetBreach::RecordedAnchorEvents { .. } | BudgetBreach::RecordedAnchorBytes { .. } => {
            "its aliases expand to too much data (an alias bomb?)".to_owned()
        }
        other => format!("it exceeds an input budget ({other:?})"),
    }
}

/// The parser's message without the `error: line X column Y:` prefix and snippet.
fn bare_message(error: &YamlError) -> String {
    let text = error.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match first
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((_, message)) => message.to_owned(),
        None => first.to_owned(),
    }
}
