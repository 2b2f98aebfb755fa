//! Validate a matrix and print its safe order of switches, the way
//! `cutover plan` does, through the library.
//!
//! Run: `cargo run --example plan_a_release -- matrices/shop.yaml`

// An example program: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

use cutover_planner::{Limits, PlanDocument, render, validate_bytes};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "matrices/shop.yaml".to_owned());
    let bytes = std::fs::read(&path)?;
    let validated = validate_bytes(&path, &bytes, &Limits::default());
    for diagnostic in &validated.diagnostics {
        let record = diagnostic.to_record(&validated.source);
        eprintln!(
            "{}:{}:{}: {}: {}",
            record.file, record.line, record.column, record.code, record.message
        );
    }
    let result = validated.plan();
    let document = PlanDocument::new(&validated, result.as_ref());
    print!("{}", render::human(&document));
    if !document.feasible {
        std::process::exit(1);
    }
    Ok(())
}
