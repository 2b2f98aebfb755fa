//! `deploy`, `defaults` and the traffic settings they share: strategy, steps,
//! bake, and the health defaults, with the bounds of each duration.

use std::time::Duration;

use super::mapping::{keys, quoted_list};
use super::{Fields, Reader};
use crate::diagnostic::{Code, Diagnostic};
use crate::duration::parse_duration;
use crate::matrix::Located;
use crate::matrix::deploy::{
    AsgGroups, Defaults, Deploy, EcsServices, HealthDefaults, MAX_BAKE, MAX_HEALTH_TIMEOUT,
    Strategy,
};
use crate::yaml::{Node, Scalar, Value};

/// The range a duration field accepts, and how to say it.
pub(super) struct DurationBounds {
    /// Whether zero is allowed.
    pub(super) zero: bool,
    /// The longest accepted.
    pub(super) max: Duration,
    /// `at most `24h``, for the message.
    pub(super) text: &'static str,
    /// The fix.
    pub(super) hint: &'static str,
}

impl DurationBounds {
    fn contains(&self, duration: Duration) -> bool {
        (self.zero || !duration.is_zero()) && duration <= self.max
    }
}

const BAKE_BOUNDS: DurationBounds = DurationBounds {
    zero: true,
    max: MAX_BAKE,
    text: "at most `24h`",
    hint: "bake for `24h` or less; watch longer outside the cutover",
};

const TIMEOUT_BOUNDS: DurationBounds = DurationBounds {
    zero: false,
    max: MAX_HEALTH_TIMEOUT,
    text: "more than `0s` and at most `5m`",
    hint: "a request timeout of a few seconds is usual, e.g. `2s`",
};

