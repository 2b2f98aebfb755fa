//! When no safe order exists the planner returns the facts (conflicting
//! pairs, cycles, broken states) and verified hints; this prints them.
//!
//! Run: `cargo run --example explain_a_conflict`

// An example program: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

use cutover_planner::{Limits, validate_bytes};

const MATRIX: &str = r#"
version: 1
services:
  payments:
    current: 1.4.0
    target: 2.0.0
    releases:
      1.4.0: {provides: {payments-api: 1.4.0}}
      2.0.0: {provides: {payments-api: 2.0.0}}
  orders:
    current: 1.9.0
    target: 2.0.0
    releases:
      1.9.0: {consumes: {payments-api: "^1.4"}}
      2.0.0: {consumes: {payments-api: "^2"}}
"#;

fn main() {
    let validated = validate_bytes("inline.yaml", MATRIX.as_bytes(), &Limits::default());
    match validated.plan() {
        None => println!(
            "invalid matrix: {} diagnostics",
            validated.diagnostics.len()
        ),
        Some(Ok(plan)) => println!("safe in {} waves", plan.waves.len()),
        Some(Err(no)) => {
            println!("{}", cutover_planner::summary(&no));
            for hint in &no.hints {
                println!("hint: {}", hint.describe());
            }
        }
    }
}
