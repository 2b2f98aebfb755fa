//! The planning half of `cutover`: the compatibility matrix (format v1), its
//! validation with line-level diagnostics, the safe ordering of Blue/Green
//! switches. The Actuator checks of green sides live in `cutover-health`;
//! their result, [`HealthReport`], is data a checked plan records.
//!
//! ```
//! use cutover_planner::{Limits, validate_bytes};
//!
//! let yaml = "version: 1\nservices:\n  orders:\n    current: 1.0.0\n    releases:\n      1.0.0: {}\n";
//! let validated = validate_bytes("matrix.yaml", yaml.as_bytes(), &Limits::default());
//! assert!(validated.is_valid());
//! ```

// The modules read top-down as a DAG; each uses only those above it:
// source, yaml, diagnostic, and the leaves describe (words), duration
// and suggest (did you mean) → matrix (model and reading; overrides edit it)
// → deployment (the facts execution needs, resolved from the matrix) →
// compat (catalog, steady states) → validate, order → explain (hints from
// order's facts) → document → render, graph. The façade at the end of this
// file runs them in turn.
mod compat;
mod deployment;
mod describe;
mod diagnostic;
mod document;
mod duration;
mod explain;
mod fast;
mod graph;
mod health_render;
mod health_report;
mod matrix;
mod order;
mod overrides;
pub mod render;
mod schema;
mod source;
mod suggest;
mod synthetic;
mod validate;
pub mod yaml;

pub use compat::{Catalog, Mismatch, State, join_versions, state_mismatches};
pub use deployment::{
    AsgDoc, BlueDoc, BlueSource, CheckDoc, ConsumerDoc, DEFAULT_BAKE, DeployDoc, EcsDoc, HealthDoc,
    MissingFact, RouteDoc, consumers_with_alarms, default_steps, deploy_doc, describe_missing,
    missing_facts,
};
pub use describe::{
    constraint as describe_constraint, cycle_path, offer as describe_offer, plural,
};
pub use diagnostic::{Code, Diagnostic, DiagnosticRecord, Label, Severity, sort_diagnostics};
pub use document::{
    BrokenStateDoc, ConflictDoc, ConstraintDoc, CycleDoc, Explanation, HintDoc, MatrixRef,
    PLAN_FORMAT_VERSION, PlanDocument, Position, Problem, StepDoc, WaveDoc, relative_path,
    sha256_hex, summary,
};
pub use duration::{format_duration, parse_duration};
pub use explain::{Change, Hint, NoSafeOrder};
pub use graph::{dot, mermaid};
pub use health_render::render_health;
pub use health_report::{HealthReport, ServiceHealth};
pub use matrix::{
    AsgGroups, Check, Consumed, DEFAULT_CHECK_TIMEOUT, Defaults, Deploy, EcsServices,
    HealthDefaults, Limits, Located, MAX_BAKE, MAX_CHECK_TIMEOUT, MAX_HEALTH_TIMEOUT, Matrix,
    Provided, Release, Service, SortedMap, SortedMapIter, Strategy, Unread, load,
};
pub use order::{BrokenState, Conflict, Constraint, Cycle, Plan, Step, Wave};
pub use overrides::{OverrideError, Overrides, apply_overrides};
pub use schema::json_schema;
pub use source::SourceFile;
pub use synthetic::{release_matrix, synthetic_matrix};
pub use validate::{Validated, check, validate_bytes, validate_with_overrides};

/// Plans the cutover of a valid matrix: the minimal safe waves, or why none
/// exist (the facts from ordering, with hints derived from them).
pub fn plan(matrix: &Matrix) -> Result<Plan, NoSafeOrder> {
    order::analyse(matrix).map_err(|obstacles| explain::explain(matrix, obstacles))
}

impl Validated {
    /// Plans a valid matrix (`None` when it is not valid). The same as
    /// [`plan`] on [`valid_matrix`](Self::valid_matrix), without checking the
    /// current and target states again: validation already did.
    pub fn plan(&self) -> Option<Result<Plan, NoSafeOrder>> {
        self.valid_matrix().map(|matrix| {
            order::order_validated(matrix).map_err(|obstacles| explain::explain(matrix, obstacles))
        })
    }
}

impl Matrix {
    /// Reads a matrix from a file already in memory, collecting every problem.
    ///
    /// Returns the matrix (when the document could be read at all) and every
    /// diagnostic, structural and semantic, sorted by position.
    pub fn parse(source: SourceFile, limits: &Limits) -> Validated {
        let path = source.path().to_owned();
        validate_bytes(&path, source.text().as_bytes(), limits)
    }
}
