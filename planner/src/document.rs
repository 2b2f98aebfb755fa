//! The plan document: what `cutover plan` writes (JSON or YAML) and what the
//! executor reads. Its format is versioned by `format_version`.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::compat::Mismatch;
use crate::compat::State;
use crate::deployment::{DeployDoc, consumers_with_alarms, deploy_doc};
use crate::diagnostic::DiagnosticRecord;
use crate::explain::Hint;
use crate::explain::NoSafeOrder;
use crate::health_report::HealthReport;
use crate::order::{Constraint, Plan};
use crate::source::SourceFile;
use crate::validate::Validated;

/// The version of the plan document format written by this build.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// A plan as a document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanDocument {
    /// [`PLAN_FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The version of `cutover` that wrote it.
    pub tool_version: String,
    /// The matrix it was planned from.
    pub matrix: MatrixRef,
    /// Whether a safe order exists.
    pub feasible: bool,
    /// The waves; empty when not feasible or when nothing changes.
    pub waves: Vec<WaveDoc>,
    /// Every ordering constraint with its reason.
    pub constraints: Vec<ConstraintDoc>,
    /// Why no safe order exists (absent when feasible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
    /// Smallest matrix changes that would unlock an order.
    #[serde(default)]
    pub hints: Vec<HintDoc>,
    /// Diagnostics of the matrix (errors make the plan infeasible).
    #[serde(default)]
    pub diagnostics: Vec<DiagnosticRecord>,
    /// The health of the green sides, when `plan --check-health` checked them
    /// (an unhealthy one makes the plan infeasible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthReport>,
}

/// Which matrix, and its exact content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixRef {
    /// The path as given on the command line (the executor rewrites it
    /// relative to the plan file).
    pub path: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

/// One wave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaveDoc {
    /// The services switching together, sorted.
    pub services: Vec<StepDoc>,
}

/// One service's switch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDoc {
    /// The service.
    pub service: String,
    /// Current release.
    pub from: String,
    /// Target release.
    pub to: String,
    /// How it is switched (absent when the matrix has no `deploy` for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeployDoc>,
}

/// An ordering constraint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintDoc {
    /// Switches first.
    pub before: String,
    /// Switches later.
    pub after: String,
    /// Why, in words.
    pub reason: String,
}

/// Why no safe order exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Explanation {
    /// One sentence.
    pub summary: String,
    /// Broken steady states.
    #[serde(default)]
    pub broken_states: Vec<BrokenStateDoc>,
    /// Pairs that allow no order.
    #[serde(default)]
    pub conflicts: Vec<ConflictDoc>,
    /// Cycles of constraints.
    #[serde(default)]
    pub cycles: Vec<CycleDoc>,
}

/// A broken steady state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokenStateDoc {
    /// `current` or `target`.
    pub state: String,
    /// The broken pairs.
    pub problems: Vec<Problem>,
}

/// A pair that allows neither order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictDoc {
    /// The consumer.
    pub consumer: String,
    /// The provider.
    pub provider: String,
    /// What breaks when the provider switches first.
    pub provider_first: Vec<Problem>,
    /// What breaks when the consumer switches first.
    pub consumer_first: Vec<Problem>,
}

/// A cycle of constraints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CycleDoc {
    /// `[a, b, a]`.
    pub path: Vec<String>,
    /// The constraint behind each arrow.
    pub edges: Vec<ConstraintDoc>,
}

/// One unmet requirement, with positions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    /// The sentence.
    pub message: String,
    /// Consumer service.
    pub consumer: String,
    /// Its release.
    pub consumer_version: String,
    /// Provider service.
    pub provider: String,
    /// Its release.
    pub provider_version: String,
    /// The API consumed.
    pub api: String,
    /// The requirement.
    pub requirement: String,
    /// What the provider release serves of it.
    pub offered: Vec<String>,
    /// Where the requirement is written.
    pub requirement_at: Position,
    /// Where the provider release is written.
    pub provider_at: Position,
}

