//! What to check: one [`HealthTarget`] per changing service, from the matrix,
//! or one Actuator of a plan document. The only place that builds targets.

use std::time::Duration;

use cutover_planner::HealthDoc;
use semver::Version;

use crate::secret::Secret;
use crate::settings::HealthSettings;
use cutover_planner::{Matrix, Service};

/// Where a token variable is named, for the problems that mention it.
const TOKEN_ENV_FIELD: &str = "defaults.health.token_env";

/// The green side of one service, as the checker sees it.
#[derive(Clone, Debug, Default)]
pub struct HealthTarget {
    /// The service name.
    pub service: String,
    /// The Actuator base URL (`deploy.health`); `None` fails the check.
    pub url: Option<String>,
    /// The release `/info` must report; `None` skips the version check.
    pub expected_version: Option<Version>,
    /// Components that must be present and `UP` (names or `a/b` paths).
    pub require: Vec<String>,
    /// Bearer token sent as `Authorization: Bearer …`.
    pub token: Option<Secret>,
    /// Problems known before any request (such as an unset token variable);
    /// when there are any, the check reports them and sends nothing.
    pub problems: Vec<String>,
}

/// A `--service` that cannot be checked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HealthTargetError {
    /// No such service in the matrix.
    #[error("no service `{name}` in the matrix; changing services: {changing}")]
    UnknownService {
        /// The name asked for.
        name: String,
        /// The changing services, quoted and joined, or `none`.
        changing: String,
    },
    /// The service does not change, so it has no green side to check.
    #[error(
        "service `{name}` does not change (it stays on {version}), so it has no green side to check; changing services: {changing}"
    )]
    NotChanging {
        /// The name asked for.
        name: String,
        /// The release it stays on.
        version: Version,
        /// The changing services, quoted and joined, or `none`.
        changing: String,
    },
}

