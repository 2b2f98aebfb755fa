//! The GitHub Action's run script, run here as the Action runs it, with the
//! job summary and the step outputs in temporary files.

use super::*;

struct ActionRun {
    run: Run,
    summary: String,
    outputs: String,
}

fn action(command: &str, matrix: &str, args: &str) -> ActionRun {
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = dir.path().join("summary.md");
    let outputs = dir.path().join("outputs");
    let output = Command::new("bash")
        .arg(root().join("scripts/github-action"))
        .current_dir(root())
        .env("CUTOVER_BIN", env!("CARGO_BIN_EXE_cutover"))
        .env("INPUT_COMMAND", command)
        .env("INPUT_MATRIX", matrix)
        .env("INPUT_ARGS", args)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .output()
        .expect("bash runs");
    ActionRun {
        run: Run {
            code: output.status.code().expect("exit code"),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        },
        summary: std::fs::read_to_string(summary).unwrap_or_default(),
        outputs: std::fs::read_to_string(outputs).unwrap_or_default(),
    }
}

#[test]
fn validate_turns_diagnostics_into_annotations() {
    let result = action("validate", "matrices/invalid/unknown-key.yaml", "");
    assert_eq!(result.run.code, 1, "{}", result.run.transcript());
    assert!(
        result
            .run
            .stdout
            .contains("::error file=matrices/invalid/unknown-key.yaml,line="),
        "{}",
        result.run.stdout
    );
    assert_eq!(result.outputs, "exit-code=1\n");
    assert!(
        result.summary.contains("see the annotations"),
        "{}",
        result.summary
    );

    let valid = action("validate", "matrices/shop.yaml matrices/minimal.yaml", "");
    assert_eq!(valid.run.code, 0, "{}", valid.run.transcript());
    assert_eq!(valid.outputs, "exit-code=0\n");
}

#[test]
fn plan_writes_the_markdown_plan_to_the_job_summary() {
    let result = action("plan", "matrices/shop.yaml", "--target cart=2.4.0");
    assert_eq!(result.run.code, 0, "{}", result.run.transcript());
    assert!(
        result
            .summary
            .starts_with("## Cutover plan for `matrices/shop.yaml`"),
        "{}",
        result.summary
    );
    assert_eq!(result.outputs, "exit-code=0\n");

    let no_order = action("plan", "matrices/plans/cycle.yaml", "");
    assert_eq!(no_order.run.code, 1);
    assert!(
        no_order.summary.contains("No safe cutover order"),
        "{}",
        no_order.summary
    );
    assert_eq!(no_order.outputs, "exit-code=1\n");
}

#[test]
fn a_wrong_input_is_a_usage_error() {
    let result = action("deploy", "matrices/shop.yaml", "");
    assert_eq!(result.run.code, 2);
    assert!(
        result.run.stdout.contains("::error::the `command` input"),
        "{}",
        result.run.stdout
    );
    assert_eq!(result.outputs, "exit-code=2\n");
    let none = action("validate", "", "");
    assert_eq!(none.run.code, 2);
}

#[test]
fn the_action_runs_the_script_with_its_inputs() {
    let text = std::fs::read_to_string(root().join("action.yml")).expect("action.yml");
    let action: serde_json::Value = serde_saphyr::from_str(&text).expect("YAML");
    assert_eq!(action["runs"]["using"], "composite");
    for input in ["command", "matrix", "args"] {
        assert!(action["inputs"][input].is_object(), "input `{input}`");
    }
    assert!(text.contains("scripts/github-action"));
    assert!(text.contains("--no-default-features"), "the slim build");
}
