//! The Actuator gate: is green healthy and running the target release?
//! Behind a trait so that runs can be tested without HTTP.

use std::future::Future;

use crate::cutover::ServiceSwitch;

/// Checks the application health of a service's green side.
pub trait HealthGate: Send + Sync + 'static {
    /// `Ok` when green is healthy and runs `switch.to`; otherwise the reasons,
    /// in words. A switch without `health` passes.
    fn check(&self, switch: &ServiceSwitch) -> impl Future<Output = Result<(), String>> + Send;
}

/// A gate that always passes (for plans without Actuator endpoints, and dry runs).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHealthGate;

impl HealthGate for NoHealthGate {
    async fn check(&self, _switch: &ServiceSwitch) -> Result<(), String> {
        Ok(())
    }
}
