//! `cutover execute PLAN`, `cutover resume JOURNAL`, `cutover rollback JOURNAL`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cutover_executor::{
    ActuatorGate, Cloud, DryRun, HealthGate, NoHealthGate, Outcome as RunOutcome, RunError,
    RunReport, Runner, SdkCloud, Settings,
};

use super::{Outcome, write_stdout};
use crate::cli::{ExecuteArgs, JournalArgs, RunArgs};
use crate::progress::Progress;

/// Which run.
enum Command<'a> {
    Execute { plan: &'a Path, journal: PathBuf },
    Resume { journal: &'a Path },
    Rollback { journal: &'a Path },
}

/// `cutover execute`.
pub fn execute(args: &ExecuteArgs) -> anyhow::Result<Outcome> {
    let journal = args
        .journal
        .clone()
        .unwrap_or_else(|| default_journal(&args.plan));
    let command = Command::Execute {
        plan: &args.plan,
        journal,
    };
    run(command, &args.run, args.dry_run)
}

/// `cutover resume`.
pub fn resume(args: &JournalArgs) -> anyhow::Result<Outcome> {
    run(
        Command::Resume {
            journal: &args.journal,
        },
        &args.run,
        false,
    )
}

/// `cutover rollback`.
pub fn rollback(args: &JournalArgs) -> anyhow::Result<Outcome> {
    run(
        Command::Rollback {
            journal: &args.journal,
        },
        &args.run,
        false,
    )
}

/// `plan.json` → `plan.journal.jsonl`, next to the plan.
fn default_journal(plan: &Path) -> PathBuf {
    let stem = plan
        .file_stem()
        .map_or_else(|| "plan".into(), |s| s.to_string_lossy().into_owned());
    plan.with_file_name(format!("{stem}.journal.jsonl"))
}

fn run(command: Command<'_>, args: &RunArgs, dry_run: bool) -> anyhow::Result<Outcome> {
    let settings = Settings {
        rollback: !args.no_rollback,
        retire_blue: args.retire_blue,
        dry_run,
        lock_table: args.lock_table.clone(),
        gate_timeout: args.gate_timeout,
        poll_interval: args.poll_interval,
        ..Settings::default()
    };
    let options = args.aws.options();
    let runtime = tokio::runtime::Runtime::new()?;
    // For `rollback`, ending on blue is the success.
    let wanted = match command {
        Command::Rollback { .. } => RunOutcome::RolledBack,
        _ => RunOutcome::Succeeded,
    };
    runtime.block_on(async move {
        let cloud = SdkCloud::connect(&options).await;
        let progress = Arc::new(Progress::new(std::io::stderr().is_terminal()));
        if dry_run {
            let report = start(
                DryRun::new(cloud),
                NoHealthGate,
                settings,
                progress.clone(),
                command,
            )
            .await;
            progress.finish();
            // A run that could not start has no calls to show: its error comes alone.
            if let Ok((_, calls)) = &report {
                let mut text = String::from(
                    "AWS calls a real run would make, in order (nothing was changed):\n",
                );
                for call in calls {
                    text.push_str(&format!("  {call}\n"));
                }
                write_stdout(&text)?;
            }
            conclude(report.map(|(report, _)| report), wanted)
        } else {
            let gate = ActuatorGate::new(|name| std::env::var(name).ok());
            let report = start(cloud, gate, settings, progress.clone(), command).await;
            progress.finish();
            conclude(report.map(|(report, _)| report), wanted)
        }
    })
}

/// Something that can list the calls it made (only dry runs do).
trait Calls {
    fn calls(&self) -> Vec<String>;
}

impl Calls for SdkCloud {
    fn calls(&self) -> Vec<String> {
        Vec::new()
    }
}

impl<C> Calls for DryRun<C> {
    fn calls(&self) -> Vec<String> {
        DryRun::calls(self)
    }
}

async fn start<C: Cloud + Calls + 'static, G: HealthGate>(
    cloud: C,
    gate: G,
    settings: Settings,
    progress: Arc<Progress>,
    command: Command<'_>,
) -> Result<(RunReport, Vec<String>), RunError> {
    let (cancel, cancelled) = tokio::sync::watch::channel(false);
    let runner = Runner::new(cloud, gate, settings, progress, cancelled);
    crate::signals::watch(cancel, runner.halter());
    let report = match command {
        Command::Execute { plan, journal } => runner.execute(plan, &journal).await?,
        Command::Resume { journal } => runner.resume(journal).await?,
        Command::Rollback { journal } => runner.rollback(journal).await?,
    };
    Ok((report, runner.cloud().calls()))
}

/// Prints the summary and picks the exit code: 0 for the `wanted` outcome
/// (or nothing to do), refusals and failures are a "no" (1), unreadable
/// or malformed files are usage and I/O errors (2).
fn conclude(report: Result<RunReport, RunError>, wanted: RunOutcome) -> anyhow::Result<Outcome> {
    match report {
        Ok(report) => {
            write_stdout(&crate::progress::summary(&report))?;
            Ok(Outcome::from_bool(
                report.outcome == wanted || report.outcome == RunOutcome::NothingToDo,
            ))
        }
        Err(error @ (RunError::Read { .. } | RunError::Journal(_) | RunError::BadFile { .. })) => {
            Err(error.into())
        }
        Err(error) => {
            crate::output::print_error(&anyhow::Error::new(error));
            Ok(Outcome::No)
        }
    }
}
