//! No traps on the way in: `plan -o` takes its format from the extension,
//! `execute` says what a file that is not a plan holds, completions, the man
//! page and a `--version` that names its commit.

use super::*;

#[test]
fn plan_takes_its_format_from_the_output_extension() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, starts_with) in [
        ("plan.json", "{"),
        ("plan.yaml", "format_version: 1"),
        ("plan.yml", "format_version: 1"),
        ("plan.md", "## Cutover plan"),
        ("plan.txt", "Plan for "),
    ] {
        let path = dir.path().join(name);
        let run = cutover(&[
            "plan",
            "matrices/shop.yaml",
            "-o",
            path.to_str().expect("utf-8"),
        ]);
        assert_eq!(run.code, 0, "{}", run.transcript());
        let text = std::fs::read_to_string(&path).expect("written");
        assert!(text.starts_with(starts_with), "{name}: {text:.80}");
    }
    let path = dir.path().join("plan.json");
    let given = cutover(&[
        "plan",
        "matrices/shop.yaml",
        "--format",
        "json",
        "-o",
        path.to_str().expect("utf-8"),
    ]);
    assert_eq!(given.code, 0, "{}", given.transcript());
    let contradiction = cutover(&[
        "plan",
        "matrices/shop.yaml",
        "--format",
        "yaml",
        "-o",
        "plan.json",
    ]);
    assert_eq!(contradiction.code, 2);
    assert!(!root().join("plan.json").exists(), "nothing written");
    insta::assert_snapshot!(contradiction.transcript());
}

#[test]
fn execute_says_what_a_file_that_is_not_a_plan_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("plan.json");
    // A plan report for people, written where a plan document was meant to be.
    let run = cutover(&["plan", "matrices/shop.yaml", "--format", "human"]);
    std::fs::write(&report, &run.stdout).expect("write");
    let journal = dir.path().join("j.jsonl");
    std::fs::write(
        &journal,
        "{\"at_ms\":1,\"run\":\"r\",\"event\":\"no_lock\"}\n",
    )
    .expect("write");
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "").expect("write");
    let mut transcripts = Vec::new();
    for file in [
        report.to_str().expect("utf-8"),
        "matrices/shop.yaml",
        journal.to_str().expect("utf-8"),
        empty.to_str().expect("utf-8"),
    ] {
        let run = cutover(&["execute", file, "--dry-run"]);
        assert_eq!(run.code, 2, "{}", run.transcript());
        assert!(
            run.stdout.is_empty(),
            "nothing before the error: {}",
            run.stdout
        );
        transcripts.push(
            run.transcript()
                .replace(dir.path().to_str().expect("utf-8"), "[TMP]"),
        );
    }
    insta::assert_snapshot!(transcripts.join("\n"));
}

#[test]
fn completions_and_a_man_page() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = cutover(&["completions", shell]);
        assert_eq!(run.code, 0, "{}", run.transcript());
        assert!(
            run.stdout.contains("cutover") && run.stdout.contains("rollback"),
            "{shell}"
        );
    }
    let man = cutover(&["man"]);
    assert_eq!(man.code, 0);
    assert!(man.stdout.contains(".TH cutover 1"), "{}", man.stdout);
    assert!(man.stdout.contains("execute"), "{}", man.stdout);
    let bad = cutover(&["completions", "tcsh"]);
    assert_eq!(bad.code, 2);
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let run = cutover(&["--version"]);
    assert_eq!(run.code, 0);
    let line = run.stdout.trim();
    let rest = line
        .strip_prefix(concat!("cutover ", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{line}"));
    // Built from git here: ` (0123456789ab)`, `+dirty` with local changes.
    let commit = rest
        .strip_prefix(" (")
        .and_then(|r| r.strip_suffix(')'))
        .map(|r| r.trim_end_matches("+dirty"))
        .unwrap_or_else(|| panic!("no commit in {line}"));
    assert!(
        commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit()),
        "{line}"
    );
}
