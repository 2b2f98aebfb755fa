//! `cutover execute PLAN`, `cutover resume JOURNAL`, `cutover rollback JOURNAL`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cutover_executor::{
    ActuatorGate, Cloud, DryRun, HealthGate, NoHealthGate, Outcome as RunOutcome, Prepare,
    RunError, RunReport, Runner, SdkCloud, Settings, Webhook,
};

use super::{Outcome, write_stdout};
use crate::cli::{ExecuteArgs, JournalArgs, PrepareWhen, ResumeArgs, RunArgs, RunFormat, WaveArgs};
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
    run(command, &args.run, Some(&args.waves), args.dry_run)
}

/// `cutover resume`.
pub fn resume(args: &ResumeArgs) -> anyhow::Result<Outcome> {
    run(
        Command::Resume {
            journal: &args.journal,
        },
        &args.run,
        Some(&args.waves),
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
        None,
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

fn run(
    command: Command<'_>,
    args: &RunArgs,
    waves: Option<&WaveArgs>,
    dry_run: bool,
) -> anyhow::Result<Outcome> {
    let notify = args
        .notify
        .iter()
        .map(|url| Webhook::parse(url))
        .collect::<Result<Vec<_>, _>>()?;
    let confirm = waves.is_some_and(|w| w.confirm);
    if confirm && !dry_run && !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "--confirm asks before each wave and needs a terminal to ask on; without one, use --pause-after N and approve with `cutover resume JOURNAL`"
        );
    }
    let format = args.format;
    let settings = Settings {
        pause_after: waves
            .map(|w| w.pause_after.iter().map(|n| *n as usize).collect())
            .unwrap_or_default(),
        notify,
        prepare: match waves.map(|w| w.prepare) {
            Some(PrepareWhen::Ahead) => Prepare::Ahead,
            _ => Prepare::PerWave,
        },
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
        let name = command.name();
        if dry_run {
            let report = start(
                DryRun::new(cloud),
                NoHealthGate,
                settings,
                progress.clone(),
                command,
                false,
            )
            .await;
            progress.finish();
            let calls = report
                .as_ref()
                .map(|(_, calls)| calls.clone())
                .unwrap_or_default();
            if format == RunFormat::Json {
                return conclude_json(name, report.map(|(r, _)| r), wanted, Some(&calls));
            }
            // A run that could not start has no calls to show: its error comes alone.
            if let Ok((report, _)) = &report {
                let mut text = String::from(
                    "AWS calls a real run would make, in order (nothing was changed):\n",
                );
                for call in calls {
                    text.push_str(&format!("  {call}\n"));
                }
                text.push_str(&crate::progress::checks_not_run(report));
                write_stdout(&text)?;
            }
            conclude(report.map(|(report, _)| report), wanted)
        } else {
            let gate = ActuatorGate::new(|name| std::env::var(name).ok());
            let report = start(cloud, gate, settings, progress.clone(), command, confirm).await;
            progress.finish();
            let report = report.map(|(report, _)| report);
            if format == RunFormat::Json {
                return conclude_json(name, report, wanted, None);
            }
            conclude(report, wanted)
        }
    })
}

impl Command<'_> {
    fn name(&self) -> &'static str {
        match self {
            Command::Execute { .. } => "execute",
            Command::Resume { .. } => "resume",
            Command::Rollback { .. } => "rollback",
        }
    }
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
    confirm: bool,
) -> Result<(RunReport, Vec<String>), RunError> {
    let (cancel, cancelled) = tokio::sync::watch::channel(false);
    let mut runner = Runner::new(cloud, gate, settings, progress.clone(), cancelled);
    if confirm {
        runner = runner.with_confirm(progress);
    }
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
            Ok(exit_of(&report, wanted))
        }
        Err(
            error @ (RunError::Read { .. }
            | RunError::Journal(_)
            | RunError::BadFile { .. }
            | RunError::Usage(_)),
        ) => Err(error.into()),
        Err(error) => {
            crate::output::print_error(&anyhow::Error::new(error));
            Ok(Outcome::No)
        }
    }
}

/// 0 for the wanted outcome, nothing to do, or a pause; 1 otherwise.
fn exit_of(report: &RunReport, wanted: RunOutcome) -> Outcome {
    Outcome::from_bool(
        matches!(report.outcome, o if o == wanted || o == RunOutcome::NothingToDo || o == RunOutcome::Paused),
    )
}

/// `--format json`: one run report on stdout. A run refused before it began
/// is reported as `failed`, with the refusal as its failure; usage and I/O
/// errors print nothing on stdout (exit 2).
fn conclude_json(
    command: &str,
    report: Result<RunReport, RunError>,
    wanted: RunOutcome,
    calls: Option<&[String]>,
) -> anyhow::Result<Outcome> {
    let (document, outcome) = match report {
        Ok(report) => (
            crate::progress::json_report(&report, calls),
            exit_of(&report, wanted),
        ),
        Err(
            error @ (RunError::Read { .. }
            | RunError::Journal(_)
            | RunError::BadFile { .. }
            | RunError::Usage(_)),
        ) => return Err(error.into()),
        Err(error) => {
            crate::output::print_error(&anyhow::Error::new(RunErrorText(error.to_string())));
            (
                crate::progress::json_refusal(command, &error.to_string()),
                Outcome::No,
            )
        }
    };
    write_stdout(&serde_json::to_string_pretty(&document)?)?;
    Ok(outcome)
}

/// An error already turned into its message.
#[derive(Debug)]
struct RunErrorText(String);

impl std::fmt::Display for RunErrorText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RunErrorText {}
