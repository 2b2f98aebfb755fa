//! `cutover validate MATRIX...`

use cutover_planner::{DiagnosticRecord, Limits, Severity, Validated, validate_bytes};
use serde::Serialize;

use super::{Outcome, read_matrix, write_stdout};
use crate::cli::{ValidateArgs, ValidateFormat};
use crate::output::render_diagnostics;

#[derive(Serialize)]
struct JsonReport<'a> {
    valid: bool,
    diagnostics: &'a [DiagnosticRecord],
}

/// Checks every matrix and prints all their diagnostics.
pub fn run(args: &ValidateArgs) -> anyhow::Result<Outcome> {
    let mut results = Vec::with_capacity(args.matrices.len());
    for path in &args.matrices {
        let bytes = read_matrix(path)?;
        results.push(validate_bytes(
            &path.display().to_string(),
            &bytes,
            &Limits::default(),
        ));
    }
    let valid = results.iter().all(|r| passes(r, args.strict));
    let text = match args.format {
        ValidateFormat::Human => human(&results, args.strict),
        ValidateFormat::Json => {
            let records = records(&results);
            serde_json::to_string_pretty(&JsonReport {
                valid,
                diagnostics: &records,
            })?
        }
        ValidateFormat::Github => github(&results),
    };
    write_stdout(&text)?;
    Ok(Outcome::from_bool(valid))
}

/// Valid, and with `--strict` also free of warnings.
fn passes(result: &Validated, strict: bool) -> bool {
    result.is_valid() && (!strict || result.diagnostics.is_empty())
}

fn records(results: &[Validated]) -> Vec<DiagnosticRecord> {
    results
        .iter()
        .flat_map(|r| r.diagnostics.iter().map(|d| d.to_record(&r.source)))
        .collect()
}

fn human(results: &[Validated], strict: bool) -> String {
    let mut out = String::new();
    for result in results {
        out.push_str(&render_diagnostics(&result.source, &result.diagnostics));
        let errors = result.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = result.diagnostics.len() - errors;
        let verdict = if passes(result, strict) {
            "valid"
        } else {
            "invalid"
        };
        let strictly = if strict && warnings > 0 {
            ", counted as errors with `--strict`"
        } else {
            ""
        };
        out.push_str(&format!(
            "{}: {verdict} ({} {}, {} {}{strictly})\n",
            result.source.path(),
            errors,
            plural(errors, "error"),
            warnings,
            plural(warnings, "warning"),
        ));
    }
    out
}

fn plural(n: usize, word: &str) -> String {
    format!("{word}{}", cutover_planner::plural(n))
}

/// GitHub Actions workflow commands, one line per diagnostic.
fn github(results: &[Validated]) -> String {
    let mut out = String::new();
    for record in records(results) {
        let level = match record.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        out.push_str(&format!(
            "::{level} file={},line={},col={},title={}::{}\n",
            escape_property(&record.file),
            record.line,
            record.column,
            escape_property(record.code.as_str()),
            escape_data(&record.message),
        ));
    }
    out
}

/// Escaping of workflow command data (the message).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping of workflow command properties (file, title).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}
