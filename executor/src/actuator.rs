//! The [`HealthGate`] of real runs: the planner's Actuator checker, with the
//! settings and token the plan names.

use std::time::Duration;

use cutover_planner::{HealthChecker, HealthDoc, HealthSettings, HealthTarget, Secret};

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
        let settings = HealthSettings {
            timeout: Duration::from_millis(health.timeout_ms),
            retries: health.retries,
            ..HealthSettings::default()
        };
        let token = match &health.token_env {
            None => None,
            Some(name) => Some(Secret::new(
                (self.env)(name)
                    .filter(|token| !token.is_empty())
                    .ok_or_else(|| {
                        format!(
                            "the environment variable `{name}` with the Actuator token is not set"
                        )
                    })?,
            )),
        };
        let target = HealthTarget {
            service: service.to_owned(),
            url: Some(health.url.clone()),
            expected_version: semver::Version::parse(version).ok(),
            require: health.require.clone(),
            token,
            ..HealthTarget::default()
        };
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
