//! One module per command; each returns an [`Outcome`] that decides the exit code.

#[cfg(feature = "aws")]
mod execute;
mod graph;
#[cfg(feature = "health")]
mod health;
mod plan;
mod planning;
#[cfg(feature = "aws")]
mod unlock;
mod validate;

use std::io::Write;
use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Everything is fine.
    Ok,
    /// The answer is no: invalid matrix, no safe order, unhealthy, failed cutover.
    No,
    /// Bad usage or an I/O error.
    UsageOrIo,
}

impl Outcome {
    /// The process exit code: 0, 1 or 2.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Ok => ExitCode::SUCCESS,
            Outcome::No => ExitCode::from(1),
            Outcome::UsageOrIo => ExitCode::from(2),
        }
    }

    /// `Ok` when `yes`, `No` otherwise.
    pub fn from_bool(yes: bool) -> Self {
        if yes { Outcome::Ok } else { Outcome::No }
    }
}

/// Runs the chosen command.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Graph(args) => graph::run(&args),
        #[cfg(feature = "aws")]
        Command::Execute(args) => execute::execute(&args),
        #[cfg(feature = "aws")]
        Command::Resume(args) => execute::resume(&args),
        #[cfg(feature = "aws")]
        Command::Rollback(args) => execute::rollback(&args),
        #[cfg(feature = "aws")]
        Command::Unlock(args) => unlock::run(&args),
        #[cfg(not(feature = "aws"))]
        Command::Execute(_) | Command::Resume(_) | Command::Rollback(_) | Command::Unlock(_) => {
            missing_feature("aws", "`execute`, `resume`, `rollback` and `unlock`")
        }
        #[cfg(feature = "health")]
        Command::Health(args) => health::run(&args),
        #[cfg(not(feature = "health"))]
        Command::Health(_) => missing_feature("health", "`health`"),
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut command, "cutover", &mut script);
            write_stdout(&String::from_utf8_lossy(&script))?;
            Ok(Outcome::Ok)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut page)?;
            write_stdout(&String::from_utf8_lossy(&page))?;
            Ok(Outcome::Ok)
        }
        Command::Schema => {
            write_stdout(cutover_planner::json_schema())?;
            Ok(Outcome::Ok)
        }
    }
}

/// The error of a command that this build leaves out (exit 2), saying how
/// to get a build that has it.
#[cfg(not(all(feature = "aws", feature = "health")))]
pub fn missing_feature(feature: &str, commands: &str) -> anyhow::Result<Outcome> {
    let need = if commands.contains(" and ") {
        "need"
    } else {
        "needs"
    };
    anyhow::bail!(
        "{commands} {need} the `{feature}` feature, which this cutover was built without; \
         install the full build with `cargo install --locked --path .` (or build with \
         `--features {feature}`)"
    )
}

/// Writes to stdout, ending with a newline; a closed pipe is not an error.
pub fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let result = stdout
        .write_all(text.as_bytes())
        .and_then(|()| {
            if text.ends_with('\n') {
                Ok(())
            } else {
                stdout.write_all(b"\n")
            }
        })
        .and_then(|()| stdout.flush());
    match result {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Writes `text` to `path`, or to stdout when there is none.
pub fn write_output(path: Option<&std::path::Path>, text: &str) -> anyhow::Result<()> {
    match path {
        None => write_stdout(text),
        Some(path) => std::fs::write(path, text)
            .map_err(|error| anyhow::anyhow!("cannot write `{}`: {error}", path.display())),
    }
}

/// Reads a matrix file; the error names the path.
pub fn read_matrix(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|error| anyhow::anyhow!("cannot read `{}`: {error}", path.display()))
}
