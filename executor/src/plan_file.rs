//! Reading a saved plan, and refusing it when its matrix changed.

use std::path::{Path, PathBuf};

use cutover_planner::{PLAN_FORMAT_VERSION, PlanDocument, sha256_hex};

use crate::report::RunError;

/// Reads a plan document (JSON or YAML) and its digest.
pub fn read_plan(path: &Path) -> Result<(PlanDocument, String), RunError> {
    let bytes = std::fs::read(path).map_err(|source| RunError::Read {
        path: path.to_owned(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    // The format version first, so that a plan of another version is named
    // as such rather than as a list of unknown fields.
    #[derive(serde::Deserialize)]
    struct Version {
        format_version: u32,
    }
    let version = serde_json::from_str::<Version>(&text)
        .ok()
        .or_else(|| serde_saphyr::from_str::<Version>(&text).ok());
    if let Some(Version { format_version }) = version
        && format_version != PLAN_FORMAT_VERSION
    {
        return Err(RunError::BadFile {
            path: path.to_owned(),
            problem: format!(
                "has plan format version {format_version}; this cutover reads version {PLAN_FORMAT_VERSION}; plan again with this cutover"
            ),
        });
    }
    let plan: PlanDocument = serde_json::from_str(&text)
        .map_err(|e| e.to_string())
        .or_else(|json_error| serde_saphyr::from_str(&text).map_err(|_| json_error))
        .map_err(|problem| RunError::BadFile {
            path: path.to_owned(),
            problem: not_a_plan(&text, &problem),
        })?;
    Ok((plan, sha256_hex(&bytes)))
}

/// What a file that is not a plan document holds, and what to do instead.
fn not_a_plan(text: &str, problem: &str) -> String {
    let start = text.trim_start();
    let make_one = "make one with `cutover plan MATRIX -o plan.json`";
    let first_line = start.lines().next().unwrap_or_default();
    if start.is_empty() {
        format!("is empty, not a plan document; {make_one}")
    } else if first_line.starts_with("Plan for ") || first_line.starts_with("error: no safe order")
    {
        format!(
            "holds the plan report for people (`--format human`), not a plan document; {make_one}"
        )
    } else if first_line.starts_with("## ") && first_line.contains("cutover") {
        format!("holds a Markdown plan, not a plan document; {make_one}")
    } else if start.starts_with('{') && first_line.contains("\"event\"") {
        "is a journal, not a plan document; give it to `cutover resume` or `cutover rollback`"
            .to_owned()
    } else if text.lines().any(|l| l.starts_with("services:"))
        && text.lines().any(|l| l.starts_with("version:"))
    {
        "is a compatibility matrix, not a plan document; make a plan from it with `cutover plan MATRIX -o plan.json`".to_owned()
    } else {
        format!("is not a plan document ({problem}); {make_one}")
    }
}

/// Refuses a plan whose matrix (resolved relative to the plan file) changed.
pub fn check_matrix(plan: &PlanDocument, plan_path: &Path) -> Result<(), RunError> {
    let matrix = matrix_path(plan, plan_path);
    let bytes = std::fs::read(&matrix).map_err(|source| RunError::Read {
        path: matrix.clone(),
        source,
    })?;
    let digest = sha256_hex(&bytes);
    if digest != plan.matrix.sha256 {
        return Err(RunError::Stale(format!(
            "the matrix `{}` changed since the plan was made (SHA-256 {} now, {} in the plan); plan again",
            matrix.display(),
            short(&digest),
            short(&plan.matrix.sha256)
        )));
    }
    Ok(())
}

/// The matrix file of a plan: its recorded path, relative to the plan file's directory.
pub fn matrix_path(plan: &PlanDocument, plan_path: &Path) -> PathBuf {
    let recorded = Path::new(&plan.matrix.path);
    if recorded.is_absolute() {
        return recorded.to_owned();
    }
    plan_path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(recorded)
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}
