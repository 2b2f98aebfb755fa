//! The [`HealthGate`] of real runs: the Actuator checker of `cutover-health`,
//! with the settings and token the plan names.

use cutover_health::{HealthChecker, plan_health_target};
use cutover_planner::HealthDoc;

use crate::cutover::ServiceSwitch;
use crate::gate::HealthGate;

/// Looks up an environment variable by name.
type Env = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Checks green through Spring Boot Actuator (`/health` and `/info`).
pub struct ActuatorGate {
    env: Env,
}

impl ActuatorGate {
    /// A gate reading bearer tokens through `env` (the process environment
    /// in the binary), by the variable name the plan records.
    pub fn new(env: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        ActuatorGate { env: Box::new(env) }
    }
}

impl ActuatorGate {
    /// Checks the Actuator at `health` for `service`, expecting `version`.
    async fn check_at(
        &self,
        service: &str,
        health: &HealthDoc,
        version: &str,
    ) -> Result<(), String> {
        let (target, settings) = plan_health_target(service, health, version, &self.env);
        let checker = HealthChecker::new(settings).map_err(|e| e.to_string())?;
        let result = checker.check(&target).await;
        if result.ok {
            Ok(())
        } else {
            Err(result.problems.join("; "))
        }
    }
}

impl HealthGate for ActuatorGate {
    async fn check(&self, switch: &ServiceSwitch) -> Result<(), String> {
        match &switch.health {
            Some(health) => self.check_at(&switch.service, health, &switch.to).await,
            None => Ok(()),
        }
    }

    async fn check_live(&self, switch: &ServiceSwitch) -> Result<(), String> {
        match &switch.live_health {
            Some(health) => self.check_at(&switch.service, health, &switch.from).await,
            None => Ok(()),
        }
    }
}
