//! Health checks against a local server that answers like Spring Boot
//! Actuator 1.x, 2.x and 3.x.

#[path = "../support/actuator.rs"]
mod actuator;

use std::time::Duration;

use actuator::{Actuator, RELEASE, TOKEN, refused_port};
use cutover_health::{
    HealthChecker, HealthSettings, HealthTarget, Secret, ServiceHealth, health_targets,
    render_health,
};
use cutover_planner::{Limits, validate_bytes};

/// Quick retries so that the tests stay fast.
fn settings() -> HealthSettings {
    HealthSettings {
        timeout: Duration::from_secs(2),
        backoff_base: Duration::from_millis(10),
        ..HealthSettings::default()
    }
}

fn target(actuator: &Actuator, scenario: &str, require: &[&str]) -> HealthTarget {
    HealthTarget {
        service: scenario.to_owned(),
        url: Some(actuator.url(scenario)),
        expected_version: Some(RELEASE.parse().expect("version")),
        require: require.iter().map(|r| (*r).to_owned()).collect(),
        token: None,
        problems: Vec::new(),
    }
}

async fn check_with(settings: HealthSettings, target: &HealthTarget) -> ServiceHealth {
    HealthChecker::new(settings)
        .expect("checker")
        .check(target)
        .await
}

async fn check(actuator: &Actuator, scenario: &str, require: &[&str]) -> ServiceHealth {
    check_with(settings(), &target(actuator, scenario, require)).await
}

#[track_caller]
fn assert_healthy(health: &ServiceHealth) {
    assert!(health.ok, "{health:#?}");
    assert!(health.problems.is_empty(), "{health:#?}");
    assert_eq!(health.status.as_deref(), Some("UP"));
    assert_eq!(health.version.as_deref(), Some(RELEASE));
    assert_eq!(health.expected_version.as_deref(), Some(RELEASE));
}

#[track_caller]
fn assert_problems(health: &ServiceHealth, expected: &[&str]) {
    assert!(!health.ok, "{health:#?}");
    assert_eq!(health.problems, expected, "{health:#?}");
}

#[tokio::test]
async fn spring_boot_3_up_with_nested_required_components() {
    let actuator = Actuator::start().await;
    let health = check(&actuator, "boot3-up", &["db", "kafka", "replica-2"]).await;
    assert_healthy(&health);
    assert_eq!(health.url, Some(actuator.url("boot3-up")));
}

#[tokio::test]
async fn spring_boot_2_up_with_components_under_details_and_git_version() {
    let actuator = Actuator::start().await;
    assert_healthy(&check(&actuator, "boot2-up", &["db", "kafka"]).await);
}

#[tokio::test]
async fn spring_boot_1_up_with_components_beside_status_and_app_version() {
    let actuator = Actuator::start().await;
    assert_healthy(&check(&actuator, "boot1-up", &["db", "rabbit"]).await);
}

#[tokio::test]
async fn down_with_503_is_an_answer_naming_the_component_deep_in_a_composite() {
    let actuator = Actuator::start().await;
    let health = check(&actuator, "boot3-down", &["db"]).await;
    assert_eq!(health.status.as_deref(), Some("DOWN"));
    assert_eq!(health.version.as_deref(), Some(RELEASE));
    assert_problems(
        &health,
        &[
            "status `DOWN` (HTTP 503 Service Unavailable): `db/replicas/replica-2` is `DOWN`",
            "required component `db` is `DOWN`: `db/replicas/replica-2` is `DOWN`",
        ],
    );
    assert_eq!(
        actuator.hits("boot3-down", "health"),
        1,
        "503 is not retried"
    );
}

#[tokio::test]
async fn a_required_component_named_deep_in_a_composite_is_reported_by_path() {
    let actuator = Actuator::start().await;
    let health = check(&actuator, "boot3-down", &["replica-1", "replica-2"]).await;
    assert_problems(
        &health,
        &[
            "status `DOWN` (HTTP 503 Service Unavailable): `db/replicas/replica-2` is `DOWN`",
            "required component `db/replicas/replica-2` is `DOWN`",
        ],
    );
}

