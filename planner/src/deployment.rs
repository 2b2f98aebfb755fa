//! The deployment facts the executor needs for one service, resolved from
//! `services.*.deploy` and `defaults` and written into the plan document, so
//! that a saved plan carries everything execution needs.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::compat::Catalog;
use crate::matrix::arn::{ArnKind, ArnShape, arn_shape};
use crate::matrix::{Check, HealthDefaults, Matrix, Service, Strategy};

/// Bake time when neither the service nor `defaults.deploy` sets one.
pub const DEFAULT_BAKE: Duration = Duration::from_secs(60);

/// How one service is switched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployDoc {
    /// Production listener ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener: Option<String>,
    /// Listener rule ARN switched instead of the listener's default action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The two target group ARNs.
    #[serde(default)]
    pub target_groups: Vec<String>,
    /// The one target group blue's and green's Auto Scaling groups attach
    /// to in turn (instead of a route and `target_groups`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group: Option<String>,
    /// Test listener pointed at green before the gates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_listener: Option<String>,
    /// The ECS services behind the target groups, in the same order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecs: Option<EcsDoc>,
    /// The Auto Scaling groups behind the target groups, in the same order
    /// (or the two that take turns behind `target_group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asg: Option<AsgDoc>,
    /// The target release's image, deployed to green before the switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The target release's AMI, launched by green's group before the switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami: Option<String>,
    /// The current release's AMI: what blue's instances must run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_ami: Option<String>,
    /// The Actuator check of green.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthDoc>,
    /// The current release's image: what blue's app container must run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_image: Option<String>,
    /// The Actuator that reaches the production route: its `/info` must
    /// report the current release before any change (`deploy.live_health`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_health: Option<HealthDoc>,
    /// `all-at-once`, `canary` or `linear`.
    pub strategy: Strategy,
    /// Percent of traffic on green after each step; ends at 100.
    pub steps: Vec<u32>,
    /// Watch time after each step, in milliseconds.
    pub bake_ms: u64,
    /// Which target group serves production now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue: Option<BlueDoc>,
    /// The service's own CloudWatch alarms (`deploy.alarms`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<String>,
    /// The alarms watched for every switch (`defaults.deploy.alarms`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_alarms: Vec<String>,
    /// Integration checks run against green before the production switch:
    /// the service's own, then the defaults'.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckDoc>,
    /// The services that consume this one directly (changing or not) and
    /// have alarms: watched while this service switches and bakes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumers: Vec<ConsumerDoc>,
}

/// An integration check: a command run by `sh -c` from the matrix's folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckDoc {
    /// Its name.
    pub name: String,
    /// The command.
    pub run: String,
    /// How long it may run, in milliseconds.
    pub timeout_ms: u64,
}

/// A direct consumer of a service, with its alarms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerDoc {
    /// The consuming service.
    pub service: String,
    /// The APIs (or the service name) it consumes from the provider, sorted.
    pub consumes: Vec<String>,
    /// Its CloudWatch alarms.
    pub alarms: Vec<String>,
}

/// ECS cluster and services.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcsDoc {
    /// The cluster.
    pub cluster: String,
    /// Service names, in the order of `target_groups`.
    pub services: Vec<String>,
    /// The container that gets the release's image; when absent, the one
    /// container whose image repository matches the image's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

/// The two Auto Scaling groups of a service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsgDoc {
    /// Group names, in the order of `target_groups` (or blue's and green's
    /// behind `target_group`).
    pub groups: Vec<String>,
}

/// Where and how green's Actuator is checked. Never holds a token, only the
/// name of the environment variable that holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthDoc {
    /// Actuator base URL.
    pub url: String,
    /// Components that must be UP.
    #[serde(default)]
    pub require: Vec<String>,
    /// Name of the environment variable with the bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// Per-request timeout in milliseconds.
    pub timeout_ms: u64,
    /// Extra attempts on transient errors.
    pub retries: u32,
}

/// The blue target group and how the plan knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlueDoc {
    /// The target group ARN that receives production traffic.
    pub target_group: String,
    /// With `target_group`, the Auto Scaling group attached to it: blue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `observed` (read from the live listener by `plan --observe`) or
    /// `assumed` (the first of `target_groups`).
    pub source: BlueSource,
}