/// A place in the matrix file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// A hint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HintDoc {
    /// The sentence.
    pub message: String,
    /// Whether this change alone makes a safe order possible.
    pub unlocks: bool,
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

impl PlanDocument {
    /// Builds the document for a validated matrix and the planner's answer
    /// (`None` when the matrix is invalid and was not planned).
    pub fn new(validated: &Validated, result: Option<&Result<Plan, NoSafeOrder>>) -> Self {
        let source = &validated.source;
        let mut doc = PlanDocument {
            format_version: PLAN_FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            matrix: MatrixRef {
                path: source.path().to_owned(),
                sha256: sha256_hex(source.text().as_bytes()),
            },
            feasible: false,
            waves: Vec::new(),
            constraints: Vec::new(),
            explanation: None,
            hints: Vec::new(),
            diagnostics: validated
                .diagnostics
                .iter()
                .map(|d| d.to_record(source))
                .collect(),
            health: None,
        };
        match result {
            None => {
                doc.explanation = Some(Explanation {
                    summary: "the matrix is invalid; fix its errors first".to_owned(),
                    broken_states: Vec::new(),
                    conflicts: Vec::new(),
                    cycles: Vec::new(),
                });
            }
            Some(Ok(plan)) => {
                doc.feasible = true;
                doc.waves = plan
                    .waves
                    .iter()
                    .map(|wave| WaveDoc {
                        services: wave
                            .services
                            .iter()
                            .map(|s| StepDoc {
                                service: s.service.clone(),
                                from: s.from.to_string(),
                                to: s.to.to_string(),
                                deploy: validated
                                    .matrix
                                    .as_ref()
                                    .and_then(|m| Some(deploy_doc(m, m.services.get(&s.service)?)))
                                    .flatten(),
                            })
                            .collect(),
                    })
                    .collect();
                doc.constraints = plan.constraints.iter().map(constraint_doc).collect();
                if let Some(matrix) = &validated.matrix {
                    let mut consumers = consumers_with_alarms(matrix);
                    for step in doc.waves.iter_mut().flat_map(|w| w.services.iter_mut()) {
                        if let (Some(deploy), Some(list)) =
                            (step.deploy.as_mut(), consumers.remove(&step.service))
                        {
                            deploy.consumers = list;
                        }
                    }
                }
            }
            Some(Err(no)) => {
                doc.constraints = no.constraints.iter().map(constraint_doc).collect();
                doc.hints = no.hints.iter().map(hint_doc).collect();
                doc.explanation = Some(explanation(source, no));
            }
        }
        doc
    }
}

impl PlanDocument {
    /// Records the matrix path relative to the directory of `plan_file`, where
    /// the plan is about to be written, so that `execute` finds the matrix from
    /// any working directory.
    ///
    /// Both paths are resolved first (symbolic links and `..` included), so `cd w2 && cutover plan m.yaml -o ../plans/p.json`
    /// records `../w2/m.yaml`. When no relative path exists (another drive),
    /// the absolute matrix path is recorded; when the paths cannot be resolved
    /// at all, the path is kept as given.
    pub fn relocate_matrix(&mut self, plan_file: &Path) {
        let matrix = std::path::absolute(&self.matrix.path).ok();
        let plan = std::path::absolute(plan_file).ok();
        let Some((matrix, plan_dir)) = matrix.zip(plan.as_deref().and_then(Path::parent)) else {
            return;
        };
        self.matrix.path = relative_path(&resolved(plan_dir), &resolved(&matrix))
            .to_string_lossy()
            .replace('\\', "/");
    }
}

/// An absolute `path`, normalised: its longest existing prefix is
/// canonicalised (resolving symbolic links and `..` the way the file system
/// will when the recorded path is followed), and the rest, which does not
/// exist yet, is normalised lexically.
fn resolved(path: &Path) -> PathBuf {
    let parts: Vec<Component> = path.components().collect();
    for keep in (1..=parts.len()).rev() {
        let prefix: PathBuf = parts[..keep].iter().collect();
        if let Ok(mut canonical) = prefix.canonicalize() {
            canonical.extend(&parts[keep..]);
            return normalise(&canonical);
        }
    }
    normalise(path)
}

