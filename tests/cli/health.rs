//! `cutover health` and `cutover plan --check-health` against a local fake
//! Actuator (127.0.0.1 only), with matrices written to a temporary directory.

#[path = "../../health/tests/support/actuator.rs"]
mod actuator;

use std::sync::OnceLock;

use actuator::{Actuator, TOKEN};

use super::*;

/// The variable the test matrices name in `defaults.health.token_env`.
const TOKEN_ENV: &str = "CUTOVER_TEST_ACTUATOR_TOKEN";

/// One fake Actuator for every test of this file.
fn actuator() -> &'static Actuator {
    static ACTUATOR: OnceLock<Actuator> = OnceLock::new();
    ACTUATOR.get_or_init(Actuator::start_in_background)
}

/// A changing service, from 1.9.0 to 2.0.0, checked at `scenario`.
fn service(name: &str, scenario: Option<&str>, require: Option<&str>) -> String {
    let mut yaml = format!(
        "  {name}:\n    current: 1.9.0\n    target: 2.0.0\n    releases:\n      1.9.0: {{}}\n      2.0.0: {{}}\n"
    );
    if scenario.is_some() || require.is_some() {
        yaml.push_str("    deploy:\n");
    }
    if let Some(scenario) = scenario {
        yaml.push_str(&format!("      health: {}\n", actuator().url(scenario)));
    }
    if let Some(require) = require {
        yaml.push_str(&format!("      require: {require}\n"));
    }
    yaml
}

/// Six services: two healthy, one down deep in its database, one on the old
/// release, one without a URL, one that does not change.
fn shop() -> String {
    let mut yaml = format!(
        "version: 1\ndefaults:\n  health:\n    timeout: 2s\n    retries: 1\n    require: [db]\n    token_env: {TOKEN_ENV}\nservices:\n"
    );
    yaml.push_str(&service("orders", Some("secured"), Some("[db, kafka]")));
    yaml.push_str(&service("ledger", Some("boot1-up"), None));
    yaml.push_str(&service("payments", Some("boot3-down"), None));
    yaml.push_str(&service("cart", Some("wrong-version"), None));
    yaml.push_str(&service("shipping", None, None));
    yaml.push_str("  catalog:\n    current: 3.4.1\n    releases:\n      3.4.1: {}\n");
    yaml
}

/// Overrides that leave only the healthy `orders` and `ledger` changing.
const ONLY_HEALTHY: &[&str] = &[
    "--target",
    "payments=1.9.0",
    "--target",
    "cart=1.9.0",
    "--target",
    "shipping=1.9.0",
];

/// A temporary directory holding `matrix.yaml`.
fn workspace(matrix: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("matrix.yaml"), matrix).expect("write matrix");
    dir
}

/// Runs `cutover ARGS` in `dir`, with the token in the environment when
/// given, and checks that the token shows nowhere.
fn run_in(dir: &Path, args: &[&str], token: Option<&str>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cutover"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove(TOKEN_ENV)
        .env_remove("ACTUATOR_TOKEN");
    if let Some(token) = token {
        command.env(TOKEN_ENV, token);
    }
    let output = command.output().expect("cutover runs");
    let run = Run {
        code: output.status.code().expect("exited normally"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains(TOKEN),
            "the token leaks into {stream}:\n{text}"
        );
    }
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            !text.contains(TOKEN),
            "the token leaks into {}",
            path.display()
        );
    }
    run
}