/// How the plan knows which side is blue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlueSource {
    /// Read from the live route when planning.
    Observed,
    /// The first target group, not checked when planning.
    Assumed,
}

/// A route the executor switches, typed once by the planner: the default
/// action of a listener, or one listener rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteDoc {
    /// A listener's default action (listener ARN).
    Listener(String),
    /// One listener rule (listener-rule ARN).
    Rule(String),
}

impl RouteDoc {
    /// The ARN.
    pub fn arn(&self) -> &str {
        match self {
            RouteDoc::Listener(arn) | RouteDoc::Rule(arn) => arn,
        }
    }
}

impl DeployDoc {
    /// The production route: `rule` when set (only that rule switches),
    /// else the `listener`'s default action; `None` when neither is set.
    pub fn route(&self) -> Option<RouteDoc> {
        match (&self.rule, &self.listener) {
            (Some(rule), _) => Some(RouteDoc::Rule(rule.clone())),
            (None, Some(listener)) => Some(RouteDoc::Listener(listener.clone())),
            (None, None) => None,
        }
    }

    /// The test route pointed at green before the gates: a listener-rule ARN
    /// in `test_listener` switches only that rule, a listener ARN the
    /// listener's default action. The kind is read from the ARN's shape by
    /// the same reader `validate` checks it with.
    pub fn test_route(&self) -> Option<RouteDoc> {
        self.test_listener.as_ref().map(|arn| match arn_shape(arn) {
            ArnShape::Is(ArnKind::ListenerRule) => RouteDoc::Rule(arn.clone()),
            _ => RouteDoc::Listener(arn.clone()),
        })
    }
}

/// A deployment fact `execute` needs to carry a service out, and that the
/// service lacks. `validate` warns about these (`not-executable`) and the
/// executor refuses a plan for them, both through [`missing_facts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MissingFact {
    /// Neither `deploy.listener` nor `deploy.rule`: no production route to switch.
    Route,
    /// Not the two `deploy.target_groups`, blue and green.
    TargetGroups,
}

impl DeployDoc {
    /// Whether blue's and green's Auto Scaling groups take turns behind one
    /// `target_group` (no route switches).
    pub fn attaches_groups(&self) -> bool {
        self.target_group.is_some() && self.asg.is_some()
    }
}

impl MissingFact {
    /// The field(s) to set, as the matrix spells them.
    pub fn field(self) -> &'static str {
        match self {
            MissingFact::Route => "`deploy.listener` (or `deploy.rule`)",
            MissingFact::TargetGroups => "`deploy.target_groups`",
        }
    }
}

/// Every fact `execute` needs that `deploy` lacks (`None`: the service has
/// no `deploy` at all), all at once; empty when it can be carried out. The
/// other checks of the executor (two different target groups, steps that
/// end at 100, ...) are `validate` errors of their own.
pub fn missing_facts(deploy: Option<&DeployDoc>) -> Vec<MissingFact> {
    let mut missing = Vec::new();
    if deploy.is_some_and(DeployDoc::attaches_groups) {
        return missing;
    }
    if deploy.and_then(DeployDoc::route).is_none() {
        missing.push(MissingFact::Route);
    }
    if deploy.is_none_or(|d| d.target_groups.len() != 2) {
        missing.push(MissingFact::TargetGroups);
    }
    missing
}

/// "`deploy.listener` (or `deploy.rule`) and `deploy.target_groups` are not set".
pub fn describe_missing(missing: &[MissingFact]) -> String {
    let fields: Vec<&str> = missing.iter().map(|m| m.field()).collect();
    match fields.as_slice() {
        [] => "nothing is missing".to_owned(),
        [one] => format!("{one} is not set"),
        [init @ .., last] => format!("{} and {last} are not set", init.join(", ")),
    }
}

/// The steps of a strategy when the matrix gives none.
pub fn default_steps(strategy: Strategy) -> Vec<u32> {
    match strategy {
        Strategy::AllAtOnce => vec![100],
        Strategy::Canary => vec![10, 100],
        Strategy::Linear => vec![25, 50, 75, 100],
    }
}

