//! `cutover validate`.

use super::*;

/// One snapshot per file under `matrices/invalid/`: the human report, the JSON
/// report and the exit code.
#[test]
fn invalid_matrices() {
    insta::glob!("../../matrices/invalid", "*.yaml", |path| {
        let file = relative(path);
        let human = cutover(&["validate", &file]);
        let json = cutover(&["validate", "--format", "json", &file]);
        assert_eq!(
            human.code, json.code,
            "{file}: exit codes differ between formats"
        );
        // Files with warnings only are valid.
        let warnings_only = [
            "target-older-than-current.yaml",
            "token-over-http.yaml",
            "not-executable.yaml",
            "unsatisfiable-requirement.yaml",
        ];
        let expected = if warnings_only.iter().any(|w| file.ends_with(w)) {
            0
        } else {
            1
        };
        assert_eq!(human.code, expected, "{file}: {}", human.stdout);
        insta::assert_snapshot!(format!(
            "{}\n===== json =====\n{}",
            human.transcript(),
            json.stdout
        ));
    });
}

/// Every diagnostic code in `matrices/invalid/NAME.yaml` at the line the file
/// itself marks, and each file named after a code produces that code.
#[test]
fn each_invalid_file_reports_its_own_code() {
    insta::glob!("../../matrices/invalid", "*.yaml", |path| {
        let file = relative(path);
        let report = cutover(&["validate", "--format", "json", &file]).json();
        let codes: Vec<&str> = report["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .map(|d| d["code"].as_str().expect("code"))
            .collect();
        let stem = path.file_stem().expect("stem").to_string_lossy();
        let expected = match stem.as_ref() {
            "empty" => "empty-matrix",
            "alias-bomb" | "deep-nesting" => "input-too-complex",
            "invalid-deploy" => "invalid-value",
            other => other,
        };
        assert!(
            codes.contains(&expected),
            "{file}: expected `{expected}` among {codes:?}"
        );
        for d in report["diagnostics"].as_array().expect("diagnostics") {
            assert_eq!(d["file"], file.as_str());
            assert!(d["line"].as_u64().expect("line") >= 1);
            assert!(d["column"].as_u64().expect("column") >= 1);
            assert!(matches!(d["severity"].as_str(), Some("error" | "warning")));
        }
    });
}

#[test]
fn sample_matrices_are_valid() {
    for file in [
        "matrices/shop.yaml",
        "matrices/minimal.yaml",
        "matrices/fleet.yaml",
    ] {
        let run = cutover(&["validate", file]);
        assert_eq!(run.code, 0, "{}", run.transcript());
    }
    let json = cutover(&["validate", "--format", "json", "matrices/shop.yaml"]).json();
    assert_eq!(json, serde_json::json!({"valid": true, "diagnostics": []}));
    // The minimal matrix has no deploy facts: it plans, and `validate` says
    // once per changing service that `execute` could not carry it out.
    let json = cutover(&["validate", "--format", "json", "matrices/minimal.yaml"]).json();
    assert_eq!(json["valid"], true);
    let codes: Vec<(&str, u64)> = json["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["code"].as_str().expect("code"),
                d["line"].as_u64().expect("line"),
            )
        })
        .collect();
    assert_eq!(codes, [("not-executable", 7), ("not-executable", 17)]);
}

#[test]
fn several_files_are_checked_in_one_run() {
    let run = cutover(&[
        "validate",
        "--format",
        "json",
        "matrices/shop.yaml",
        "matrices/invalid/unknown-key.yaml",
        "matrices/invalid/duplicate-api.yaml",
    ]);
    assert_eq!(run.code, 1);
    let files: std::collections::BTreeSet<String> = run.json()["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["file"].as_str().expect("file").to_owned())
        .collect();
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        [
            "matrices/invalid/duplicate-api.yaml",
            "matrices/invalid/unknown-key.yaml"
        ]
    );
}

#[test]
fn positions_point_at_the_value_at_fault() {
    let report = cutover(&[
        "validate",
        "--format",
        "json",
        "matrices/invalid/unknown-key.yaml",
    ])
    .json();
    let positions: Vec<(String, u64, u64)> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["code"].as_str().expect("code").to_owned(),
                d["line"].as_u64().expect("line"),
                d["column"].as_u64().expect("column"),
            )
        })
        .collect();
    assert_eq!(
        positions,
        [
            ("unknown-key".to_owned(), 5, 5),
            ("unknown-key".to_owned(), 9, 9),
            ("unknown-key".to_owned(), 11, 1),
        ]
    );
}

#[test]
fn github_format_emits_workflow_commands() {
    let run = cutover(&[
        "validate",
        "--format",
        "github",
        "matrices/invalid/duplicate-api.yaml",
    ]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stdout, @"::error file=matrices/invalid/duplicate-api.yaml,line=14,col=24,title=duplicate-api::API `billing-api` is provided by both `payments` and `invoices` (hint: each API belongs to exactly one service; rename one of them)");
}

