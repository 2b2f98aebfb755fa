//! The [`HealthChecker`]: one HTTP client, checks of one service or of many
//! at once with bounded concurrency.

use std::sync::Arc;

use reqwest::Url;
use reqwest::header::HeaderValue;
use tokio::sync::Semaphore;

use crate::assess::{assess_health, assess_info};
use crate::fetch::{self, shown_url};
use crate::settings::HealthSettings;
use crate::target::HealthTarget;
use cutover_planner::{HealthReport, ServiceHealth};

/// Why a checker cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// The HTTP client could not be set up (TLS roots, for instance).
    #[error("cannot set up the HTTP client for health checks: {0}")]
    Client(#[source] reqwest::Error),
}

/// Checks green sides through their Actuator endpoints. Cheap to clone: the
/// clones share one connection pool.
///
/// ```no_run
/// use cutover_health::{HealthChecker, health_targets, render_health};
/// use cutover_planner::{Limits, validate_bytes};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let bytes = std::fs::read("matrices/shop.yaml")?;
/// let validated = validate_bytes("matrices/shop.yaml", &bytes, &Limits::default());
/// let matrix = validated.valid_matrix().ok_or("the matrix is invalid")?;
/// let (targets, settings) = health_targets(matrix, None, |name| std::env::var(name).ok())?;
/// let report = HealthChecker::new(settings)?.check_all(&targets).await;
/// if !report.healthy {
///     return Err(render_health(&report).into());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct HealthChecker {
    client: reqwest::Client,
    settings: HealthSettings,
}

impl HealthChecker {
    /// A checker with one HTTP client: rustls, the per-request timeout of
    /// `settings`, at most `max_redirects` redirects (loops stopped at once),
    /// and no proxy from the environment, so that the bearer token only goes
    /// to the Actuator URL.
    pub fn new(settings: HealthSettings) -> Result<Self, HealthError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("cutover/", env!("CARGO_PKG_VERSION")))
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(fetch::redirect_policy(settings.max_redirects))
            .no_proxy()
            .build()
            .map_err(HealthError::Client)?;
        Ok(HealthChecker { client, settings })
    }

    /// The settings in use.
    pub fn settings(&self) -> &HealthSettings {
        &self.settings
    }

    /// Checks one green side: `/health` and (when a version is expected)
    /// `/info`, both at once. Never fails: every problem is in the answer.
    pub async fn check(&self, target: &HealthTarget) -> ServiceHealth {
        let mut health = ServiceHealth {
            service: target.service.clone(),
            url: target.url.clone(),
            status: None,
            version: None,
            expected_version: target.expected_version.as_ref().map(ToString::to_string),
            ok: false,
            problems: target.problems.clone(),
        };
        let Some(url) = &target.url else {
            health
                .problems
                .push("no `deploy.health` URL in the matrix".to_owned());
            return health;
        };
        let base = match actuator_base(url) {
            Ok(base) => base,
            Err(problem) => {
                health.problems.push(problem);
                return health;
            }
        };
        health.url = Some(shown_url(&base).trim_end_matches('/').to_owned());
        let authorization = match target.token.as_ref().map(bearer).transpose() {
            Ok(value) => value,
            Err(problem) => {
                health.problems.push(problem);
                return health;
            }
        };
        if !health.problems.is_empty() {
            return health;
        }
        let (health_url, info_url) = match (base.join("health"), base.join("info")) {
            (Ok(health_url), Ok(info_url)) => (health_url, info_url),
            (Err(error), _) | (_, Err(error)) => {
                health
                    .problems
                    .push(format!("`deploy.health` cannot be extended: {error}"));
                return health;
            }
        };
        let auth = authorization.as_ref();
        let get_health = fetch::get(&self.client, &self.settings, &health_url, auth);
        let get_info = async {
            match &target.expected_version {
                Some(_) => Some(fetch::get(&self.client, &self.settings, &info_url, auth).await),
                None => None,
            }
        };
        let (health_answer, info_answer) = tokio::join!(get_health, get_info);
        let token_sent = auth.is_some();
        let (status, mut problems) =
            assess_health(health_answer.as_ref(), &target.require, token_sent);
        health.status = status;
        health.problems.append(&mut problems);
        if let (Some(expected), Some(answer)) = (&target.expected_version, &info_answer) {
            let (version, mut problems) = assess_info(answer.as_ref(), expected, token_sent);
            health.version = version;
            health.problems.append(&mut problems);
        }
        health.ok = health.problems.is_empty();
        health
    }

    /// Checks every target, at most `concurrency` services at a time; the
    /// report is sorted by service name.
    pub async fn check_all(&self, targets: &[HealthTarget]) -> HealthReport {
        let permits = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let tasks: Vec<_> = targets
            .iter()
            .map(|target| {
                let (checker, target, permits) = (self.clone(), target.clone(), permits.clone());
                tokio::spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    checker.check(&target).await
                })
            })
            .collect();
        let mut services = Vec::with_capacity(targets.len());
        for (task, target) in tasks.into_iter().zip(targets) {
            services.push(match task.await {
                Ok(health) => health,
                Err(error) => ServiceHealth {
                    service: target.service.clone(),
                    url: target.url.clone(),
                    status: None,
                    version: None,
                    expected_version: target.expected_version.as_ref().map(ToString::to_string),
                    ok: false,
                    problems: vec![format!("the check stopped unexpectedly: {error}")],
                },
            });
        }
        HealthReport::new(services)
    }
}

/// The Actuator base URL, ending with `/` so that `health` and `info` join
/// beneath it.
fn actuator_base(url: &str) -> Result<Url, String> {
    let mut base = Url::parse(url.trim())
        .map_err(|error| format!("`deploy.health` is not a valid URL (`{url}`: {error})"))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(format!(
            "`deploy.health` must be an `http://` or `https://` URL, found `{}`",
            shown_url(&base)
        ));
    }
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.set_query(None);
    base.set_fragment(None);
    Ok(base)
}

/// `Bearer …`, marked sensitive so that it shows in no debug output.
fn bearer(token: &crate::Secret) -> Result<HeaderValue, String> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
        "the bearer token is not a valid HTTP header value (control characters or non-ASCII)"
            .to_owned()
    })?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let base = |url: &str| actuator_base(url).map(|u| u.to_string());
        assert_eq!(
            base("http://h:8443/orders/actuator"),
            Ok("http://h:8443/orders/actuator/".to_owned())
        );
        assert_eq!(
            base("https://h/actuator/"),
            Ok("https://h/actuator/".to_owned())
        );
        assert_eq!(
            base("ftp://h/actuator"),
            Err(
                "`deploy.health` must be an `http://` or `https://` URL, found `ftp://h/actuator`"
                    .to_owned()
            )
        );
        assert!(
            base("not a url").is_err_and(|e| e.starts_with("`deploy.health` is not a valid URL"))
        );
    }

    #[test]
    fn bearer_is_sensitive() {
        let value = bearer(&crate::Secret::new("abc")).expect("value");
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("abc"));
        assert!(bearer(&crate::Secret::new("a\nb")).is_err());
    }
}
