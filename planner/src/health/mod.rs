//! Green health checks through Spring Boot Actuator.
//!
//! For each changing service, `cutover` reads `{health}/health` and
//! `{health}/info` on the green side: the status must be `UP`, every required
//! component present and `UP`, and `/info` must report the target release.
//!
//! The parts, one per file:
//! - `actuator`: the pure reading of Actuator answers (status,
//!   component tree, version), for Spring Boot 1.x, 2.x and 3.x;
//! - `assess`: turns answers into the problems people read;
//! - `fetch`: one GET with retries, backoff, a body cap and error
//!   classification;
//! - `checker`: the [`HealthChecker`] with bounded concurrency;
//! - `target` and `settings`: what to check, built from the matrix;
//! - `report` and `render`: the result as data (JSON) and as text;
//! - `secret`: the bearer token, which never shows in any output.

mod actuator;
mod assess;
mod checker;
mod fetch;
mod render;
mod report;
mod secret;
mod settings;
mod target;

pub use checker::{HealthChecker, HealthError};
pub use render::render_health;
pub use report::{HealthReport, ServiceHealth};
pub use secret::Secret;
pub use settings::HealthSettings;
pub use target::{HealthTarget, HealthTargetError, health_targets};
