//! `cutover plan` and `cutover graph` on the scenario matrices.

use super::*;

const FORMATS: &[&str] = &["human", "json", "yaml", "markdown"];

/// The `# expect:` line of a scenario: `Some(waves)` when feasible.
fn expectation(path: &Path) -> Option<Option<usize>> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("# expect: "))?;
    if line == "no safe order" {
        return Some(None);
    }
    let waves = line
        .strip_prefix("feasible, ")?
        .split(' ')
        .next()?
        .parse()
        .ok()?;
    Some(Some(waves))
}

fn snapshot_every_format(path: &Path) {
    let file = relative(path);
    let mut exit_codes = Vec::new();
    for format in FORMATS {
        let run = cutover(&["plan", "--format", format, &file]);
        exit_codes.push(run.code);
        insta::assert_snapshot!(format!("plan-{format}"), run.transcript());
    }
    for format in ["mermaid", "dot"] {
        let run = cutover(&["graph", "--format", format, &file]);
        assert_eq!(run.code, 0, "{}", run.transcript());
        insta::assert_snapshot!(format!("graph-{format}"), run.stdout);
    }
    assert!(
        exit_codes.windows(2).all(|w| w[0] == w[1]),
        "{file}: exit codes differ by format: {exit_codes:?}"
    );
    let doc = cutover(&["plan", "--format", "json", &file]).json();
    match expectation(path) {
        Some(Some(waves)) => {
            assert_eq!(exit_codes[0], 0, "{file}");
            assert_eq!(doc["feasible"], true);
            assert_eq!(
                doc["waves"].as_array().expect("waves").len(),
                waves,
                "{file}"
            );
        }
        Some(None) => {
            assert_eq!(exit_codes[0], 1, "{file}");
            assert_eq!(doc["feasible"], false);
            assert_eq!(doc["waves"], serde_json::json!([]));
            assert!(
                !doc["hints"].as_array().expect("hints").is_empty(),
                "{file}: no hints"
            );
        }
        None => panic!("{file} has no `# expect:` line"),
    }
}

#[test]
fn scenarios() {
    insta::glob!("../../matrices/plans", "*.yaml", |path| {
        snapshot_every_format(path)
    });
}

#[test]
fn samples() {
    insta::glob!("../../matrices", "*.yaml", snapshot_every_format);
}

#[test]
fn plans_are_byte_identical_across_runs() {
    let first = cutover(&["plan", "--format", "json", "matrices/shop.yaml"]);
    for _ in 0..3 {
        assert_eq!(
            cutover(&["plan", "--format", "json", "matrices/shop.yaml"]).stdout,
            first.stdout
        );
    }
}

#[test]
fn json_plan_carries_the_contract_keys() {
    let doc = cutover(&["plan", "--format", "json", "matrices/shop.yaml"]).json();
    for key in [
        "format_version",
        "tool_version",
        "matrix",
        "feasible",
        "waves",
        "constraints",
    ] {
        assert!(doc.get(key).is_some(), "missing `{key}`");
    }
    let bytes = std::fs::read(root().join("matrices/shop.yaml")).expect("read");
    assert_eq!(doc["matrix"]["sha256"], cutover_planner::sha256_hex(&bytes));
    assert_eq!(doc["matrix"]["path"], "matrices/shop.yaml");
    assert_eq!(doc["tool_version"], env!("CARGO_PKG_VERSION"));
    let step = &doc["waves"][0]["services"][0];
    assert!(step["service"].is_string() && step["from"].is_string() && step["to"].is_string());
    let c = &doc["constraints"][0];
    assert!(c["before"].is_string() && c["after"].is_string() && c["reason"].is_string());
}

#[test]
fn invalid_matrix_still_prints_a_json_plan() {
    let run = cutover(&[
        "plan",
        "--format",
        "json",
        "matrices/invalid/unknown-release.yaml",
    ]);
    assert_eq!(run.code, 1);
    let doc = run.json();
    assert_eq!(doc["feasible"], false);
    assert_eq!(doc["waves"], serde_json::json!([]));
    assert_eq!(doc["diagnostics"][0]["code"], "unknown-release");
    let human = cutover(&["plan", "matrices/invalid/yaml-syntax.yaml"]);
    assert_eq!(human.code, 1);
    assert!(human.stdout.contains("yaml-syntax"), "{}", human.stdout);
}

