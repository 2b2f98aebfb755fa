//! Green health checks of `cutover` through Spring Boot Actuator.
//!
//! For each changing service, `cutover` reads `{health}/health` and
//! `{health}/info` on the green side: the status must be `UP`, every required
//! component present and `UP`, and `/info` must report the target release.
//! This crate holds the network side, so that the planner stays free of it.
//!
//! The parts, one per file:
//! - `actuator`: the pure reading of Actuator answers (status,
//!   component tree, version), for Spring Boot 1.x, 2.x and 3.x;
//! - `assess`: turns answers into the problems people read;
//! - `fetch`: one GET with retries, backoff, a body cap and error
//!   classification;
//! - `checker`: the [`HealthChecker`] with bounded concurrency;
//! - `settings`: timeouts, retries and limits;
//! - `target`: what to check, built from a matrix or from a plan (the one
//!   place that does);
//! - `secret`: the bearer token, which never shows in any output.
//!
//! The result, [`HealthReport`], is plain data of the planner (a checked
//! plan records it) and is re-exported here with its renderer.
//!
//! ```
//! use cutover_health::health_targets;
//! use cutover_planner::{Limits, validate_bytes};
//!
//! let yaml = "version: 1\nservices:\n  orders:\n    current: 1.0.0\n    target: 1.1.0\n    releases:\n      1.0.0: {}\n      1.1.0: {}\n";
//! let validated = validate_bytes("matrix.yaml", yaml.as_bytes(), &Limits::default());
//! let matrix = validated.valid_matrix().expect("valid");
//! let (targets, _settings) = health_targets(matrix, None, |_| None).expect("targets");
//! assert_eq!(targets[0].service, "orders");
//! assert_eq!(targets[0].url, None); // no `deploy.health`: fails closed
//! ```

mod actuator;
mod assess;
mod checker;
mod fetch;
mod secret;
mod settings;
mod target;

pub use checker::{HealthChecker, HealthError};
pub use cutover_planner::{HealthReport, ServiceHealth, render_health};
pub use secret::Secret;
pub use settings::HealthSettings;
pub use target::{HealthTarget, HealthTargetError, health_targets, plan_health_target};
