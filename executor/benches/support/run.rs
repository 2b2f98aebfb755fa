//! What the executor's benchmarks share: a matrix planned into a plan file,
//! and one whole run of it against a cloud.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cutover_executor::{Cloud, NoHealthGate, RunReport, Runner, Settings, Silent};
use cutover_planner::{Limits, PlanDocument, validate_bytes};

/// Writes `matrix` and its plan into `dir`; returns the plan's path and
/// its number of waves.
pub fn saved_plan(dir: &Path, matrix: &str) -> (PathBuf, usize) {
    std::fs::write(dir.join("matrix.yaml"), matrix).expect("matrix");
    let validated = validate_bytes("matrix.yaml", matrix.as_bytes(), &Limits::default());
    let result = validated.plan().expect("valid");
    let doc = PlanDocument::new(&validated, Some(&result));
    let plan = dir.join("plan.json");
    std::fs::write(&plan, serde_json::to_string(&doc).expect("json")).expect("plan");
    (plan, doc.waves.len())
}

/// Executes the plan at `plan` once, with a fresh journal next to it.
pub fn execute<C: Cloud + 'static>(
    runtime: &tokio::runtime::Runtime,
    cloud: C,
    settings: Settings,
    plan: &Path,
) -> RunReport {
    let (_cancel, cancelled) = tokio::sync::watch::channel(false);
    let runner = Runner::new(cloud, NoHealthGate, settings, Arc::new(Silent), cancelled);
    let journal = plan.with_file_name("journal.jsonl");
    let report = runtime
        .block_on(runner.execute(plan, &journal))
        .expect("runs");
    std::fs::remove_file(&journal).expect("fresh journal per run");
    report
}