#[test]
fn missing_file_is_an_io_error() {
    let run = cutover(&["validate", "matrices/does-not-exist.yaml"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("cannot read `matrices/does-not-exist.yaml`"),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(cutover(&["validate"]).code, 2);
    assert_eq!(
        cutover(&["validate", "--format", "xml", "matrices/shop.yaml"]).code,
        2
    );
    assert_eq!(cutover(&["no-such-command"]).code, 2);
}

/// Hostile input gets a clear diagnostic, never a panic or a hang.
#[test]
fn hostile_input_is_refused_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "huge.yaml",
            {
                let mut big = b"version: 1\nservices: {}\n".to_vec();
                big.resize(50 * 1024 * 1024, b'#');
                big
            },
            "input-too-large",
        ),
        (
            "nested.yaml",
            format!("version: 1\nservices: {}", "[".repeat(100_000)).into_bytes(),
            "input-too-complex",
        ),
        (
            "block.yaml",
            (0..5_000)
                .map(|i| format!("{}a:\n", " ".repeat(i)))
                .collect::<String>()
                .into_bytes(),
            "yaml-syntax",
        ),
        ("bytes.yaml", vec![0xff, 0xfe, 0x00, 0x41], "invalid-utf8"),
        ("empty.yaml", Vec::new(), "empty-matrix"),
        (
            "comments.yaml",
            b"# nothing here\n".to_vec(),
            "empty-matrix",
        ),
    ];
    for (name, bytes, code) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let run = cutover(&[
            "validate",
            "--format",
            "json",
            path.to_str().expect("utf-8 path"),
        ]);
        assert_eq!(run.code, 1, "{name}: {}", run.transcript());
        let json = run.json();
        assert_eq!(json["valid"], false);
        let codes: Vec<&str> = json["diagnostics"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|d| d["code"].as_str())
            .collect();
        assert!(
            codes.contains(&code) || (name == "block.yaml" && codes.contains(&"input-too-complex")),
            "{name}: {codes:?}"
        );
    }
}

#[test]
fn schema_is_json_schema() {
    let run = cutover(&["schema"]);
    assert_eq!(run.code, 0);
    let schema = run.json();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(
        schema["required"],
        serde_json::json!(["version", "services"])
    );
}

/// A password in an Actuator URL is an error that never shows the password:
/// not in messages, not in snippets, not in any format.
#[test]
fn credentials_in_a_url_are_never_echoed() {
    let file = "matrices/invalid/credentials-in-url.yaml";
    let secret = "s3cr3t-Pa55";
    assert!(
        std::fs::read_to_string(root().join(file))
            .expect("matrix")
            .contains(secret)
    );
    for format in ["human", "json", "github"] {
        let run = cutover(&["validate", "--format", format, file]);
        assert_eq!(run.code, 1, "{}", run.transcript());
        assert!(run.stdout.contains("credentials-in-url"), "{}", run.stdout);
        assert!(
            !run.transcript().contains(secret),
            "{format}: {}",
            run.transcript()
        );
    }
}

/// `steps` with an inherited `canary` or `linear` strategy, or defaults used
/// by a service that sets one, are fine.
#[test]
fn steps_with_a_strategy_from_anywhere_are_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        "defaults:\n  deploy: {strategy: canary}\nservices:\n  a: {current: 1.0.0, releases: {1.0.0: {}}, deploy: {steps: [5, 100]}}\n",
        "defaults:\n  deploy: {steps: [5, 100]}\nservices:\n  a: {current: 1.0.0, releases: {1.0.0: {}}, deploy: {strategy: linear}}\n",
        "defaults:\n  deploy: {strategy: linear, steps: [5, 100]}\nservices:\n  a: {current: 1.0.0, releases: {1.0.0: {}}, deploy: {strategy: all-at-once}}\n",
    ];
    for (i, case) in cases.iter().enumerate() {
        let path = dir.path().join(format!("m{i}.yaml"));
        std::fs::write(&path, format!("version: 1\n{case}")).expect("write");
        let run = cutover(&[
            "validate",
            "--format",
            "json",
            path.to_str().expect("utf-8"),
        ]);
        assert_eq!(run.code, 0, "{case}\n{}", run.transcript());
        assert_eq!(run.json()["diagnostics"], serde_json::json!([]), "{case}");
    }
}

/// Only a warning: the token goes over plain HTTP to a host that is not loopback.
#[test]
fn a_token_over_plain_http_is_a_warning() {
    let report = cutover(&[
        "validate",
        "--format",
        "json",
        "matrices/invalid/token-over-http.yaml",
    ])
    .json();
    assert_eq!(report["valid"], true);
    let diagnostics = report["diagnostics"].as_array().expect("diagnostics");
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["code"], "token-over-http");
    assert_eq!(diagnostics[0]["severity"], "warning");
    assert_eq!(diagnostics[0]["line"], 12);
}

/// `--strict` counts warnings as errors: exit 1, `"valid": false`, and the
/// summary line says why.
#[test]
fn strict_counts_warnings_as_errors() {
    let file = "matrices/invalid/not-executable.yaml";
    assert_eq!(cutover(&["validate", file]).code, 0);
    let human = cutover(&["validate", "--strict", file]);
    assert_eq!(human.code, 1, "{}", human.transcript());
    insta::assert_snapshot!(
        human.stdout.lines().last().expect("summary"),
        @"matrices/invalid/not-executable.yaml: invalid (0 errors, 2 warnings, counted as errors with `--strict`)"
    );
    let json = cutover(&["validate", "--strict", "--format", "json", file]);
    assert_eq!(json.code, 1);
    assert_eq!(json.json()["valid"], false);
    // Without warnings, `--strict` changes nothing.
    let clean = cutover(&[
        "validate",
        "--strict",
        "--format",
        "json",
        "matrices/shop.yaml",
    ]);
    assert_eq!(clean.code, 0, "{}", clean.transcript());
    assert_eq!(clean.json()["valid"], true);
}