#[tokio::test]
async fn spring_boot_2_and_1_down_with_503() {
    let actuator = Actuator::start().await;
    assert_problems(
        &check(&actuator, "boot2-down", &["kafka"]).await,
        &[
            "status `DOWN` (HTTP 503 Service Unavailable): `kafka` is `DOWN`",
            "required component `kafka` is `DOWN`",
        ],
    );
    assert_problems(
        &check(&actuator, "boot1-down", &[]).await,
        &["status `DOWN` (HTTP 503 Service Unavailable): `db` is `DOWN`"],
    );
}

#[tokio::test]
async fn out_of_service() {
    let actuator = Actuator::start().await;
    let health = check(&actuator, "out-of-service", &["db"]).await;
    assert_eq!(health.status.as_deref(), Some("OUT_OF_SERVICE"));
    assert_problems(
        &health,
        &[
            "status `OUT_OF_SERVICE` (HTTP 503 Service Unavailable): `readinessState` is `OUT_OF_SERVICE`",
        ],
    );
}

#[tokio::test]
async fn a_missing_required_component_lists_what_is_there() {
    let actuator = Actuator::start().await;
    assert_problems(
        &check(&actuator, "boot3-up", &["db", "redis"]).await,
        &[
            "required component `redis` is missing (found `db`, `diskSpace`, `kafka`, `livenessState`, `ping`, `readinessState`)",
        ],
    );
    assert_problems(
        &check(&actuator, "minimal", &["db"]).await,
        &[
            "required component `db` is missing (`/health` shows no components; see `management.endpoint.health.show-components`)",
        ],
    );
}

#[tokio::test]
async fn info_with_the_right_version_a_wrong_one_and_none() {
    let actuator = Actuator::start().await;
    assert_healthy(&check(&actuator, "boot3-up", &[]).await);
    let wrong = check(&actuator, "wrong-version", &[]).await;
    assert_eq!(wrong.status.as_deref(), Some("UP"));
    assert_eq!(wrong.version.as_deref(), Some("1.9.0"));
    assert_problems(
        &wrong,
        &[
            "runs version `1.9.0` (`build.version` in `/info`), expected `2.0.0`; is green still on an old image?",
        ],
    );
    let none = check(&actuator, "no-version", &[]).await;
    assert_eq!(none.version, None);
    assert_problems(
        &none,
        &[
            "`/info` reports no version (none of `build.version`, `git.build.version`, `app.version`); generate build info with the `build-info` goal of the Spring Boot build plugin",
        ],
    );
}

#[tokio::test]
async fn no_expected_version_skips_info() {
    let actuator = Actuator::start().await;
    let mut target = target(&actuator, "wrong-version", &[]);
    target.expected_version = None;
    let health = check_with(settings(), &target).await;
    assert!(health.ok, "{health:#?}");
    assert_eq!((health.version, health.expected_version), (None, None));
    assert_eq!(actuator.hits("wrong-version", "info"), 0);
}

#[tokio::test]
async fn a_slow_endpoint_times_out_after_every_attempt() {
    let actuator = Actuator::start().await;
    let settings = HealthSettings {
        timeout: Duration::from_millis(300),
        retries: 1,
        ..settings()
    };
    let health = check_with(settings, &target(&actuator, "slow", &[])).await;
    assert_eq!((&health.status, &health.version), (&None, &None));
    assert_problems(
        &health,
        &[
            "`/health`: timed out after 300ms (2 attempts)",
            "`/info`: timed out after 300ms (2 attempts)",
        ],
    );
    assert_eq!(actuator.hits("slow", "health"), 2);
}

#[tokio::test]
async fn a_flaky_endpoint_succeeds_on_retry() {
    let actuator = Actuator::start().await;
    assert_healthy(&check(&actuator, "flaky", &["db"]).await);
    assert_eq!(actuator.hits("flaky", "health"), 3);
}