/// The deployment facts of `service`, or `None` when it has no `deploy`
/// routing at all (such a plan can be read but not executed).
pub fn deploy_doc(matrix: &Matrix, service: &Service) -> Option<DeployDoc> {
    let deploy = &service.deploy;
    let defaults = &matrix.defaults;
    let routed = deploy.listener.is_some()
        || deploy.target_groups.is_some()
        || deploy.target_group.is_some();
    if !routed && deploy.health.is_none() {
        return None;
    }
    let (strategy, _) = deploy.strategy_in_force(defaults);
    let steps = match strategy {
        Strategy::AllAtOnce => vec![100],
        _ => deploy
            .steps
            .as_ref()
            .or(defaults.steps.as_ref())
            .map_or_else(|| default_steps(strategy), |steps| steps.value.clone()),
    };
    let target_groups: Vec<String> = deploy
        .target_groups
        .as_ref()
        .map(|list| list.iter().map(|t| t.value.clone()).collect())
        .unwrap_or_default();
    let target = service.release(service.target_version());
    let current = service.release(&service.current.value);
    let image = target
        .and_then(|r| r.image.as_ref())
        .map(|i| i.value.clone());
    let groups: Option<Vec<String>> = deploy
        .asg
        .as_ref()
        .map(|asg| asg.groups.iter().map(|g| g.value.clone()).collect());
    let target_group = deploy.target_group.as_ref().map(|t| t.value.clone());
    let blue = match (&target_group, &groups) {
        (Some(single), Some(groups)) => Some(BlueDoc {
            target_group: single.clone(),
            group: groups.first().cloned(),
            source: BlueSource::Assumed,
        }),
        _ => target_groups.first().map(|tg| BlueDoc {
            target_group: tg.clone(),
            group: None,
            source: BlueSource::Assumed,
        }),
    };
    Some(DeployDoc {
        listener: deploy.listener.as_ref().map(|l| l.value.clone()),
        rule: deploy.rule.as_ref().map(|r| r.value.clone()),
        blue,
        target_groups,
        target_group,
        asg: groups.map(|groups| AsgDoc { groups }),
        ami: target.and_then(|r| r.ami.as_ref()).map(|a| a.value.clone()),
        current_ami: current
            .and_then(|r| r.ami.as_ref())
            .map(|a| a.value.clone()),
        test_listener: deploy.test_listener.as_ref().map(|t| t.value.clone()),
        ecs: deploy.ecs.as_ref().map(|e| EcsDoc {
            cluster: e.cluster.clone(),
            services: e.services.iter().map(|s| s.value.clone()).collect(),
            container: e.container.clone(),
        }),
        image,
        current_image: current
            .and_then(|r| r.image.as_ref())
            .map(|i| i.value.clone()),
        health: deploy.health.as_ref().map(|url| {
            health_doc(
                matrix,
                &url.value,
                deploy
                    .require
                    .clone()
                    .unwrap_or_else(|| defaults.health.require.clone()),
            )
        }),
        live_health: deploy
            .live_health
            .as_ref()
            .map(|url| health_doc(matrix, &url.value, Vec::new())),
        strategy,
        steps,
        bake_ms: duration_ms(deploy.bake.or(defaults.bake).unwrap_or(DEFAULT_BAKE)),
        alarms: deploy.alarms.iter().map(|a| a.value.clone()).collect(),
        default_alarms: defaults.alarms.iter().map(|a| a.value.clone()).collect(),
        checks: deploy
            .checks
            .iter()
            .chain(&defaults.checks)
            .map(check_doc)
            .collect(),
        consumers: Vec::new(),
    })
}

fn check_doc(check: &Check) -> CheckDoc {
    CheckDoc {
        name: check.name.value.clone(),
        run: check.run.value.clone(),
        timeout_ms: duration_ms(check.timeout),
    }
}

