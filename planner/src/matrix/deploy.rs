//! Deployment and health settings: `services.*.deploy` and `defaults`.

use std::time::Duration;

use super::Located;
use crate::yaml::Span;

/// The longest `bake` accepted (`24h`).
pub const MAX_BAKE: Duration = Duration::from_secs(24 * 3600);

/// The longest `defaults.health.timeout` accepted per Actuator request (`5m`);
/// it must also be more than zero.
pub const MAX_HEALTH_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The longest `timeout` of an integration check (`1h`); it must also be
/// more than zero.
pub const MAX_CHECK_TIMEOUT: Duration = Duration::from_secs(3600);

/// A check's timeout when the matrix gives none (`5m`).
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// An integration check run against green before the production switch
/// (`deploy.checks`, `defaults.deploy.checks`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Its name, unique among the checks of a service.
    pub name: Located<String>,
    /// The command, run by `sh -c` from the matrix file's folder.
    pub run: Located<String>,
    /// How long it may run ([`DEFAULT_CHECK_TIMEOUT`] when not given).
    pub timeout: Duration,
}

/// How traffic moves from blue to green.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// One switch: 100 % to green.
    AllAtOnce,
    /// A first small step, then the rest (`steps`).
    Canary,
    /// Equal steps (`steps`).
    Linear,
}

impl Strategy {
    /// The names accepted in the matrix.
    pub const NAMES: &'static [&'static str] = &["all-at-once", "canary", "linear"];

    /// The name the matrix uses: `all-at-once`, `canary`, `linear`.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::AllAtOnce => "all-at-once",
            Strategy::Canary => "canary",
            Strategy::Linear => "linear",
        }
    }

    /// Reads a strategy name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "all-at-once" => Some(Strategy::AllAtOnce),
            "canary" => Some(Strategy::Canary),
            "linear" => Some(Strategy::Linear),
            _ => None,
        }
    }
}

/// The two ECS services behind the two target groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcsServices {
    /// The ECS cluster.
    pub cluster: String,
    /// ECS service names, in the same order as `target_groups`.
    pub services: Vec<Located<String>>,
    /// The container that gets the release's image (`ecs.container`); when
    /// absent, the one container whose image repository matches the image's.
    pub container: Option<String>,
    /// Where the `ecs` mapping is written.
    pub span: Span,
}

/// The two Auto Scaling groups of a service (`deploy.asg`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsgGroups {
    /// Group names: in the order of `target_groups`, or the two groups that
    /// take turns behind `target_group`.
    pub groups: Vec<Located<String>>,
    /// Where the `asg` mapping is written.
    pub span: Span,
}

/// `services.NAME.deploy`: where a service runs and how it is switched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deploy {
    /// Actuator base URL that reaches the green side.
    pub health: Option<Located<String>>,
    /// Actuator base URL that reaches the production route (blue), whose
    /// `/info` must report the `current` release before any change.
    pub live_health: Option<Located<String>>,
    /// Components that must be present and UP (overrides the default).
    pub require: Option<Vec<String>>,
    /// Production listener ARN.
    pub listener: Option<Located<String>>,
    /// Listener rule ARN to switch instead of the default action.
    pub rule: Option<Located<String>>,
    /// The blue/green pair of target group ARNs, each with its position.
    pub target_groups: Option<Vec<Located<String>>>,
    /// The one target group that blue's and green's Auto Scaling groups
    /// attach to in turn (instead of `target_groups` and a route).
    pub target_group: Option<Located<String>>,
    /// Test listener pointed at green before the health checks.
    pub test_listener: Option<Located<String>>,
    /// ECS services behind the target groups.
    pub ecs: Option<EcsServices>,
    /// Auto Scaling groups behind the target groups (or `target_group`).
    pub asg: Option<AsgGroups>,
    /// Per-service strategy.
    pub strategy: Option<Strategy>,
    /// Per-service traffic steps in percent.
    pub steps: Option<Located<Vec<u32>>>,
    /// Per-service bake time.
    pub bake: Option<Duration>,
    /// CloudWatch alarms of this service (added to `defaults.deploy.alarms`).
    pub alarms: Vec<Located<String>>,
    /// Integration checks of this service (run before the defaults' checks).
    pub checks: Vec<Check>,
}

/// Where the strategy in force for a service is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StrategySource {
    /// Its own `deploy.strategy`.
    Service,
    /// `defaults.deploy.strategy`.
    Defaults,
    /// Nowhere: `all-at-once`.
    Unset,
}

impl Deploy {
    /// The strategy in force for this service, and where it is set.
    pub(crate) fn strategy_in_force(&self, defaults: &Defaults) -> (Strategy, StrategySource) {
        match (self.strategy, defaults.strategy) {
            (Some(strategy), _) => (strategy, StrategySource::Service),
            (None, Some(strategy)) => (strategy, StrategySource::Defaults),
            (None, None) => (Strategy::AllAtOnce, StrategySource::Unset),
        }
    }
}

/// `defaults.health`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HealthDefaults {
    /// Per-request timeout.
    pub timeout: Option<Duration>,
    /// Extra attempts on transient failures.
    pub retries: Option<u32>,
    /// Components that must be present and UP.
    pub require: Vec<String>,
    /// Name of the environment variable that holds a bearer token.
    pub token_env: Option<String>,
}

impl HealthDefaults {
    /// Per-request timeout when `defaults.health.timeout` is not set.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
    /// Extra attempts when `defaults.health.retries` is not set.
    pub const DEFAULT_RETRIES: u32 = 2;
}

/// `defaults`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Defaults {
    /// Health check defaults.
    pub health: HealthDefaults,
    /// Default strategy.
    pub strategy: Option<Strategy>,
    /// Default traffic steps in percent.
    pub steps: Option<Located<Vec<u32>>>,
    /// Default bake time.
    pub bake: Option<Duration>,
    /// CloudWatch alarms watched for every switch.
    pub alarms: Vec<Located<String>>,
    /// Integration checks run for every switch, after the service's own.
    pub checks: Vec<Check>,
}