#[tokio::test]
async fn a_flaky_endpoint_fails_when_retries_run_out() {
    let actuator = Actuator::start().await;
    let settings = HealthSettings {
        retries: 1,
        ..settings()
    };
    assert_problems(
        &check_with(settings, &target(&actuator, "flaky", &[])).await,
        &["`/health`: HTTP 502 Bad Gateway (2 attempts)"],
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let actuator = Actuator::start().await;
    assert_problems(
        &check(&actuator, "broken", &[]).await,
        &["`/health`: HTTP 500 Internal Server Error (3 attempts)"],
    );
    assert_eq!(actuator.hits("broken", "health"), 3);
}

#[tokio::test]
async fn a_body_that_is_not_json() {
    let actuator = Actuator::start().await;
    assert_problems(
        &check(&actuator, "not-json", &[]).await,
        &[
            "`/health`: body is not JSON (expected value at line 1 column 1); is the URL an Actuator endpoint?",
        ],
    );
}

#[tokio::test]
async fn an_oversized_body_is_cut_off() {
    let actuator = Actuator::start().await;
    let health = check(&actuator, "huge", &[]).await;
    assert_problems(&health, &["`/health`: body is larger than 1 MiB"]);
    assert_eq!(actuator.hits("huge", "health"), 1, "not retried");
    let small = HealthSettings {
        max_body_bytes: 100,
        ..settings()
    };
    assert_problems(
        &check_with(small, &target(&actuator, "boot3-up", &[])).await,
        &[
            "`/health`: body is larger than 100 bytes",
            "`/info`: body is larger than 100 bytes",
        ],
    );
}

#[tokio::test]
async fn a_redirect_loop_is_stopped_at_once() {
    let actuator = Actuator::start().await;
    let health = check(&actuator, "loop", &[]).await;
    let expected = format!(
        "`/health`: redirect loop: redirected back to `http://{}/loop/actuator/health`",
        actuator.addr
    );
    assert_problems(&health, &[&expected]);
    assert_eq!(actuator.hits("loop", "health"), 1);
}

#[tokio::test]
async fn at_most_five_redirects() {
    let actuator = Actuator::start().await;
    assert_problems(
        &check(&actuator, "chain-0", &[]).await,
        &["`/health`: more than 5 redirects"],
    );
    assert_eq!(actuator.hits("chain-5", "health"), 1);
    assert_eq!(actuator.hits("chain-6", "health"), 0);
}

#[tokio::test]
async fn connection_refused() {
    let port = refused_port();
    let target = HealthTarget {
        url: Some(format!("http://127.0.0.1:{port}/orders/actuator")),
        ..HealthTarget::default()
    };
    let health = check_with(settings(), &target).await;
    assert_problems(
        &health,
        &[&format!(
            "`/health`: connection refused by `127.0.0.1:{port}` (3 attempts)"
        )],
    );
}

#[tokio::test]
async fn tls_errors_are_named() {
    let actuator = Actuator::start().await;
    let target = HealthTarget {
        url: Some(format!("https://{}/boot3-up/actuator", actuator.addr)),
        expected_version: Some(RELEASE.parse().expect("version")),
        ..HealthTarget::default()
    };
    let health = check_with(settings(), &target).await;
    assert_problems(
        &health,
        &[
            "`/health`: TLS handshake with `127.0.0.1` failed: received corrupt message of type InvalidContentType; does it speak plain `http://`?",
            "`/info`: TLS handshake with `127.0.0.1` failed: received corrupt message of type InvalidContentType; does it speak plain `http://`?",
        ],
    );
}

#[tokio::test]
async fn no_url_fails_closed_without_a_request() {
    let target = HealthTarget {
        service: "orders".to_owned(),
        expected_version: Some(RELEASE.parse().expect("version")),
        ..HealthTarget::default()
    };
    let health = check_with(settings(), &target).await;
    assert_eq!(health.url, None);
    assert_problems(&health, &["no `deploy.health` URL in the matrix"]);
}

#[tokio::test]
async fn the_token_is_sent_and_never_shown() {
    let actuator = Actuator::start().await;
    let mut secured = target(&actuator, "secured", &["db"]);
    let without = check_with(settings(), &secured).await;
    assert_problems(
        &without,
        &[
            "`/health`: HTTP 401 Unauthorized; the endpoint needs a bearer token: name its variable in `defaults.health.token_env`",
            "`/info`: HTTP 401 Unauthorized; the endpoint needs a bearer token: name its variable in `defaults.health.token_env`",
        ],
    );
    secured.token = Some(Secret::new(TOKEN));
    let checker = HealthChecker::new(settings()).expect("checker");
    let report = checker.check_all(std::slice::from_ref(&secured)).await;
    assert!(report.healthy, "{report:#?}");
    let shown = [
        format!("{secured:?}"),
        format!("{report:?}"),
        format!("{checker:?}"),
        serde_json::to_string(&report).expect("json"),
        render_health(&report),
    ];
    for text in shown {
        assert!(!text.contains(TOKEN), "the token leaks into {text}");
    }
    secured.token = Some(Secret::new("wrong"));
    assert_problems(
        &check_with(settings(), &secured).await,
        &[
            "`/health`: HTTP 401 Unauthorized; the bearer token was refused",
            "`/info`: HTTP 401 Unauthorized; the bearer token was refused",
        ],
    );
}

#[tokio::test]
async fn check_all_is_bounded_sorted_and_fails_if_any_fails() {
    let actuator = Actuator::start().await;
    let targets = vec![
        target(&actuator, "wrong-version", &[]),
        target(&actuator, "boot3-up", &["db"]),
        target(&actuator, "boot1-up", &[]),
        target(&actuator, "boot2-up", &[]),
    ];
    let settings = HealthSettings {
        concurrency: 2,
        ..settings()
    };
    let report = HealthChecker::new(settings)
        .expect("checker")
        .check_all(&targets)
        .await;
    let verdicts: Vec<(&str, bool)> = report
        .services
        .iter()
        .map(|s| (s.service.as_str(), s.ok))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("boot1-up", true),
            ("boot2-up", true),
            ("boot3-up", true),
            ("wrong-version", false)
        ]
    );
    assert!(!report.healthy);
}

