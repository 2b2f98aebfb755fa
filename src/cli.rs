//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Safe ordering and execution of multi-service Blue/Green cutovers on Amazon ECS.
#[derive(Debug, Parser)]
#[command(name = "cutover", version = env!("CUTOVER_VERSION"), about, propagate_version = true)]
pub struct Cli {
    /// Log every step (`-v` info, `-vv` debug) to stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check compatibility matrices; exit 1 when any has errors.
    Validate(ValidateArgs),
    /// Work out the safe order of switches (the waves) for a matrix.
    Plan(PlanArgs),
    /// Draw the compatibility graph, the ordering constraints and the waves.
    Graph(GraphArgs),
    /// Check the green side of changing services through Spring Boot Actuator;
    /// exit 1 when any is not healthy.
    Health(HealthArgs),
    /// Print the JSON Schema of the matrix format.
    Schema,
    /// Carry out a saved plan on AWS, wave by wave, rolling back on failure.
    Execute(ExecuteArgs),
    /// Continue an interrupted run from its journal, after re-reading live state.
    Resume(ResumeArgs),
    /// Return every service of a run's plan to its recorded blue, in reverse order.
    Rollback(JournalArgs),
    /// Break the lock a dead run left on a plan's services (shows it, then asks).
    Unlock(UnlockArgs),
    /// Print a shell completion script (`cutover completions bash > /etc/bash_completion.d/cutover`).
    Completions(CompletionsArgs),
    /// Print the man page (roff), e.g. `cutover man > /usr/local/share/man/man1/cutover.1`.
    Man,
}

/// Arguments of `completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// How runs talk to AWS and behave.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Leave things as they are on failure, for inspection.
    #[arg(long)]
    pub no_rollback: bool,
    /// After the last wave has baked, scale the blue ECS services and Auto
    /// Scaling groups to 0 (recording their size, for `rollback`).
    #[arg(long)]
    pub retire_blue: bool,
    /// DynamoDB table for the lock (hash key `lock_key`, a string).
    #[arg(long, value_name = "TABLE")]
    pub lock_table: Option<String>,
    /// How long a gate may take to pass (1s to 24h).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = gate_timeout)]
    pub gate_timeout: std::time::Duration,
    /// Pause between polls, and between health checks during bake (100ms to 1h).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = poll_interval)]
    pub poll_interval: std::time::Duration,
    /// POST one JSON object per event of the run to this webhook URL
    /// (repeatable; Slack and Teams incoming webhooks show its `text`). The
    /// URL is never printed or journaled, only its host.
    /// (Checked by the command, not by clap, whose errors repeat the value.)
    #[arg(long, value_name = "URL")]
    pub notify: Vec<String>,
    /// Human progress and summary, or one JSON run report on stdout.
    #[arg(long, value_enum, default_value_t = RunFormat::Human)]
    pub format: RunFormat,
    /// AWS access.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// How `execute`, `resume` and `rollback` report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    /// Progress on stderr, a summary table on stdout.
    Human,
    /// Progress on stderr, one JSON run report on stdout.
    Json,
}

/// When to stop between waves.
#[derive(Debug, clap::Args)]
pub struct WaveArgs {
    /// Stop after wave N has switched and baked (repeatable); `cutover
    /// resume JOURNAL` continues with the next wave.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub pause_after: Vec<u32>,
    /// Ask before each wave (y/N; anything but y stops as a pause). Needs a
    /// terminal.
    #[arg(long)]
    pub confirm: bool,
    /// When to prepare each green (image or AMI, capacity, readiness): in
    /// its wave, or all of them at the start, concurrently.
    #[arg(long, value_enum, default_value_t = PrepareWhen::PerWave)]
    pub prepare: PrepareWhen,
}

/// `--prepare`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PrepareWhen {
    /// Each green in its wave, right before its gates.
    PerWave,
    /// Every green at the start, concurrently; it runs its new release
    /// before its providers switch, but takes no traffic until its wave.
    Ahead,
}

/// Arguments of `resume`.
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// The journal of the run.
    #[arg(value_name = "JOURNAL")]
    pub journal: PathBuf,
    /// Pauses and confirmations.
    #[command(flatten)]
    pub waves: WaveArgs,
    /// AWS access and behaviour.
    #[command(flatten)]
    pub run: RunArgs,
}

