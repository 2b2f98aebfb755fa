//! Parses, or parses, validates and plans, a synthetic matrix of N services,
//! once: for profilers and instruction counters (`valgrind --tool=callgrind`),
//! beside the timing benchmark `benches/planning.rs`.
//!
//! Run: `cargo run --release -p cutover-planner --example synthetic -- 10000 plan`
//! (or `parse`).

// An example program: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

use cutover_planner::{Limits, load, synthetic_matrix, validate_bytes};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let services: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let what = args.next().unwrap_or_else(|| "plan".to_owned());
    let yaml = synthetic_matrix(services, 42);
    let limits = Limits::for_services(services);
    match what.as_str() {
        "parse" => {
            let (_, document) = load("synthetic.yaml", yaml.as_bytes(), &limits);
            println!("parsed: {}", document.is_ok());
        }
        "plan" => {
            let validated = validate_bytes("synthetic.yaml", yaml.as_bytes(), &limits);
            match validated.plan() {
                Some(Ok(plan)) => println!("{} waves", plan.waves.len()),
                _ => {
                    eprintln!("the synthetic matrix did not plan");
                    std::process::exit(1);
                }
            }
        }
        other => {
            eprintln!("expected `parse` or `plan`, found `{other}`");
            std::process::exit(2);
        }
    }
}