/// Removes `.` and folds `name/..` without looking at the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() && !out.has_root() {
                    out.push(component.as_os_str());
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `to` relative to the directory `from` (both absolute, already normalised).
pub fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    let to_parts: Vec<Component> = to
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 {
        return to.to_owned();
    }
    let mut relative = PathBuf::new();
    for _ in common..from.len() {
        relative.push("..");
    }
    for part in &to_parts[common..] {
        relative.push(part.as_os_str());
    }
    relative
}

impl PlanDocument {
    /// Records a health check of the green sides. While any is not healthy
    /// there is no plan: `feasible` becomes false, the waves are dropped and
    /// the explanation names the unhealthy services; the report says why.
    pub fn record_health(&mut self, report: HealthReport) {
        if !report.healthy && self.feasible {
            self.feasible = false;
            self.waves.clear();
            self.explanation = Some(Explanation {
                summary: health_summary(&report),
                broken_states: Vec::new(),
                conflicts: Vec::new(),
                cycles: Vec::new(),
            });
        }
        self.health = Some(report);
    }
}

/// `no plan while green is not healthy: `a`, `b``
fn health_summary(report: &HealthReport) -> String {
    let names: Vec<String> = report
        .unhealthy()
        .map(|s| format!("`{}`", s.service))
        .collect();
    let sides = if names.len() == 1 {
        "the green side of"
    } else {
        "the green sides of"
    };
    format!(
        "no plan while {sides} {} {} not healthy",
        names.join(", "),
        if names.len() == 1 { "is" } else { "are" }
    )
}

fn constraint_doc(constraint: &Constraint) -> ConstraintDoc {
    ConstraintDoc {
        before: constraint.before.clone(),
        after: constraint.after.clone(),
        reason: constraint.reason(),
    }
}

fn hint_doc(hint: &Hint) -> HintDoc {
    HintDoc {
        message: hint.describe(),
        unlocks: hint.unlocks,
    }
}

fn explanation(source: &SourceFile, no: &NoSafeOrder) -> Explanation {
    let problems = |mismatches: &[Mismatch]| {
        mismatches
            .iter()
            .map(|m| problem(source, m))
            .collect::<Vec<_>>()
    };
    Explanation {
        summary: summary(no),
        broken_states: no
            .broken_states
            .iter()
            .map(|b| BrokenStateDoc {
                state: match b.state {
                    State::Current => "current".to_owned(),
                    State::Target => "target".to_owned(),
                },
                problems: problems(&b.mismatches),
            })
            .collect(),
        conflicts: no
            .conflicts
            .iter()
            .map(|c| ConflictDoc {
                consumer: c.consumer.clone(),
                provider: c.provider.clone(),
                provider_first: problems(&c.provider_first),
                consumer_first: problems(&c.consumer_first),
            })
            .collect(),
        cycles: no
            .cycles
            .iter()
            .map(|c| CycleDoc {
                path: c.path.clone(),
                edges: c.edges.iter().map(constraint_doc).collect(),
            })
            .collect(),
    }
}

/// One sentence summing up why no safe order exists.
pub fn summary(no: &NoSafeOrder) -> String {
    let mut parts = Vec::new();
    for broken in &no.broken_states {
        let which = match broken.state {
            State::Current => "the current state",
            State::Target => "the target state",
        };
        parts.push(format!("{which} is already incompatible"));
    }
    if !no.conflicts.is_empty() {
        let n = no.conflicts.len();
        parts.push(format!(
            "{n} pair{} of services cannot switch in either order",
            crate::describe::plural(n)
        ));
    }
    for cycle in &no.cycles {
        parts.push(format!(
            "the ordering constraints form a cycle {}",
            cycle.describe_path()
        ));
    }
    format!("no safe order exists: {}", parts.join("; "))
}