#[tokio::test]
async fn from_the_matrix_to_the_report() {
    let actuator = Actuator::start().await;
    let yaml = format!(
        "\
version: 1
defaults:
  health:
    timeout: 1s
    retries: 0
    require: [db]
    token_env: SHOP_ACTUATOR_TOKEN
services:
  orders:
    current: 1.9.0
    target: 2.0.0
    releases: {{1.9.0: {{}}, 2.0.0: {{}}}}
    deploy:
      health: {secured}
      require: [db, kafka]
  cart:
    current: 1.9.0
    target: 2.0.0
    releases: {{1.9.0: {{}}, 2.0.0: {{}}}}
    deploy:
      health: {down}
",
        secured = actuator.url("secured"),
        down = actuator.url("boot2-down"),
    );
    let validated = validate_bytes("shop.yaml", yaml.as_bytes(), &Limits::default());
    let matrix = validated.valid_matrix().expect("valid matrix");
    let env = |name: &str| (name == "SHOP_ACTUATOR_TOKEN").then(|| TOKEN.to_owned());
    let (targets, settings) = health_targets(matrix, None, env).expect("targets");
    assert_eq!(settings.retries, 0);
    let report = HealthChecker::new(settings)
        .expect("checker")
        .check_all(&targets)
        .await;
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["healthy"], false);
    assert_eq!(json["services"][0]["service"], "cart");
    assert_eq!(
        json["services"][0]["problems"],
        serde_json::json!(["status `DOWN` (HTTP 503 Service Unavailable): `kafka` is `DOWN`"])
    );
    assert_eq!(json["services"][1]["service"], "orders");
    assert_eq!(json["services"][1]["ok"], true);
    assert!(!json.to_string().contains(TOKEN));

    let (unset, _) = health_targets(matrix, None, |_| None).expect("targets");
    let report = HealthChecker::new(HealthSettings::default())
        .expect("checker")
        .check_all(&unset)
        .await;
    for service in &report.services {
        assert_eq!(
            service.problems,
            [
                "environment variable `SHOP_ACTUATOR_TOKEN` (named by `defaults.health.token_env`) is not set"
            ]
        );
    }
    assert_eq!(actuator.hits("boot2-down", "health"), 1);
}
