//! The planning half of `cutover`: the compatibility matrix (format v1), its
//! validation with line-level diagnostics, the safe ordering of Blue/Green
//! switches, and the Actuator health checks of green sides.
//!
//! ```
//! use cutover_planner::{Limits, validate_bytes};
//!
//! let yaml = "version: 1\nservices:\n  orders:\n    current: 1.0.0\n    releases:\n      1.0.0: {}\n";
//! let validated = validate_bytes("matrix.yaml", yaml.as_bytes(), &Limits::default());
//! assert!(validated.is_valid());
//! ```

mod compat;
mod deployment;
mod diagnostic;
mod document;
mod explain;
mod fast;
mod graph;
mod health;
mod matrix;
mod order;
mod overrides;
pub mod render;
mod schema;
mod source;
mod synthetic;
mod validate;
pub mod yaml;

pub use compat::{Catalog, Mismatch, join_versions};
pub use deployment::{
    BlueDoc, BlueSource, CheckDoc, ConsumerDoc, DEFAULT_BAKE, DeployDoc, EcsDoc, HealthDoc,
    consumers_with_alarms, default_steps, deploy_doc,
};
pub use diagnostic::{Code, Diagnostic, DiagnosticRecord, Label, Severity, sort_diagnostics};
pub use document::{
    BrokenStateDoc, ConflictDoc, ConstraintDoc, CycleDoc, Explanation, HintDoc, MatrixRef,
    PLAN_FORMAT_VERSION, PlanDocument, Position, Problem, StepDoc, WaveDoc, relative_path,
    sha256_hex, summary,
};
pub use explain::{Change, Hint};
pub use graph::{dot, mermaid};
pub use health::{
    HealthChecker, HealthError, HealthReport, HealthSettings, HealthTarget, HealthTargetError,
    Secret, ServiceHealth, health_targets, render_health,
};
pub use matrix::{
    Check, Consumed, DEFAULT_CHECK_TIMEOUT, Defaults, Deploy, EcsServices, HealthDefaults, Limits,
    Located, MAX_BAKE, MAX_CHECK_TIMEOUT, MAX_HEALTH_TIMEOUT, Matrix, Provided, Release, Service,
    Strategy, load, parse_duration,
};
pub use order::{BrokenState, Conflict, Constraint, Cycle, NoSafeOrder, Plan, Step, Wave, plan};
pub use overrides::{OverrideError, Overrides, apply_overrides};
pub use schema::json_schema;
pub use source::SourceFile;
pub use synthetic::synthetic_matrix;
pub use validate::{
    State, Validated, check, state_mismatches, validate_bytes, validate_with_overrides,
};
