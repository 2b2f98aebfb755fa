//! Rendering for people: diagnostics as rustc-style snippets (miette), and
//! the error line for usage and I/O failures.

use std::fmt;

use cutover_planner::{Diagnostic, Severity, SourceFile};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

/// Prints a usage or I/O error to stderr.
#[allow(clippy::print_stderr)]
pub fn print_error(error: &anyhow::Error) {
    eprintln!("error: {error:#}");
}

/// Prints a report to stderr, beside a result on stdout.
#[allow(clippy::print_stderr)]
pub fn print_to_stderr(text: &str) {
    eprint!("{text}");
}

/// Prints warnings (and any other diagnostics) to stderr, beside a result on stdout.
#[allow(clippy::print_stderr)]
pub fn print_diagnostics_to_stderr(source: &SourceFile, diagnostics: &[Diagnostic]) {
    if !diagnostics.is_empty() {
        eprint!("{}", render_diagnostics(source, diagnostics));
    }
}

/// Renders diagnostics of one file as snippets with the offending lines.
pub fn render_diagnostics(source: &SourceFile, diagnostics: &[Diagnostic]) -> String {
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .with_links(false);
    let named = NamedSource::new(source.path(), source.display_text().into_owned());
    let mut out = String::new();
    for diagnostic in diagnostics {
        if !fits_in_a_snippet(source, diagnostic) {
            let span = diagnostic.primary.span;
            out.push_str(&format!(
                "{}: {}\n  --> {}:{}:{}\n",
                diagnostic.code,
                diagnostic.message,
                source.path(),
                span.line.max(1),
                span.column.max(1)
            ));
            if let Some(hint) = &diagnostic.hint {
                out.push_str(&format!("  help: {hint}\n"));
            }
            out.push('\n');
            continue;
        }
        let report = Report {
            diagnostic,
            source: &named,
        };
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!("{}: {}\n", diagnostic.code, diagnostic.message));
        }
        out.push('\n');
    }
    out
}

/// Longest source line shown in a snippet; longer ones (minified or hostile
/// input) are reported by position only.
const MAX_SNIPPET_LINE: usize = 400;

fn fits_in_a_snippet(source: &SourceFile, diagnostic: &Diagnostic) -> bool {
    std::iter::once(&diagnostic.primary)
        .chain(&diagnostic.secondary)
        .all(|label| {
            let line = label.span.line.max(1) as usize - 1;
            source
                .text()
                .lines()
                .nth(line)
                .is_none_or(|text| text.len() <= MAX_SNIPPET_LINE)
        })
}

struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: &'a NamedSource<String>,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .hint
            .as_ref()
            .map(|hint| Box::new(hint) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let text_len = self.source.inner().len();
        let primary = &self.diagnostic.primary;
        let labels = std::iter::once(LabeledSpan::new_primary_with_span(
            Some(primary.message.clone()).filter(|m| !m.is_empty()),
            span(primary.span, text_len),
        ))
        .chain(self.diagnostic.secondary.iter().map(move |label| {
            LabeledSpan::new_with_span(Some(label.message.clone()), span(label.span, text_len))
        }));
        Some(Box::new(labels))
    }
}

fn span(span: cutover_planner::yaml::Span, text_len: usize) -> SourceSpan {
    let offset = span.offset.min(text_len);
    let len = span.len.max(1).min(text_len.saturating_sub(offset));
    SourceSpan::new(offset.into(), len)
}
