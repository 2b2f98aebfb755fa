//! What `plan`, `graph` and `health` share: read the matrix, apply overrides, validate, plan.

use cutover_planner::{Limits, NoSafeOrder, Overrides, Plan, Validated, validate_with_overrides};

use super::read_matrix;
use crate::cli::MatrixArgs;

/// A validated matrix and, when it is valid, the planner's answer.
pub struct Planned {
    /// The matrix and its diagnostics.
    pub validated: Validated,
    /// `None` when the matrix is invalid.
    pub result: Option<Result<Plan, NoSafeOrder>>,
}

/// Reads, validates and plans; I/O and override errors are usage errors.
pub fn load_and_plan(args: &MatrixArgs) -> anyhow::Result<Planned> {
    let validated = load(args)?;
    let result = validated.plan();
    Ok(Planned { validated, result })
}

/// Reads and validates, with the overrides applied.
pub fn load(args: &MatrixArgs) -> anyhow::Result<Validated> {
    let bytes = read_matrix(&args.matrix)?;
    let overrides = Overrides {
        current: args.currents.clone(),
        target: args.targets.clone(),
    };
    let path = args.matrix.display().to_string();
    Ok(validate_with_overrides(
        &path,
        &bytes,
        &Limits::default(),
        &overrides,
    )?)
}
