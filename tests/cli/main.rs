//! End-to-end tests of the `cutover` binary: exit codes and what people read.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root, where `matrices/` lives.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cutover ARGS` from the workspace root.
fn cutover(args: &[&str]) -> Run {
    cutover_with_env(args, &[])
}

/// Runs `cutover ARGS` from the workspace root with extra environment variables.
fn cutover_with_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    cutover_in(&root(), args, env)
}

/// Runs `cutover ARGS` in the working directory `dir` with extra environment variables.
fn cutover_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .current_dir(dir)
        .env_remove("ACTUATOR_TOKEN")
        .env_remove("AWS_PROFILE")
        .envs(env.iter().copied())
        .output()
        .expect("cutover runs");
    Run {
        code: output.status.code().expect("exited normally"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Fake AWS credentials (moto accepts any) and no instance-metadata lookups.
const AWS_ENV: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// Runs `cutover ARGS` from the workspace root with [`AWS_ENV`].
fn cutover_aws(args: &[&str]) -> Run {
    cutover_with_env(args, &AWS_ENV)
}

/// `cutover plan MATRIX --format json -o PLAN`, which must succeed.
fn plan_json(matrix: &Path, plan: &Path) {
    let run = cutover(&[
        "plan",
        matrix.to_str().expect("utf-8"),
        "--format",
        "json",
        "-o",
        plan.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Exit code and both streams, for snapshots.
    fn transcript(&self) -> String {
        format!(
            "exit code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// The path of a matrix relative to the root, with `/` separators.
fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .expect("under the root")
        .to_string_lossy()
        .replace('\\', "/")
}

mod action;
mod demo;
mod execute;
mod features;
mod first_hour;
mod gates;
mod groups;
mod health;
mod msrv;
mod plan;
#[cfg(unix)]
mod recovery;
mod validate;
