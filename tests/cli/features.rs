//! Cargo features: the slim build (`--no-default-features`) plans and
//! validates without the AWS SDK, and says how to get what it leaves out.

use super::*;

/// The packages `cutover` builds with, for the given feature flags.
fn normal_dependencies(flags: &[&str]) -> Vec<String> {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree", "-p", "cutover", "-e", "normal", "--prefix", "none", "--locked",
        ])
        .args(flags)
        .current_dir(root())
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split(' ').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_slim_build_has_no_aws_sdk_and_no_http_stack() {
    let slim = normal_dependencies(&["--no-default-features"]);
    let heavy: Vec<&String> = slim
        .iter()
        .filter(|p| {
            p.starts_with("aws-")
                || [
                    "reqwest",
                    "hyper",
                    "h2",
                    "rustls",
                    "tokio",
                    "cutover-health",
                ]
                .contains(&p.as_str())
        })
        .collect();
    assert!(heavy.is_empty(), "{heavy:?}");
    assert!(slim.iter().any(|p| p == "cutover-planner"));
    let full = normal_dependencies(&[]);
    assert!(full.iter().any(|p| p == "aws-sdk-elasticloadbalancingv2"));
}

/// The slim binary, built by `scripts/test`.
fn slim() -> PathBuf {
    let path = std::env::var_os("CUTOVER_SLIM_BIN")
        .map(PathBuf::from)
        .expect("CUTOVER_SLIM_BIN names the slim build; run the tests with `scripts/test`");
    assert!(
        path.is_file(),
        "{} is missing; run `scripts/test`",
        path.display()
    );
    path
}

fn run_slim(args: &[&str]) -> Run {
    let output = Command::new(slim())
        .args(args)
        .current_dir(root())
        .output()
        .expect("the slim cutover runs");
    Run {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn the_slim_build_plans_and_says_how_to_get_the_rest() {
    let plan = run_slim(&["plan", "matrices/shop.yaml", "--format", "json"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert_eq!(
        plan.stdout,
        cutover(&["plan", "matrices/shop.yaml", "--format", "json"]).stdout
    );
    assert_eq!(run_slim(&["validate", "matrices/shop.yaml"]).code, 0);
    let mut refusals = Vec::new();
    for args in [
        &["execute", "plan.json"][..],
        &["rollback", "plan.journal.jsonl"],
        &["plan", "matrices/shop.yaml", "--observe"],
        &["plan", "matrices/shop.yaml", "--check-health"],
        &["health", "matrices/shop.yaml"],
    ] {
        let run = run_slim(args);
        assert_eq!(run.code, 2, "{}", run.transcript());
        refusals.push(format!("$ cutover {}\n{}", args.join(" "), run.stderr));
    }
    insta::assert_snapshot!(refusals.join("\n"));
}