fn problem(source: &SourceFile, m: &Mismatch) -> Problem {
    let position = |span: crate::yaml::Span| Position {
        file: source.path().to_owned(),
        line: span.line.max(1),
        column: span.column.max(1),
    };
    Problem {
        message: m.describe(),
        consumer: m.consumer.clone(),
        consumer_version: m.consumer_version.to_string(),
        provider: m.provider.clone(),
        provider_version: m.provider_version.to_string(),
        api: m.api.clone(),
        requirement: m.requirement.clone(),
        offered: m.offered.iter().map(ToString::to_string).collect(),
        requirement_at: position(m.requirement_span),
        provider_at: position(m.provider_span),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        let rel = |a: &str, b: &str| relative_path(Path::new(a), Path::new(b));
        assert_eq!(
            rel("/w/plans", "/w/matrices/shop.yaml"),
            Path::new("../matrices/shop.yaml")
        );
        assert_eq!(rel("/w", "/w/shop.yaml"), Path::new("shop.yaml"));
        assert_eq!(rel("/w/a/b", "/w/shop.yaml"), Path::new("../../shop.yaml"));
    }

    #[test]
    fn normalising_folds_dots() {
        assert_eq!(
            normalise(Path::new("/t/w2/../w2plans/./p")),
            Path::new("/t/w2plans/p")
        );
        assert_eq!(normalise(Path::new("/..")), Path::new("/"));
    }

    /// The plan documents in the CLI snapshots, as `(snapshot, stdout)`.
    fn snapshot_documents(format: &str) -> Vec<(String, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cli/snapshots");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("snapshots") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let is_plan = name.contains(&format!("plan-{format}@"))
                || name.contains(&format!("plan-check-health-unhealthy-{format}"));
            if !is_plan {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("snapshot");
            let stdout = text
                .split_once("----- stdout -----\n")
                .and_then(|(_, rest)| rest.split_once("\n----- stderr -----"))
                .map(|(stdout, _)| stdout.to_owned())
                .expect("a transcript");
            found.push((name, stdout));
        }
        found
    }

    /// Guards against plan documents that no longer read back once
    /// `deny_unknown_fields` is on, and against silently changed output.
    #[test]
    fn every_plan_snapshot_reads_back_unchanged() {
        let json = snapshot_documents("json");
        assert!(json.len() >= 8, "{} JSON plans", json.len());
        for (name, text) in json {
            let doc: PlanDocument = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{name} does not read back: {e}"));
            let again = serde_json::to_string_pretty(&doc).expect("json") + "\n";
            assert_eq!(again, text, "{name} is not written back byte for byte");
        }
        let yaml = snapshot_documents("yaml");
        assert!(yaml.len() >= 8, "{} YAML plans", yaml.len());
        for (name, text) in yaml {
            let doc: Result<PlanDocument, _> = serde_saphyr::from_str(&text);
            assert!(doc.is_ok(), "{name} does not read back: {doc:?}");
        }
    }

    /// Regression: a misspelt field (`rulee`) in a plan used to be ignored.
    #[test]
    fn a_misspelt_field_in_a_plan_is_refused() {
        let (_, text) = snapshot_documents("json")
            .into_iter()
            .find(|(name, _)| name.contains("plan-json@shop.yaml"))
            .expect("the shop plan");
        let misspelt = text.replacen("\"rule\":", "\"rulee\":", 1);
        assert_ne!(misspelt, text);
        let error = serde_json::from_str::<PlanDocument>(&misspelt)
            .expect_err("`rulee` is refused")
            .to_string();
        assert!(error.contains("unknown field `rulee`"), "{error}");
        for (field, inside) in [
            ("\"feasible\":", "the document"),
            ("\"bake_ms\":", "`deploy`"),
            ("\"cluster\":", "`ecs`"),
            ("\"timeout_ms\":", "`health`"),
            ("\"target_group\":", "`blue`"),
            ("\"reason\":", "a constraint"),
        ] {
            if !text.contains(field) {
                continue;
            }
            let extra = text.replacen(field, &format!("\"extra\": 1, {field}"), 1);
            assert!(
                serde_json::from_str::<PlanDocument>(&extra).is_err(),
                "an unknown field in {inside} is accepted"
            );
        }
    }
}
