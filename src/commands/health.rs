//! `cutover health MATRIX [--service NAME]... [--format human|json]`

use cutover_health::{HealthChecker, HealthReport, health_targets, render_health};
use cutover_planner::Matrix;

use super::planning::load;
use super::{Outcome, write_stdout};
use crate::cli::{HealthArgs, HealthFormat};
use crate::output::{print_diagnostics_to_stderr, render_diagnostics};

/// Checks the green sides and prints the report; exit 1 when any is unhealthy.
pub fn run(args: &HealthArgs) -> anyhow::Result<Outcome> {
    let validated = load(&args.matrix)?;
    let Some(matrix) = validated.valid_matrix() else {
        let diagnostics = render_diagnostics(&validated.source, &validated.diagnostics);
        let verdict = format!(
            "error: {} is invalid; no health check was made\n",
            validated.source.path()
        );
        match args.format {
            HealthFormat::Human => write_stdout(&(diagnostics + &verdict))?,
            HealthFormat::Json => {
                print_diagnostics_to_stderr(&validated.source, &validated.diagnostics);
                let nothing_checked = HealthReport {
                    healthy: false,
                    services: Vec::new(),
                };
                write_stdout(&serde_json::to_string_pretty(&nothing_checked)?)?;
            }
        }
        return Ok(Outcome::No);
    };
    print_diagnostics_to_stderr(&validated.source, &validated.diagnostics);
    let services = (!args.services.is_empty()).then_some(args.services.as_slice());
    let report = check_green(matrix, services, args.concurrency)?;
    let text = match args.format {
        HealthFormat::Human => render_health(&report),
        HealthFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
    };
    write_stdout(&text)?;
    Ok(Outcome::from_bool(report.healthy))
}

/// Checks the green side of the changing services (all, or `services`),
/// `concurrency` at a time, on a runtime of its own. The bearer token is read
/// from the environment variable the matrix names.
pub fn check_green(
    matrix: &Matrix,
    services: Option<&[String]>,
    concurrency: u16,
) -> anyhow::Result<HealthReport> {
    let (targets, mut settings) =
        health_targets(matrix, services, |name| std::env::var(name).ok())?;
    settings.concurrency = usize::from(concurrency);
    let checker = HealthChecker::new(settings)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| anyhow::anyhow!("cannot start the async runtime: {error}"))?;
    Ok(runtime.block_on(checker.check_all(&targets)))
}
