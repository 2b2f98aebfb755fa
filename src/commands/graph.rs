//! `cutover graph MATRIX --format mermaid|dot`

use cutover_planner::{dot, mermaid};

use super::planning::load_and_plan;
use super::{Outcome, write_stdout};
use crate::cli::{GraphArgs, GraphFormat};
use crate::output::render_diagnostics;

/// Draws the graph; a matrix without a safe order is drawn too (conflicts in red).
pub fn run(args: &GraphArgs) -> anyhow::Result<Outcome> {
    let planned = load_and_plan(&args.matrix)?;
    let (Some(matrix), Some(result)) = (planned.validated.valid_matrix(), &planned.result) else {
        let validated = &planned.validated;
        let text = render_diagnostics(&validated.source, &validated.diagnostics)
            + &format!(
                "error: {} is invalid; nothing to draw\n",
                validated.source.path()
            );
        write_stdout(&text)?;
        return Ok(Outcome::No);
    };
    let text = match args.format {
        GraphFormat::Mermaid => mermaid(matrix, result),
        GraphFormat::Dot => dot(matrix, result),
    };
    write_stdout(&text)?;
    Ok(Outcome::Ok)
}
