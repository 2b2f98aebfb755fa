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
    plan_json(&matrix, &plan);
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
    // Every missing fact at once, as `validate` names them (`not-executable`).
    assert!(
        run.stderr.contains(
            "`deploy.listener` (or `deploy.rule`) and `deploy.target_groups` are not set"
        ),
        "{}",
        run.stderr
    );
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

#[test]
fn execute_against_moto_dry_run_then_for_real() {
    use cutover_executor::sandbox::{MotoServer, Shop};
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (moto, shop) = runtime.block_on(async {
        let moto = MotoServer::start()
            .await
            .unwrap_or_else(|e| panic!("moto server is needed for this test: {e}"));
        let shop = Shop::build(&moto, &["service-a", "service-b"])
            .await
            .expect("shop");
        (moto, shop)
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let mut matrix =
        std::fs::read_to_string(root().join("matrices/minimal.yaml")).expect("minimal");
    matrix.push_str("defaults:\n  deploy: {strategy: linear, steps: [50, 100], bake: 10ms}\n");
    for name in ["service-a", "service-b"] {
        let deploy = shop.service(name).expect("service").deploy_yaml();
        matrix = matrix.replace(
            &format!("  {name}:\n    current: 1.0.0\n"),
            &format!("  {name}:\n{deploy}    current: 1.0.0\n"),
        );
    }
    std::fs::write(dir.path().join("matrix.yaml"), &matrix).expect("matrix");
    let plan = dir.path().join("plan.json");
    plan_json(&dir.path().join("matrix.yaml"), &plan);
    let endpoint = moto.endpoint_url();
    let common = [
        "--endpoint-url",
        endpoint.as_str(),
        "--region",
        "us-east-1",
        "--poll-interval",
        "100ms",
        "--lock-table",
        "cutover-locks",
    ];

    let mut args = vec!["execute", plan.to_str().expect("utf-8"), "--dry-run"];
    args.extend(common);
    let dry = cutover_aws(&args);
    assert_eq!(dry.code, 0, "{}", dry.transcript());
    let modifications: Vec<&str> = dry
        .stdout
        .lines()
        .filter(|l| l.contains("ModifyRule"))
        .collect();
    assert_eq!(
        modifications.len(),
        6,
        "per service: the test rule to green, then the 50 % and the 100 % step:\n{}",
        dry.stdout
    );
    assert!(
        dry.stdout
            .contains("PutItem cutover-locks lock_key=service-a"),
        "{}",
        dry.stdout
    );
    assert!(
        !dir.path().join("plan.journal.jsonl").exists(),
        "a dry run writes no journal"
    );

    let mut args = vec!["execute", plan.to_str().expect("utf-8")];
    args.extend(common);
    let real = cutover_aws(&args);
    assert_eq!(real.code, 0, "{}", real.transcript());
    assert!(
        real.stdout.contains("service-a  on green"),
        "{}",
        real.stdout
    );
    assert!(
        real.stdout.contains("outcome: succeeded"),
        "{}",
        real.stdout
    );
    assert!(
        real.stderr.contains("service-b: 50% of traffic on green"),
        "{}",
        real.stderr
    );
    let journal = dir.path().join("plan.journal.jsonl");
    assert!(journal.exists());

    // A second run of the same plan is stale now: blue moved.
    let again = cutover_aws(&args);
    assert_eq!(again.code, 1, "{}", again.transcript());
    assert!(again.stderr.contains("stale plan"), "{}", again.stderr);

    // Planning again with `--observe` takes today's green as the new blue:
    // the matrix needs no edit after a cutover.
    let plan2 = dir.path().join("plan2.json");
    let observed = cutover_aws(&[
        "plan",
        dir.path().join("matrix.yaml").to_str().expect("utf-8"),
        "--format",
        "json",
        "-o",
        plan2.to_str().expect("utf-8"),
        "--observe",
        "--endpoint-url",
        endpoint.as_str(),
        "--region",
        "us-east-1",
    ]);
    assert_eq!(observed.code, 0, "{}", observed.transcript());
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan2).expect("plan2")).expect("json");
    let blue = &doc["waves"][0]["services"][0]["deploy"]["blue"];
    assert_eq!(blue["source"], "observed", "{blue}");
    assert!(
        blue["target_group"]
            .as_str()
            .expect("arn")
            .contains("targetgroup/service-b-b/"),
        "{blue}"
    );
    let mut args = vec!["execute", plan2.to_str().expect("utf-8")];
    args.extend(common);
    let second = cutover_aws(&args);
    assert_eq!(second.code, 0, "{}", second.transcript());

    // Rolling back the second cutover from its journal puts both back on
    // its blue, in reverse order.
    let journal = dir.path().join("plan2.journal.jsonl");
    let mut args = vec!["rollback", journal.to_str().expect("utf-8")];
    args.extend(common);
    let back = cutover_aws(&args);
    assert_eq!(back.code, 0, "{}", back.transcript());
    assert!(
        back.stdout.contains("rolled back to blue"),
        "{}",
        back.stdout
    );
    let order: Vec<&str> = back
        .stderr
        .lines()
        .filter(|l| l.contains("back on blue"))
        .collect();
    assert!(
        order.len() == 2 && order[0].starts_with("service-a") && order[1].starts_with("service-b"),
        "{}",
        back.stderr
    );
    drop(moto);
}

#[test]
fn a_file_that_is_not_a_plan_is_a_usage_error() {
    let run = cutover(&["execute", "matrices/shop.yaml"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(run.stderr.contains("not a plan document"), "{}", run.stderr);
}

#[test]
fn durations_out_of_bounds_are_usage_errors() {
    for (flag, value) in [
        ("--poll-interval", "0s"),
        ("--poll-interval", "99ms"),
        ("--poll-interval", "2h"),
        ("--gate-timeout", "18446744073709551615s"),
        ("--gate-timeout", "25h"),
        ("--gate-timeout", "500ms"),
    ] {
        let run = cutover(&["execute", "plan.json", flag, value]);
        assert_eq!(run.code, 2, "{flag} {value}: {}", run.transcript());
        assert!(run.stderr.contains("out of bounds"), "{}", run.stderr);
    }
    let run = cutover(&["resume", "j.jsonl", "--poll-interval", "0s"]);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn a_misspelt_field_in_a_plan_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = saved_plan(dir.path());
    let text = std::fs::read_to_string(&plan).expect("plan");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    let mut doc = doc;
    doc["waves"][0]["services"][0]["deploy"] = serde_json::json!({
        "listener": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/1/2",
        "rulee": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/shop/1/2/3",
        "target_groups": [
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/1",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/b/2"
        ],
        "strategy": "all-at-once",
        "steps": [100],
        "bake_ms": 1000
    });
    std::fs::write(&plan, serde_json::to_string_pretty(&doc).expect("json")).expect("write");
    let run = cutover(&[
        "execute",
        plan.to_str().expect("utf-8"),
        "--endpoint-url",
        "http://127.0.0.1:9",
        "--region",
        "us-east-1",
    ]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        run.stderr.contains("unknown field `rulee`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_plan_of_another_format_version_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = saved_plan(dir.path());
    let text = std::fs::read_to_string(&plan)
        .expect("plan")
        .replace("\"format_version\": 1", "\"format_version\": 7");
    std::fs::write(&plan, text).expect("write");
    let run = cutover(&["execute", plan.to_str().expect("utf-8")]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        run.stderr.contains("has plan format version 7"),
        "{}",
        run.stderr
    );
}
