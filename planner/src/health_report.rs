//! The result of the checks, as data: what `cutover health --format json`
//! prints and what a plan checked with `--check-health` records.

use serde::{Deserialize, Serialize};

/// The health of the green side of every service checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthReport {
    /// Every service is healthy (true when there is none).
    pub healthy: bool,
    /// One entry per service, sorted by name.
    pub services: Vec<ServiceHealth>,
}

/// The health of one green side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceHealth {
    /// The service name.
    pub service: String,
    /// The Actuator base URL checked (passwords hidden); `null` when the
    /// matrix gives none.
    pub url: Option<String>,
    /// The status `/health` reported; `null` when unknown.
    pub status: Option<String>,
    /// The version `/info` reported; `null` when unknown.
    pub version: Option<String>,
    /// The release the plan expects; `null` when not checked.
    pub expected_version: Option<String>,
    /// Healthy: status `UP`, required components `UP`, the expected version.
    pub ok: bool,
    /// Why it is not healthy, one sentence each; empty when `ok`.
    pub problems: Vec<String>,
}

impl HealthReport {
    /// A report of `services`, sorted by name.
    pub fn new(mut services: Vec<ServiceHealth>) -> Self {
        services.sort_by(|a, b| a.service.cmp(&b.service));
        HealthReport {
            healthy: services.iter().all(|s| s.ok),
            services,
        }
    }

    /// The services that are not healthy.
    pub fn unhealthy(&self) -> impl Iterator<Item = &ServiceHealth> {
        self.services.iter().filter(|s| !s.ok)
    }
}

impl ServiceHealth {
    /// The problems in one line, `; `-separated (empty when healthy).
    pub fn describe_problems(&self) -> String {
        self.problems.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str, ok: bool) -> ServiceHealth {
        ServiceHealth {
            service: name.to_owned(),
            url: None,
            status: None,
            version: None,
            expected_version: Some("1.0.0".to_owned()),
            ok,
            problems: if ok { vec![] } else { vec!["down".to_owned()] },
        }
    }

    #[test]
    fn json_has_exactly_the_contract_keys() {
        let report = HealthReport::new(vec![service("b", true), service("a", false)]);
        assert!(!report.healthy);
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "healthy": false,
                "services": [
                    {"service": "a", "url": null, "status": null, "version": null,
                     "expected_version": "1.0.0", "ok": false, "problems": ["down"]},
                    {"service": "b", "url": null, "status": null, "version": null,
                     "expected_version": "1.0.0", "ok": true, "problems": []}
                ]
            })
        );
        assert!(HealthReport::new(vec![]).healthy);
    }
}
