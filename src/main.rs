//! `cutover`: safe multi-service Blue/Green cutovers on Amazon ECS.
//!
//! The binary only parses arguments, calls the libraries, renders results and
//! maps outcomes to exit codes: 0 ok, 1 "the answer is no" (invalid matrix, no
//! safe order, unhealthy, failed cutover), 2 usage or I/O error.

mod cli;
mod commands;
#[cfg(feature = "aws")]
mod fault;
mod output;
#[cfg(feature = "aws")]
mod progress;
#[cfg(feature = "aws")]
mod signals;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: large matrices build and free millions of small values, where
/// glibc's allocator made whole-run times swing by half (see the README's
/// benchmark figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if cli.verbose > 0 {
        let level = if cli.verbose > 1 { "debug" } else { "info" };
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
                "cutover={level},cutover_executor={level}"
            )))
            .init();
    }
    match commands::run(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(error) => {
            output::print_error(&error);
            commands::Outcome::UsageOrIo.exit_code()
        }
    }
}