/// Snapshots with the random port and the matrix digest replaced.
macro_rules! assert_transcript {
    ($name:expr, $run:expr) => {
        insta::with_settings!({filters => vec![
            (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
            (r#""sha256": "[0-9a-f]{64}""#, r#""sha256": "[SHA256]""#),
        ]}, {
            insta::assert_snapshot!($name, $run.transcript());
        })
    };
}

#[test]
fn human_report_of_every_changing_service() {
    let dir = workspace(&shop());
    let run = run_in(dir.path(), &["health", "matrix.yaml"], Some(TOKEN));
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_transcript!("health-human", run);
}

#[test]
fn json_report_has_the_contract_keys() {
    let dir = workspace(&shop());
    let run = run_in(
        dir.path(),
        &[
            "health",
            "matrix.yaml",
            "--format",
            "json",
            "--concurrency",
            "2",
        ],
        Some(TOKEN),
    );
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_transcript!("health-json", run);
    let report = run.json();
    assert_eq!(report["healthy"], false);
    let services = report["services"].as_array().expect("services");
    let names: Vec<&str> = services
        .iter()
        .map(|s| s["service"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["cart", "ledger", "orders", "payments", "shipping"]);
    for service in services {
        let mut keys: Vec<&str> = service
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "expected_version",
                "ok",
                "problems",
                "service",
                "status",
                "url",
                "version"
            ]
        );
    }
    let shipping = &services[4];
    assert_eq!(shipping["url"], serde_json::Value::Null);
    assert_eq!(shipping["status"], serde_json::Value::Null);
    assert_eq!(
        shipping["problems"],
        serde_json::json!(["no `deploy.health` URL in the matrix"])
    );
}

#[test]
fn healthy_services_exit_zero() {
    let dir = workspace(&shop());
    let mut args = vec!["health", "matrix.yaml"];
    args.extend(ONLY_HEALTHY);
    let run = run_in(dir.path(), &args, Some(TOKEN));
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_transcript!("health-healthy", run);

    let selected = run_in(
        dir.path(),
        &[
            "health",
            "matrix.yaml",
            "--service",
            "orders",
            "--service",
            "ledger",
            "--format",
            "json",
        ],
        Some(TOKEN),
    );
    assert_eq!(selected.code, 0, "{}", selected.transcript());
    assert_eq!(selected.json()["healthy"], true);
}

#[test]
fn an_unset_token_variable_is_named_for_each_service() {
    let dir = workspace(&shop());
    let run = run_in(
        dir.path(),
        &["health", "matrix.yaml", "--service", "orders"],
        None,
    );
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_transcript!("health-token-unset", run);
}

#[test]
fn a_wrong_token_is_refused_and_not_shown() {
    let dir = workspace(&shop());
    let run = run_in(
        dir.path(),
        &[
            "health",
            "matrix.yaml",
            "--service",
            "orders",
            "--format",
            "json",
        ],
        Some("not-the-token"),
    );
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(!run.stdout.contains("not-the-token"), "{}", run.stdout);
    assert_eq!(
        run.json()["services"][0]["problems"][0],
        "`/health`: HTTP 401 Unauthorized; the bearer token was refused"
    );
}

#[test]
fn unknown_and_unchanging_services_are_usage_errors() {
    let dir = workspace(&shop());
    let unknown = run_in(
        dir.path(),
        &["health", "matrix.yaml", "--service", "basket"],
        Some(TOKEN),
    );
    assert_eq!(unknown.code, 2);
    assert_transcript!("health-unknown-service", unknown);
    let unchanging = run_in(
        dir.path(),
        &["health", "matrix.yaml", "--service", "catalog"],
        Some(TOKEN),
    );
    assert_eq!(unchanging.code, 2);
    assert_transcript!("health-unchanging-service", unchanging);
    let missing = run_in(dir.path(), &["health", "nowhere.yaml"], None);
    assert_eq!(missing.code, 2, "{}", missing.transcript());
}

#[test]
fn an_invalid_matrix_is_reported_like_plan_does() {
    let dir = workspace(
        "version: 1\nservices:\n  orders:\n    current: 1.9.0\n    target: 2.0.0\n    releases:\n      1.9.0: {}\n",
    );
    let human = run_in(dir.path(), &["health", "matrix.yaml"], None);
    assert_eq!(human.code, 1);
    assert_transcript!("health-invalid-matrix", human);
    let json = run_in(
        dir.path(),
        &["health", "matrix.yaml", "--format", "json"],
        None,
    );
    assert_eq!(json.code, 1);
    assert_eq!(
        json.json(),
        serde_json::json!({"healthy": false, "services": []})
    );
    assert!(json.stderr.contains("unknown-release"), "{}", json.stderr);
}

#[test]
fn plan_check_health_refuses_while_a_green_side_is_unhealthy() {
    let dir = workspace(&shop());
    let out = dir.path().join("plan.json");
    let human = run_in(
        dir.path(),
        &["plan", "matrix.yaml", "--check-health", "-o", "plan.txt"],
        Some(TOKEN),
    );
    assert_eq!(human.code, 1, "{}", human.transcript());
    assert!(human.stdout.is_empty());
    assert!(!dir.path().join("plan.txt").exists(), "no plan is written");
    assert_transcript!("plan-check-health-unhealthy-human", human);

    let json = run_in(
        dir.path(),
        &["plan", "matrix.yaml", "--check-health", "--format", "json"],
        Some(TOKEN),
    );
    assert_eq!(json.code, 1, "{}", json.transcript());
    assert_transcript!("plan-check-health-unhealthy-json", json);
    let doc = json.json();
    assert_eq!(doc["feasible"], false);
    assert_eq!(doc["waves"], serde_json::json!([]));
    assert_eq!(doc["health"]["healthy"], false);
    assert_eq!(
        doc["explanation"]["summary"],
        "no plan while the green sides of `cart`, `payments`, `shipping` are not healthy"
    );

    let markdown = run_in(
        dir.path(),
        &[
            "plan",
            "matrix.yaml",
            "--check-health",
            "--format",
            "markdown",
        ],
        Some(TOKEN),
    );
    assert_eq!(markdown.code, 1);
    assert_transcript!("plan-check-health-unhealthy-markdown", markdown);
    assert!(!out.exists());
}

#[test]
fn plan_check_health_plans_when_every_green_side_is_healthy() {
    let dir = workspace(&shop());
    let mut args = vec![
        "plan",
        "matrix.yaml",
        "--check-health",
        "--concurrency",
        "1",
    ];
    args.extend(ONLY_HEALTHY);
    let human = run_in(dir.path(), &args, Some(TOKEN));
    assert_eq!(human.code, 0, "{}", human.transcript());
    assert_transcript!("plan-check-health-healthy-human", human);

    args.extend(["--format", "json"]);
    let json = run_in(dir.path(), &args, Some(TOKEN));
    assert_eq!(json.code, 0, "{}", json.transcript());
    let doc = json.json();
    assert_eq!(doc["feasible"], true);
    assert_eq!(doc["health"]["healthy"], true);
    assert_eq!(
        doc["waves"][0]["services"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn plan_without_check_health_sends_nothing() {
    let dir = workspace(&shop());
    let doc = run_in(
        dir.path(),
        &["plan", "matrix.yaml", "--format", "json"],
        None,
    )
    .json();
    assert_eq!(doc["feasible"], true);
    assert!(doc.get("health").is_none());
}
