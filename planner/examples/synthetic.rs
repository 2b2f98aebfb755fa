//! Parses (bare `serde_yaml`, bare `serde-saphyr`, or the planner's reader), validates, or plans a
//! generated release matrix of N services, once: for profilers and
//! instruction counters (`valgrind --tool=callgrind`), beside the timing
//! benchmark `benches/planning.rs`. Prints the file size and how much the
//! peak resident set (`VmHWM`) grew during the run.
//!
//! Run: `cargo run --release -p cutover-planner --example synthetic -- 10000 plan`
//! (or `bare`, `saphyr`, `parse`, `validate`, `generate`).

// An example program: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

use cutover_planner::{Limits, load, release_matrix, validate_bytes};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../benches/support/plain.rs"]
mod plain;
use plain::PlainMatrix;

/// The peak resident set so far, in bytes (Linux; 0 elsewhere).
fn peak_rss() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|kb| {
                    kb.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<usize>()
                        .ok()
                })
        })
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let services: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let what = args.next().unwrap_or_else(|| "plan".to_owned());
    let yaml = release_matrix(services, 42);
    let limits = Limits::for_services(services);
    let before = peak_rss();
    let outcome = match what.as_str() {
        "generate" => "generated".to_owned(),
        "bare" => match serde_yaml::from_str::<PlainMatrix>(&yaml) {
            Ok(matrix) => format!("{} services", matrix.services.len()),
            Err(error) => {
                eprintln!("{error}");
                std::process::exit(1);
            }
        },
        "saphyr" => match plain::saphyr_parse(&yaml, &limits) {
            Ok(matrix) => format!("{} services", matrix.services.len()),
            Err(error) => {
                eprintln!("{error}");
                std::process::exit(1);
            }
        },
        "parse" => {
            let (_, document) = load("release.yaml", yaml.as_bytes(), &limits);
            format!("parsed: {}", document.is_ok())
        }
        "validate" => {
            let validated = validate_bytes("release.yaml", yaml.as_bytes(), &limits);
            format!("valid: {}", validated.is_valid())
        }
        "plan" => {
            let validated = validate_bytes("release.yaml", yaml.as_bytes(), &limits);
            match validated.plan() {
                Some(Ok(plan)) => format!(
                    "{} changing services in {} waves",
                    plan.waves.iter().map(|w| w.services.len()).sum::<usize>(),
                    plan.waves.len()
                ),
                _ => {
                    eprintln!("the generated matrix did not plan");
                    std::process::exit(1);
                }
            }
        }
        other => {
            eprintln!(
                "expected `bare`, `saphyr`, `parse`, `validate`, `plan` or `generate`, found `{other}`"
            );
            std::process::exit(2);
        }
    };
    let grew = peak_rss().saturating_sub(before);
    println!(
        "{outcome}; file {:.2} MB; peak memory grew {:.1} MB ({:.1}x the file)",
        yaml.len() as f64 / 1e6,
        grew as f64 / 1e6,
        grew as f64 / yaml.len() as f64
    );
}