/// How to reach AWS: the standard credential chain, with these overrides.
#[derive(Debug, clap::Args)]
pub struct AwsArgs {
    /// AWS profile from the shared config files.
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// AWS region.
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (moto, LocalStack).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[cfg(feature = "aws")]
impl AwsArgs {
    /// The executor's options.
    pub fn options(&self) -> cutover_executor::AwsOptions {
        cutover_executor::AwsOptions {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

/// Arguments of `execute`.
#[derive(Debug, clap::Args)]
pub struct ExecuteArgs {
    /// A plan written by `cutover plan --format json -o FILE`.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// The journal (default: next to the plan, `NAME.journal.jsonl`).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Print every AWS call it would make, in order, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Pauses and confirmations.
    #[command(flatten)]
    pub waves: WaveArgs,
    /// AWS access and behaviour.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Arguments of `resume` and `rollback`.
#[derive(Debug, clap::Args)]
pub struct JournalArgs {
    /// The journal of the run.
    #[arg(value_name = "JOURNAL")]
    pub journal: PathBuf,
    /// AWS access and behaviour.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Arguments of `unlock`.
#[derive(Debug, clap::Args)]
pub struct UnlockArgs {
    /// The plan whose services' leases to break.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// The DynamoDB lock table.
    #[arg(long, value_name = "TABLE")]
    pub lock_table: String,
    /// Break the leases without asking.
    #[arg(long)]
    pub force: bool,
    /// AWS access.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Parses `500ms`, `2s`, `1m30s` within `min..=max`.
fn bounded_duration(
    text: &str,
    min: std::time::Duration,
    max: std::time::Duration,
    bounds: &str,
) -> Result<std::time::Duration, String> {
    let duration = cutover_planner::parse_duration(text).ok_or_else(|| {
        format!("expected a duration such as `500ms`, `30s` or `1m30s`, found `{text}`")
    })?;
    if duration < min || duration > max {
        return Err(format!("`{text}` is out of bounds: {bounds}"));
    }
    Ok(duration)
}

fn gate_timeout(text: &str) -> Result<std::time::Duration, String> {
    let hour = std::time::Duration::from_secs(3600);
    bounded_duration(
        text,
        std::time::Duration::from_secs(1),
        24 * hour,
        "a gate timeout is 1s to 24h",
    )
}

fn poll_interval(text: &str) -> Result<std::time::Duration, String> {
    bounded_duration(
        text,
        std::time::Duration::from_millis(100),
        std::time::Duration::from_secs(3600),
        "a poll interval is 100ms to 1h",
    )
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
    /// Count warnings as errors: exit 1 (and `"valid": false`) when there is any.
    #[arg(long)]
    pub strict: bool,
}

/// Which releases to plan: the matrix, with optional command-line overrides.
#[derive(Debug, clap::Args)]
pub struct MatrixArgs {
    /// The matrix file.
    #[arg(value_name = "MATRIX")]
    pub matrix: PathBuf,
    /// Cut `SERVICE` over to release `VERSION` (overrides its `target`); repeatable.
    #[arg(long = "target", value_name = "SERVICE=VERSION", value_parser = parse_pair)]
    pub targets: Vec<(String, String)>,
    /// Treat `VERSION` as the release `SERVICE` serves now (overrides its `current`); repeatable.
    #[arg(long = "current", value_name = "SERVICE=VERSION", value_parser = parse_pair)]
    pub currents: Vec<(String, String)>,
}

/// Output format of `plan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// A report for the terminal.
    Human,
    /// The plan document as JSON (what `execute` reads).
    Json,
    /// The plan document as YAML.
    Yaml,
    /// Markdown for pull-request comments and job summaries.
    Markdown,
}

/// Arguments of `plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The matrix and overrides.
    #[command(flatten)]
    pub matrix: MatrixArgs,
    /// Output format [default: from the extension of `-o` (`.json`, `.yaml`,
    /// `.yml`, `.md`), else human].
    #[arg(long, value_enum)]
    pub format: Option<PlanFormat>,
    /// Write the plan to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Check the green side of every changing service first; make no plan
    /// while any is not healthy.
    #[arg(long)]
    pub check_health: bool,
    /// Services checked at once with `--check-health`.
    #[arg(long, value_name = "N", default_value_t = 32, requires = "check_health",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// Read each route on AWS and record the target group it forwards to as
    /// blue (`blue.source: observed`), instead of assuming the first one.
    #[arg(long)]
    pub observe: bool,
    /// AWS access for `--observe`.
    #[command(flatten)]
    pub aws: AwsArgs,
}

impl PlanArgs {
    /// The output format: `--format`, else the one `-o FILE`'s extension
    /// names, else human. `--format` contradicting the extension is an error.
    pub fn output_format(&self) -> Result<PlanFormat, String> {
        let by_extension = self.output.as_deref().and_then(|path| {
            let extension = path.extension()?.to_str()?.to_ascii_lowercase();
            match extension.as_str() {
                "json" => Some(PlanFormat::Json),
                "yaml" | "yml" => Some(PlanFormat::Yaml),
                "md" | "markdown" => Some(PlanFormat::Markdown),
                _ => None,
            }
        });
        match (self.format, by_extension) {
            (Some(given), Some(named)) if given != named => Err(format!(
                "`-o {}` names a {} file, but `--format {}` was given; drop `--format` or change the extension",
                self.output
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                named.describe(),
                given.name()
            )),
            (Some(given), _) => Ok(given),
            (None, Some(named)) => Ok(named),
            (None, None) => Ok(PlanFormat::Human),
        }
    }
}

impl PlanFormat {
    /// The value of `--format`.
    pub fn name(self) -> &'static str {
        match self {
            PlanFormat::Human => "human",
            PlanFormat::Json => "json",
            PlanFormat::Yaml => "yaml",
            PlanFormat::Markdown => "markdown",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            PlanFormat::Human => "text",
            PlanFormat::Json => "JSON",
            PlanFormat::Yaml => "YAML",
            PlanFormat::Markdown => "Markdown",
        }
    }
}

/// Output format of `graph`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// A Mermaid flowchart (renders in GitHub Markdown).
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// Arguments of `graph`.
#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// The matrix and overrides.
    #[command(flatten)]
    pub matrix: MatrixArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    pub format: GraphFormat,
}

/// Output format of `health`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HealthFormat {
    /// A table for the terminal, problems below each service.
    Human,
    /// `{"healthy": bool, "services": [...]}`.
    Json,
}

/// Arguments of `health`.
#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// The matrix and overrides.
    #[command(flatten)]
    pub matrix: MatrixArgs,
    /// Check only this changing service; repeatable.
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HealthFormat::Human)]
    pub format: HealthFormat,
    /// Services checked at once.
    #[arg(long, value_name = "N", default_value_t = 32,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
}

/// Parses `SERVICE=VERSION`.
fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((service, version)) if !service.is_empty() && !version.is_empty() => {
            Ok((service.to_owned(), version.to_owned()))
        }
        _ => Err(format!("expected SERVICE=VERSION, found `{text}`")),
    }
}
