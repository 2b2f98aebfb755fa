//! `cutover plan MATRIX [--check-health]`

use cutover_health::render_health;
use cutover_planner::{PlanDocument, render};

use super::health::check_green;
use super::planning::load_and_plan;
use super::{Outcome, write_output};
use crate::cli::{PlanArgs, PlanFormat};
use crate::output::{print_diagnostics_to_stderr, print_to_stderr, render_diagnostics};

/// Plans the cutover and prints (or writes) the plan. With `--check-health`,
/// a feasible plan is only made while every green side is healthy.
pub fn run(args: &PlanArgs) -> anyhow::Result<Outcome> {
    let planned = load_and_plan(&args.matrix)?;
    let validated = &planned.validated;
    let mut doc = PlanDocument::new(validated, planned.result.as_ref());
    if let Some(output) = &args.output {
        doc.relocate_matrix(output);
    }
    if args.check_health
        && doc.feasible
        && let Some(matrix) = validated.valid_matrix()
    {
        doc.record_health(check_green(matrix, None, args.concurrency)?);
    }
    if args.observe && doc.feasible {
        let observed = tokio::runtime::Runtime::new()?.block_on(async {
            let cloud = cutover_executor::SdkCloud::connect(&args.aws.options()).await;
            let gate = cutover_executor::ActuatorGate::new(|name| std::env::var(name).ok());
            cutover_executor::observe_blue(cloud, gate, &mut doc).await
        });
        match observed {
            Ok(()) => {}
            Err(
                error @ cutover_executor::RunError::Cloud(
                    cutover_executor::CloudError::Service { .. }
                    | cutover_executor::CloudError::NotFound { .. },
                ),
            ) => return Err(error.into()),
            Err(error) => {
                crate::output::print_error(&anyhow::Error::new(error));
                return Ok(Outcome::No);
            }
        }
    }
    let text = match args.format {
        PlanFormat::Json => serde_json::to_string_pretty(&doc)? + "\n",
        PlanFormat::Yaml => serde_saphyr::to_string(&doc)?,
        PlanFormat::Markdown => render::markdown(&doc),
        PlanFormat::Human if planned.result.is_none() => {
            render_diagnostics(&validated.source, &validated.diagnostics)
                + &format!(
                    "error: {} is invalid; no plan was made\n",
                    validated.source.path()
                )
        }
        PlanFormat::Human => {
            print_diagnostics_to_stderr(&validated.source, &validated.diagnostics);
            if let Some(health) = &doc.health {
                print_to_stderr(&render_health(health));
                if !health.healthy {
                    print_to_stderr(&format!(
                        "no plan was made for {} (`--check-health`)\n",
                        validated.source.path()
                    ));
                    return Ok(Outcome::No);
                }
                print_to_stderr("\n");
            }
            render::human(&doc)
        }
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(Outcome::from_bool(doc.feasible))
}
