//! `scripts/demo`: the commands a user types, against moto and Actuator
//! stand-ins, with the routes shown as a person reads them.

use super::*;

#[test]
fn the_demo_runs_the_real_commands_and_shows_the_routes() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_cutover"));
    let sandbox = bin
        .parent()
        .expect("target dir")
        .join("examples")
        .join("sandbox");
    let output = Command::new("bash")
        .arg(root().join("scripts/demo"))
        .env("CUTOVER_BIN", &bin)
        .env("CUTOVER_SANDBOX", &sandbox)
        .output()
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "$ cutover validate matrix.yaml",
        "$ cutover plan matrix.yaml -o plan.json",
        "$ cutover execute plan.json --endpoint-url http://127.0.0.1:",
        "  `ledger`: 100 % to `ledger-a` (blue)",
        "  `gateway`: 100 % to `gateway-b` (green)",
        "  `web`: 100 % to `web-b` (green)",
        "outcome: succeeded",
        "$ cutover rollback plan.journal.jsonl",
        "outcome: rolled-back",
    ] {
        assert!(stdout.contains(expected), "`{expected}` in:\n{stdout}");
    }
    let folder = stdout
        .lines()
        .last()
        .and_then(|line| line.rsplit(' ').next())
        .expect("the folder");
    for file in ["matrix.yaml", "plan.json", "plan.journal.jsonl"] {
        assert!(Path::new(folder).join(file).is_file(), "{folder}/{file}");
    }
    std::fs::remove_dir_all(folder).expect("clean up");
}