#[test]
fn overrides_pick_releases_without_editing_the_file() {
    // Keep `orders` where it is: then `gateway` 5.3.0 cannot be satisfied...
    let run = cutover(&[
        "plan",
        "--format",
        "json",
        "matrices/shop.yaml",
        "--target",
        "orders=1.9.0",
    ]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    let doc = run.json();
    let codes: Vec<&str> = doc["diagnostics"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert!(codes.contains(&"incompatible-target-state"), "{codes:?}");
    // ...unless `gateway` stays too.
    let run = cutover(&[
        "plan",
        "--format",
        "json",
        "matrices/shop.yaml",
        "--target",
        "orders=1.9.0",
        "--target",
        "gateway=5.2.0",
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let services: Vec<String> = run.json()["waves"]
        .as_array()
        .expect("waves")
        .iter()
        .flat_map(|w| {
            w["services"]
                .as_array()
                .expect("services")
                .iter()
                .map(|s| s["service"].as_str().expect("name").to_owned())
        })
        .collect();
    assert!(!services.contains(&"orders".to_owned()) && !services.contains(&"gateway".to_owned()));
    // Moving `current` forward makes `ledger` a non-change.
    let run = cutover(&[
        "plan",
        "--format",
        "json",
        "matrices/shop.yaml",
        "--current",
        "ledger=3.1.0",
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(!run.stdout.contains("\"service\": \"ledger\""));
}

#[test]
fn bad_overrides_are_usage_errors() {
    for args in [
        ["--target", "nosuch=1.0.0"],
        ["--target", "orders=9.9.9"],
        ["--target", "orders=two"],
        ["--target", "orders"],
    ] {
        let mut full = vec!["plan", "matrices/shop.yaml"];
        full.extend(args);
        let run = cutover(&full);
        assert_eq!(run.code, 2, "{args:?}: {}", run.transcript());
        assert!(run.stderr.contains("error"), "{}", run.stderr);
    }
}

/// An override naming a service or release that is one typo away says which
/// one was meant (the same "did you mean" as in the matrix).
#[test]
fn bad_overrides_suggest_what_was_meant() {
    let mut messages = Vec::new();
    for args in [
        ["--target", "payment=2.0.0"],
        ["--current", "payments=1.4.1"],
        ["--target", "payments=2.0.1"],
        ["--target", "payments=3.1.0"],
    ] {
        let mut full = vec!["plan", "matrices/shop.yaml"];
        full.extend(args);
        let run = cutover(&full);
        assert_eq!(run.code, 2, "{args:?}: {}", run.transcript());
        messages.push(run.stderr);
    }
    insta::assert_snapshot!(messages.concat(), @r"
    error: `--target payment=…`: the matrix has no service `payment`; did you mean `payments`?
    error: `--current payments=1.4.1`: `payments` has no release 1.4.1 (known: 1.4.0, 2.0.0); did you mean `1.4.0`?
    error: `--target payments=2.0.1`: `payments` has no release 2.0.1 (known: 1.4.0, 2.0.0); did you mean `2.0.0`?
    error: `--target payments=3.1.0`: `payments` has no release 3.1.0 (known: 1.4.0, 2.0.0)
    ");
}

#[test]
fn output_file_receives_the_plan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("plan.json");
    let run = cutover(&[
        "plan",
        "--format",
        "json",
        "matrices/shop.yaml",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.is_empty());
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("written")).expect("json");
    assert_eq!(doc["feasible"], true);
}

/// Regression: `cd w2 && cutover plan m.yaml -o ../w2plans/p.json` recorded
/// `../../m.yaml`, which does not resolve from the plan's folder.
#[test]
fn the_matrix_path_is_relative_to_the_plan_for_any_output_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().canonicalize().expect("canonical temp dir");
    let work = base.join("w2");
    std::fs::create_dir_all(&work).expect("mkdir w2");
    std::fs::create_dir_all(base.join("w2plans")).expect("mkdir w2plans");
    std::fs::create_dir_all(work.join("sub")).expect("mkdir w2/sub");
    std::fs::copy(root().join("matrices/minimal.yaml"), work.join("m.yaml")).expect("copy");
    let absolute_plan = base.join("w2plans/abs.json");
    let absolute_matrix = work.join("sub/../m.yaml");
    let cases = [
        ("m.yaml", "../w2plans/p.json", "../w2/m.yaml"),
        ("./m.yaml", "../w2plans/./q.json", "../w2/m.yaml"),
        ("sub/../m.yaml", "sub/../../w2plans/r.json", "../w2/m.yaml"),
        ("../w2/m.yaml", "p.json", "m.yaml"),
        ("m.yaml", "sub/p.json", "../m.yaml"),
        (
            absolute_matrix.to_str().expect("utf-8"),
            absolute_plan.to_str().expect("utf-8"),
            "../w2/m.yaml",
        ),
    ];
    for (matrix, output, expected) in cases {
        let run = cutover_in(
            &work,
            &["plan", matrix, "--format", "json", "-o", output],
            &[],
        );
        assert_eq!(run.code, 0, "{matrix} -o {output}: {}", run.transcript());
        let plan = work.join(output);
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&plan).expect("plan written"))
                .expect("json");
        let recorded = doc["matrix"]["path"].as_str().expect("path");
        assert_eq!(recorded, expected, "{matrix} -o {output}");
        let resolved = plan.parent().expect("folder").join(recorded);
        assert_eq!(
            resolved.canonicalize().expect("the recorded path resolves"),
            work.join("m.yaml"),
            "{matrix} -o {output}"
        );
    }
}

/// Through a symbolic link to the plans folder, the path still resolves.
#[cfg(unix)]
#[test]
fn the_matrix_path_resolves_through_symbolic_links() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().canonicalize().expect("canonical temp dir");
    std::fs::create_dir_all(base.join("deep/plans")).expect("mkdir");
    std::fs::create_dir_all(base.join("w")).expect("mkdir");
    std::os::unix::fs::symlink(base.join("deep/plans"), base.join("w/plans")).expect("symlink");
    std::fs::copy(root().join("matrices/minimal.yaml"), base.join("w/m.yaml")).expect("copy");
    let run = cutover_in(
        &base.join("w"),
        &["plan", "m.yaml", "--format", "json", "-o", "plans/p.json"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    let plan = base.join("w/plans/p.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).expect("plan")).expect("json");
    let recorded = doc["matrix"]["path"].as_str().expect("path");
    assert_eq!(recorded, "../../w/m.yaml");
    let resolved = plan.parent().expect("folder").join(recorded);
    assert_eq!(
        resolved.canonicalize().expect("resolves"),
        base.join("w/m.yaml")
    );
}

/// A password in a health URL makes the matrix invalid, and appears nowhere
/// in the plan document, whatever the format.
#[test]
fn no_password_reaches_a_plan_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = "s3cr3t-Pa55";
    let matrix = std::fs::read_to_string(root().join("matrices/shop.yaml"))
        .expect("shop")
        .replace(
            "https://shop-test.internal:8443/orders/actuator",
            &format!("https://actuator:{secret}@shop-test.internal:8443/orders/actuator"),
        );
    assert!(matrix.contains(secret));
    std::fs::write(dir.path().join("m.yaml"), matrix).expect("write");
    for format in ["json", "yaml", "markdown", "human"] {
        let output = format!("plan.{format}");
        let run = cutover_in(
            dir.path(),
            &["plan", "m.yaml", "--format", format, "-o", &output],
            &[],
        );
        assert_eq!(run.code, 1, "{format}: {}", run.transcript());
        assert!(!run.transcript().contains(secret), "{}", run.transcript());
        let written = std::fs::read_to_string(dir.path().join(&output)).unwrap_or_default();
        assert!(!written.contains(secret), "{format}: {written}");
        if format == "json" {
            let doc: serde_json::Value = serde_json::from_str(&written).expect("json");
            assert_eq!(doc["feasible"], false);
            assert_eq!(doc["waves"], serde_json::json!([]));
            assert_eq!(doc["diagnostics"][0]["code"], "credentials-in-url");
            assert!(
                doc["diagnostics"][0]["message"]
                    .as_str()
                    .expect("message")
                    .contains("actuator:***@"),
                "{written}"
            );
        }
    }
}
