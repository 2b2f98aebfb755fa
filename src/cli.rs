//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Safe ordering and execution of multi-service Blue/Green cutovers on Amazon ECS.
#[derive(Debug, Parser)]
#[command(name = "cutover", version, about, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check compatibility matrices; exit 1 when any has errors.
    Validate(ValidateArgs),
    /// Print the JSON Schema of the matrix format.
    Schema,
}

/// Output format of `validate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// rustc-style snippets.
    Human,
    /// `{"valid": bool, "diagnostics": [...]}`.
    Json,
    /// GitHub Actions workflow commands (`::error file=…::…`).
    Github,
}

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Matrix files to check.
    #[arg(required = true, value_name = "MATRIX")]
    pub matrices: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Human)]
    pub format: ValidateFormat,
}