/// For each provider, its direct consumers that have alarms: a consumer is
/// a service whose current or target release consumes one of the provider's
/// APIs (or its name). One pass over the matrix; empty when no service has
/// alarms.
pub fn consumers_with_alarms(matrix: &Matrix) -> BTreeMap<String, Vec<ConsumerDoc>> {
    let mut by_provider: BTreeMap<String, Vec<ConsumerDoc>> = BTreeMap::new();
    let watched: Vec<&Service> = matrix
        .services
        .values()
        .filter(|s| !s.deploy.alarms.is_empty())
        .collect();
    if watched.is_empty() {
        return by_provider;
    }
    let catalog = Catalog::new(matrix);
    for consumer in watched {
        let mut consumed: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for version in [&consumer.current.value, consumer.target_version()] {
            let Some(release) = consumer.release(version) else {
                continue;
            };
            for name in release.consumes.keys() {
                if let Some(provider) = catalog
                    .provider_of(name)
                    .filter(|p| p.name != consumer.name)
                {
                    let apis = consumed.entry(&provider.name).or_default();
                    if !apis.contains(name) {
                        apis.push(name.clone());
                    }
                }
            }
        }
        for (provider, mut apis) in consumed {
            apis.sort();
            by_provider
                .entry(provider.to_owned())
                .or_default()
                .push(ConsumerDoc {
                    service: consumer.name.clone(),
                    consumes: apis,
                    alarms: consumer
                        .deploy
                        .alarms
                        .iter()
                        .map(|a| a.value.clone())
                        .collect(),
                });
        }
    }
    by_provider
}

/// An Actuator check at `url` with the matrix's health defaults.
fn health_doc(matrix: &Matrix, url: &str, require: Vec<String>) -> HealthDoc {
    let defaults = &matrix.defaults.health;
    HealthDoc {
        url: url.to_owned(),
        require,
        token_env: defaults.token_env.clone(),
        timeout_ms: duration_ms(defaults.timeout.unwrap_or(HealthDefaults::DEFAULT_TIMEOUT)),
        retries: defaults.retries.unwrap_or(HealthDefaults::DEFAULT_RETRIES),
    }
}

fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ELB: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012";

    fn doc() -> DeployDoc {
        DeployDoc {
            listener: Some(format!("{ELB}:listener/app/s/1/2")),
            rule: None,
            target_groups: Vec::new(),
            target_group: None,
            test_listener: None,
            ecs: None,
            asg: None,
            image: None,
            ami: None,
            current_ami: None,
            health: None,
            current_image: None,
            live_health: None,
            strategy: Strategy::AllAtOnce,
            steps: vec![100],
            bake_ms: 0,
            blue: None,
            alarms: Vec::new(),
            default_alarms: Vec::new(),
            checks: Vec::new(),
            consumers: Vec::new(),
        }
    }

    #[test]
    fn routes_are_typed_once() {
        let mut deploy = doc();
        assert!(matches!(deploy.route(), Some(RouteDoc::Listener(_))));
        deploy.rule = Some(format!("{ELB}:listener-rule/app/s/1/2/3"));
        assert!(matches!(deploy.route(), Some(RouteDoc::Rule(_))));
        deploy.test_listener = Some(format!("{ELB}:listener-rule/app/s/1/2/4"));
        assert!(matches!(deploy.test_route(), Some(RouteDoc::Rule(_))));
        deploy.test_listener = Some(format!("{ELB}:listener/app/s/1/9"));
        assert!(matches!(deploy.test_route(), Some(RouteDoc::Listener(_))));
        deploy.listener = None;
        deploy.rule = None;
        assert_eq!(deploy.route(), None);
    }

    #[test]
    fn missing_facts_are_named_at_once() {
        let all = [MissingFact::Route, MissingFact::TargetGroups];
        assert_eq!(missing_facts(None), all);
        assert_eq!(
            describe_missing(&all),
            "`deploy.listener` (or `deploy.rule`) and `deploy.target_groups` are not set"
        );
        let mut deploy = doc();
        assert_eq!(missing_facts(Some(&deploy)), [MissingFact::TargetGroups]);
        deploy.target_groups = vec![
            format!("{ELB}:targetgroup/a/1"),
            format!("{ELB}:targetgroup/b/2"),
        ];
        assert_eq!(missing_facts(Some(&deploy)), []);
        deploy.listener = None;
        assert_eq!(missing_facts(Some(&deploy)), [MissingFact::Route]);
        assert_eq!(
            describe_missing(&[MissingFact::Route]),
            "`deploy.listener` (or `deploy.rule`) is not set"
        );
    }
}
