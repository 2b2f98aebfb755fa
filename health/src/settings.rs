//! How the checks are made: timeouts, retries, concurrency and limits.

use std::time::Duration;

use cutover_planner::HealthDefaults;

/// Settings of a [`HealthChecker`](crate::HealthChecker).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthSettings {
    /// Timeout of one request, body included (`defaults.health.timeout`).
    pub timeout: Duration,
    /// Extra attempts on connection errors, timeouts and 5xx other than 503
    /// (`defaults.health.retries`).
    pub retries: u32,
    /// How many services are checked at once (each sends its `/health` and
    /// `/info` requests together).
    pub concurrency: usize,
    /// The largest response body read; larger ones are a failure.
    pub max_body_bytes: usize,
    /// Redirects followed before giving up.
    pub max_redirects: usize,
    /// Pause before the first retry; it doubles for each further retry, and
    /// each pause is jittered between half and all of its value.
    pub backoff_base: Duration,
}

impl HealthSettings {
    /// Per-request timeout when `defaults.health.timeout` is not set.
    pub const DEFAULT_TIMEOUT: Duration = HealthDefaults::DEFAULT_TIMEOUT;
    /// Extra attempts when `defaults.health.retries` is not set.
    pub const DEFAULT_RETRIES: u32 = HealthDefaults::DEFAULT_RETRIES;
    /// Services checked at once by default (`--concurrency`).
    pub const DEFAULT_CONCURRENCY: usize = 32;
    /// Default body cap: 1 MiB.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

    /// The defaults, with `timeout` and `retries` from `defaults.health`.
    pub fn from_defaults(defaults: &HealthDefaults) -> Self {
        HealthSettings {
            timeout: defaults.timeout.unwrap_or(Self::DEFAULT_TIMEOUT),
            retries: defaults.retries.unwrap_or(Self::DEFAULT_RETRIES),
            ..HealthSettings::default()
        }
    }
}

impl Default for HealthSettings {
    /// 2 s per request, 2 retries, 32 services at once, 1 MiB bodies, 5
    /// redirects, 200 ms backoff base.
    fn default() -> Self {
        HealthSettings {
            timeout: Self::DEFAULT_TIMEOUT,
            retries: Self::DEFAULT_RETRIES,
            concurrency: Self::DEFAULT_CONCURRENCY,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            max_redirects: 5,
            backoff_base: Duration::from_millis(200),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_defaults_override_timeout_and_retries_only() {
        let defaults = HealthDefaults {
            timeout: Some(Duration::from_millis(500)),
            retries: Some(0),
            ..HealthDefaults::default()
        };
        let settings = HealthSettings::from_defaults(&defaults);
        assert_eq!(settings.timeout, Duration::from_millis(500));
        assert_eq!(settings.retries, 0);
        assert_eq!(settings.concurrency, 32);
        assert_eq!(
            HealthSettings::from_defaults(&HealthDefaults::default()),
            HealthSettings::default()
        );
    }
}