impl Reader<'_> {
    pub(super) fn deploy(&mut self, node: &Node, service: &str) -> Deploy {
        let what = format!("`deploy` of {service}");
        let Some(fields) = self.fields(node, &what, keys::DEPLOY) else {
            return Deploy::default();
        };
        let string = |reader: &mut Self, key: &str| {
            fields
                .get(key)
                .and_then(|n| reader.string(n, &format!("`{key}` in {what}")))
        };
        let health = string(self, "health");
        let live_health = string(self, "live_health");
        let listener = string(self, "listener");
        let rule = string(self, "rule");
        let test_listener = string(self, "test_listener");
        let require = fields
            .get("require")
            .and_then(|n| self.string_list(n, &format!("`require` in {what}")));
        let target_groups = fields.get("target_groups").and_then(|n| {
            let list = self.located_strings(n, &format!("`target_groups` in {what}"))?;
            self.exactly_two(
                n,
                list.len(),
                "`target_groups`",
                "the blue and the green target group ARN",
            )?;
            Some(list)
        });
        let target_group = string(self, "target_group");
        let ecs = fields.get("ecs").and_then(|n| self.ecs(n, &what));
        let asg = fields.get("asg").and_then(|n| self.asg(n, &what));
        let (strategy, steps, bake) = self.traffic(&fields, &what);
        let (alarms, checks) = self.gates(&fields, &what);
        Deploy {
            alarms,
            checks,
            health,
            live_health,
            require,
            listener,
            rule,
            target_groups,
            target_group,
            test_listener,
            ecs,
            asg,
            strategy,
            steps,
            bake,
        }
    }

    pub(super) fn ecs(&mut self, node: &Node, within: &str) -> Option<EcsServices> {
        let what = format!("`ecs` in {within}");
        let fields = self.fields(node, &what, keys::ECS)?;
        let cluster = match fields.get("cluster") {
            Some(n) => self.string(n, &format!("`cluster` in {what}"))?.value,
            None => {
                self.missing(&fields, "cluster", &what, "name the ECS cluster");
                return None;
            }
        };
        let services = match fields.get("services") {
            Some(n) => {
                let list = self.located_strings(n, &format!("`services` in {what}"))?;
                self.exactly_two(
                    n,
                    list.len(),
                    "`ecs.services`",
                    "two ECS service names, in the order of `target_groups`",
                )?;
                list
            }
            None => {
                self.missing(
                    &fields,
                    "services",
                    &what,
                    "name the two ECS services, in the order of `target_groups`",
                );
                return None;
            }
        };
        let container = match fields.get("container") {
            Some(n) => Some(self.string(n, &format!("`container` in {what}"))?.value),
            None => None,
        };
        Some(EcsServices {
            cluster,
            services,
            container,
            span: node.span,
        })
    }

    pub(super) fn asg(&mut self, node: &Node, within: &str) -> Option<AsgGroups> {
        let what = format!("`asg` in {within}");
        let fields = self.fields(node, &what, keys::ASG)?;
        let Some(n) = fields.get("groups") else {
            self.missing(
                &fields,
                "groups",
                &what,
                "name the two Auto Scaling groups, in the order of `target_groups`",
            );
            return None;
        };
        let groups = self.located_strings(n, &format!("`groups` in {what}"))?;
        self.exactly_two(
            n,
            groups.len(),
            "`asg.groups`",
            "two Auto Scaling group names, blue's and green's",
        )?;
        Some(AsgGroups {
            groups,
            span: node.span,
        })
    }

    pub(super) fn traffic(
        &mut self,
        fields: &Fields,
        what: &str,
    ) -> (
        Option<Strategy>,
        Option<Located<Vec<u32>>>,
        Option<std::time::Duration>,
    ) {
        let strategy = fields.get("strategy").and_then(|n| {
            let name = self.string(n, &format!("`strategy` in {what}"))?;
            let strategy = Strategy::from_name(&name.value);
            if strategy.is_none() {
                self.error(
                    Diagnostic::error(
                        Code::InvalidValue,
                        n.span,
                        format!("unknown strategy `{}` in {what}", name.value),
                    )
                    .with_label("unknown strategy")
                    .with_hint(format!("use one of {}", quoted_list(Strategy::NAMES))),
                );
            }
            strategy
        });
        let steps = fields.get("steps").and_then(|n| self.steps(n, what));
        let bake = fields.get("bake").and_then(|n| {
            let bake = self.duration(n, &format!("`bake` in {what}"))?;
            self.within(n, bake, &format!("`bake` in {what}"), &BAKE_BOUNDS)
        });
        (strategy, steps, bake)
    }

    pub(super) fn defaults(&mut self, node: &Node) -> Defaults {
        let mut defaults = Defaults::default();
        let Some(fields) = self.fields(node, "`defaults`", keys::DEFAULTS) else {
            return defaults;
        };
        if let Some(node) = fields.get("health") {
            defaults.health = self.health_defaults(node).unwrap_or_default();
        }
        if let Some(node) = fields.get("deploy") {
            let what = "`defaults.deploy`";
            if let Some(deploy) = self.fields(node, what, keys::DEPLOY_DEFAULTS) {
                (defaults.strategy, defaults.steps, defaults.bake) = self.traffic(&deploy, what);
                (defaults.alarms, defaults.checks) = self.gates(&deploy, what);
            }
        }
        defaults
    }

    pub(super) fn health_defaults(&mut self, node: &Node) -> Option<HealthDefaults> {
        let what = "`defaults.health`";
        let fields = self.fields(node, what, keys::HEALTH_DEFAULTS)?;
        let timeout = fields.get("timeout").and_then(|n| {
            let what = "`timeout` in `defaults.health`";
            let timeout = self.duration(n, what)?;
            self.within(n, timeout, what, &TIMEOUT_BOUNDS)
        });
        let retries = fields
            .get("retries")
            .and_then(|n| self.count(n, "`retries` in `defaults.health`", 0, 10));
        let require = fields
            .get("require")
            .and_then(|n| self.string_list(n, "`require` in `defaults.health`"))
            .unwrap_or_default();
        let token_env = fields
            .get("token_env")
            .and_then(|n| self.string(n, "`token_env` in `defaults.health`"))
            .map(|l| l.value);
        Some(HealthDefaults {
            timeout,
            retries,
            require,
            token_env,
        })
    }

    pub(super) fn steps(&mut self, node: &Node, what: &str) -> Option<Located<Vec<u32>>> {
        let what = format!("`steps` in {what}");
        let Value::Seq(items) = &node.value else {
            self.wrong_type(node, &what, "a list of percentages");
            return None;
        };
        let steps: Vec<u32> = items
            .iter()
            .filter_map(|item| self.count(item, &what, 1, 100))
            .collect();
        if steps.len() != items.len() {
            return None;
        }
        let increasing = steps.windows(2).all(|w| w[0] < w[1]);
        if steps.is_empty() || !increasing || steps.last() != Some(&100) {
            self.error(
                Diagnostic::error(
                    Code::InvalidValue,
                    node.span,
                    format!("{what} must rise strictly and end at 100"),
                )
                .with_hint("for example `[10, 50, 100]`"),
            );
            return None;
        }
        Some(Located::new(steps, node.span))
    }

    pub(super) fn duration(&mut self, node: &Node, what: &str) -> Option<std::time::Duration> {
        let raw = self.raw(node);
        let parsed = match &node.value {
            Value::Scalar(Scalar::Str(text)) => parse_duration(text),
            _ => None,
        };
        if parsed.is_none() {
            let hint = if matches!(node.value, Value::Scalar(Scalar::Number(_))) {
                format!("add a unit: `{raw}s`")
            } else {
                "write a number with a unit: `500ms`, `2s`, `1m`, `1m30s`".to_owned()
            };
            self.error(
                Diagnostic::error(
                    Code::InvalidDuration,
                    node.span,
                    format!("`{raw}` ({what}) is not a duration"),
                )
                .with_label("not a duration")
                .with_hint(hint),
            );
        }
        parsed
    }

    /// `duration` when it is within `bounds`; otherwise a diagnostic.
    pub(super) fn within(
        &mut self,
        node: &Node,
        duration: Duration,
        what: &str,
        bounds: &DurationBounds,
    ) -> Option<Duration> {
        if bounds.contains(duration) {
            return Some(duration);
        }
        let raw = self.raw(node);
        self.error(
            Diagnostic::error(
                Code::DurationOutOfRange,
                node.span,
                format!("`{raw}` ({what}) is out of range; expected {}", bounds.text),
            )
            .with_label("out of range")
            .with_hint(bounds.hint),
        );
        None
    }
}
