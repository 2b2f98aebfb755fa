//! The Actuator gate: is green healthy and running the target release?
//! Behind a trait so that runs can be tested without HTTP.

use std::future::Future;

use crate::cutover::ServiceSwitch;

/// Checks the application health of a service's green side.
pub trait HealthGate: Send + Sync + 'static {
    /// `Ok` when green is healthy and runs `switch.to`; otherwise the reasons,
    /// in words. A switch without `health` passes.
    fn check(&self, switch: &ServiceSwitch) -> impl Future<Output = Result<(), String>> + Send;

    /// `Ok` when the Actuator behind the production route
    /// (`switch.live_health`) reports `switch.from`, the release the plan
    /// assumes is serving; a switch without `live_health` passes.
    fn check_live(
        &self,
        switch: &ServiceSwitch,
    ) -> impl Future<Output = Result<(), String>> + Send {
        let _ = switch;
        async { Ok(()) }
    }
}

/// A gate that always passes (for plans without Actuator endpoints, and dry runs).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHealthGate;

impl HealthGate for NoHealthGate {
    async fn check(&self, _switch: &ServiceSwitch) -> Result<(), String> {
        Ok(())
    }
}