/// Builds the targets for the changing services of `matrix` (all of them, or
/// only `services`), sorted by name, and the settings from
/// `defaults.health`.
///
/// The expected version is the target release; the required components are
/// the service's `deploy.require`, else `defaults.health.require`; the token
/// is read with `env` from the variable named by `defaults.health.token_env`.
/// An unset or empty variable is a problem of every target, not an error.
pub fn health_targets(
    matrix: &Matrix,
    services: Option<&[String]>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(Vec<HealthTarget>, HealthSettings), HealthTargetError> {
    let defaults = &matrix.defaults.health;
    let changing = || {
        let names: Vec<String> = matrix.changing().map(|s| format!("`{}`", s.name)).collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    let chosen: Vec<&Service> = match services {
        None => matrix.changing().collect(),
        Some(names) => {
            let mut chosen = Vec::new();
            for name in names {
                let Some(service) = matrix.services.get(name) else {
                    return Err(HealthTargetError::UnknownService {
                        name: name.clone(),
                        changing: changing(),
                    });
                };
                if !service.is_changing() {
                    return Err(HealthTargetError::NotChanging {
                        name: name.clone(),
                        version: service.current.value.clone(),
                        changing: changing(),
                    });
                }
                chosen.push(service);
            }
            chosen.sort_by(|a, b| a.name.cmp(&b.name));
            chosen.dedup_by(|a, b| a.name == b.name);
            chosen
        }
    };
    let (token, token_problem) = token(defaults.token_env.as_deref(), &env);
    let targets = chosen
        .into_iter()
        .map(|service| HealthTarget {
            service: service.name.clone(),
            url: service.deploy.health.as_ref().map(|url| url.value.clone()),
            expected_version: Some(service.target_version().clone()),
            require: service
                .deploy
                .require
                .clone()
                .unwrap_or_else(|| defaults.require.clone()),
            token: token.clone(),
            problems: token_problem.iter().cloned().collect(),
        })
        .collect();
    Ok((targets, HealthSettings::from_defaults(defaults)))
}

/// The target and settings of one Actuator check a plan records
/// (`deploy.health` of green, or `deploy.live_health` of blue), expecting
/// `version`; the token is read with `env` exactly as [`health_targets`]
/// reads it, and an unset or empty variable is a problem of the target.
pub fn plan_health_target(
    service: &str,
    health: &HealthDoc,
    version: &str,
    env: impl Fn(&str) -> Option<String>,
) -> (HealthTarget, HealthSettings) {
    let (token, problem) = token(health.token_env.as_deref(), &env);
    let target = HealthTarget {
        service: service.to_owned(),
        url: Some(health.url.clone()),
        expected_version: Version::parse(version).ok(),
        require: health.require.clone(),
        token,
        problems: problem.into_iter().collect(),
    };
    let settings = HealthSettings {
        timeout: Duration::from_millis(health.timeout_ms),
        retries: health.retries,
        ..HealthSettings::default()
    };
    (target, settings)
}

/// The bearer token from the variable `name`, or the problem with it.
fn token(
    name: Option<&str>,
    env: &impl Fn(&str) -> Option<String>,
) -> (Option<Secret>, Option<String>) {
    let Some(name) = name else {
        return (None, None);
    };
    match env(name) {
        Some(value) if !value.is_empty() => (Some(Secret::new(value)), None),
        Some(_) => (
            None,
            Some(format!(
                "environment variable `{name}` (named by `{TOKEN_ENV_FIELD}`) is empty"
            )),
        ),
        None => (
            None,
            Some(format!(
                "environment variable `{name}` (named by `{TOKEN_ENV_FIELD}`) is not set"
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_planner::{Limits, validate_bytes};

    const MATRIX: &str = "\
version: 1
defaults:
  health:
    timeout: 500ms
    require: [db]
    token_env: TOKEN
services:
  orders:
    current: 1.0.0
    target: 2.0.0
    releases: {1.0.0: {}, 2.0.0: {}}
    deploy:
      health: http://127.0.0.1:1/orders/actuator
      require: [db, kafka]
  cart:
    current: 1.0.0
    target: 1.1.0
    releases: {1.0.0: {}, 1.1.0: {}}
  catalog:
    current: 3.0.0
    releases: {3.0.0: {}}
";

    fn matrix() -> Matrix {
        let validated = validate_bytes("m.yaml", MATRIX.as_bytes(), &Limits::default());
        assert!(validated.is_valid(), "{:?}", validated.diagnostics);
        validated.matrix.expect("valid")
    }

    #[test]
    fn targets_of_every_changing_service() {
        let env = |name: &str| (name == "TOKEN").then(|| "t0k3n".to_owned());
        let (targets, settings) = health_targets(&matrix(), None, env).expect("targets");
        assert_eq!(settings.timeout, std::time::Duration::from_millis(500));
        assert_eq!(settings.retries, 2);
        let names: Vec<&str> = targets.iter().map(|t| t.service.as_str()).collect();
        assert_eq!(names, ["cart", "orders"]);
        let (cart, orders) = (&targets[0], &targets[1]);
        assert_eq!(cart.url, None);
        assert_eq!(cart.require, ["db"]);
        assert_eq!(orders.require, ["db", "kafka"]);
        assert_eq!(orders.expected_version, Some(Version::new(2, 0, 0)));
        assert_eq!(orders.token.as_ref().map(Secret::expose), Some("t0k3n"));
        assert!(orders.problems.is_empty());
        assert!(!format!("{targets:?}").contains("t0k3n"));
    }

    #[test]
    fn unset_token_variable_is_a_problem_of_each_target() {
        let (targets, _) = health_targets(&matrix(), None, |_| None).expect("targets");
        for target in &targets {
            assert_eq!(
                target.problems,
                ["environment variable `TOKEN` (named by `defaults.health.token_env`) is not set"]
            );
        }
    }

    #[test]
    fn plan_targets_read_the_token_as_matrix_targets_do() {
        let doc = HealthDoc {
            url: "http://127.0.0.1:1/a".to_owned(),
            require: vec!["db".to_owned()],
            token_env: Some("TOKEN".to_owned()),
            timeout_ms: 500,
            retries: 1,
        };
        let (target, settings) = plan_health_target("a", &doc, "2.0.0", |_| Some(String::new()));
        assert_eq!(settings.timeout, std::time::Duration::from_millis(500));
        assert_eq!(settings.retries, 1);
        assert!(target.token.is_none());
        assert_eq!(
            target.problems,
            ["environment variable `TOKEN` (named by `defaults.health.token_env`) is empty"]
        );
        let (target, _) = plan_health_target("a", &doc, "2.0.0", |_| Some("t".to_owned()));
        assert_eq!(target.token.as_ref().map(Secret::expose), Some("t"));
        assert_eq!(target.expected_version, Some(Version::new(2, 0, 0)));
        assert!(target.problems.is_empty());
    }

    #[test]
    fn chosen_services_must_exist_and_change() {
        let m = matrix();
        let pick = |names: &[&str]| {
            let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
            health_targets(&m, Some(&names), |_| None).map(|(t, _)| t.len())
        };
        assert_eq!(pick(&["orders", "orders"]), Ok(1));
        assert_eq!(
            pick(&["nope"]).map_err(|e| e.to_string()),
            Err("no service `nope` in the matrix; changing services: `cart`, `orders`".to_owned())
        );
        assert!(matches!(
            pick(&["catalog"]),
            Err(HealthTargetError::NotChanging { .. })
        ));
    }
}
