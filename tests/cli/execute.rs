//! `cutover execute`: what is refused before any AWS call, and dry runs.
//! Full runs against moto are in `executor/tests/it/moto_runs.rs`.

use super::*;

/// A plan of `matrices/minimal.yaml` written with `-o` into a temporary
/// directory, next to a copy of the matrix.
fn saved_plan(dir: &Path) -> PathBuf {
    let matrix = dir.join("matrix.yaml");
    std::fs::copy(root().join("matrices/minimal.yaml"), &matrix).expect("copy");
    let plan = dir.join("plans").join("plan.json");
    std::fs::create_dir_all(plan.parent().expect("parent")).expect("mkdir");
    let run = cutover(&[
        "plan",
        "--format",
        "json",
        matrix.to_str().expect("utf-8"),
        "-o",
        plan.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    plan
}

#[test]
fn a_saved_plan_records_the_matrix_relative_to_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = saved_plan(dir.path());
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(plan).expect("plan")).expect("json");
    assert_eq!(doc["matrix"]["path"], "../matrix.yaml");
}

#[test]
fn a_changed_matrix_makes_the_plan_stale() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = saved_plan(dir.path());
    let matrix = dir.path().join("matrix.yaml");
    let mut text = std::fs::read_to_string(&matrix).expect("matrix");
    text.push_str("# edited after planning\n");
    std::fs::write(&matrix, text).expect("write");
    let run = cutover(&[
        "execute",
        plan.to_str().expect("utf-8"),
        "--endpoint-url",
        "http://127.0.0.1:9",
        "--region",
        "us-east-1",
    ]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("stale plan: the matrix"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("plan again"), "{}", run.stderr);
}

#[test]
fn a_plan_without_deployment_facts_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = saved_plan(dir.path());
    let run = cutover(&[
        "execute",
        plan.to_str().expect("utf-8"),
        "--endpoint-url",
        "http://127.0.0.1:9",
        "--region",
        "us-east-1",
    ]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("cannot be executed"), "{}", run.stderr);
}

#[test]
fn a_missing_plan_or_journal_is_an_io_error() {
    let run = cutover(&["execute", "no-such-plan.json"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    let run = cutover(&["resume", "no-such-journal.jsonl"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    let run = cutover(&["rollback", "no-such-journal.jsonl"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
}
