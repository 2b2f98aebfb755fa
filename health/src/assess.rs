//! From answers to verdicts: the problems of one green side, in words a
//! person can act on. Pure: the answers come in, nothing goes out.

use reqwest::StatusCode;
use semver::Version;
use serde_json::Value;

use crate::actuator::{VERSION_FIELDS, info_version, parse_health};
use crate::fetch::{Answer, Failed, attempts};

/// What `/health` gave: the status, when known, and the problems.
pub(crate) fn assess_health(
    answer: Result<&Answer, &Failed>,
    require: &[String],
    token_sent: bool,
) -> (Option<String>, Vec<String>) {
    const WHERE: &str = "`/health`";
    let answer = match answer {
        Err(failed) => return (None, vec![format!("{WHERE}: {failed}")]),
        Ok(answer) => answer,
    };
    let status = answer.status;
    let down_answer = status == StatusCode::SERVICE_UNAVAILABLE;
    if !status.is_success() && !down_answer {
        return (
            None,
            vec![http_problem(WHERE, answer, token_sent, "health")],
        );
    }
    let json: Value = match serde_json::from_slice(&answer.body) {
        Ok(json) => json,
        Err(_) if down_answer => {
            return (
                None,
                vec![format!(
                    "{WHERE}: HTTP {status} and the body is not Actuator JSON (a load balancer without healthy targets?)"
                )],
            );
        }
        Err(error) => {
            return (
                None,
                vec![format!(
                    "{WHERE}: body is not JSON ({error}); is the URL an Actuator endpoint?"
                )],
            );
        }
    };
    let Some(body) = parse_health(&json) else {
        return (
            None,
            vec![format!(
                "{WHERE}: JSON without a `status` string; is the URL an Actuator endpoint?"
            )],
        );
    };
    let mut problems = Vec::new();
    if !body.is_up() {
        let http = if status == StatusCode::OK {
            String::new()
        } else {
            format!(" (HTTP {status})")
        };
        let failing = body.failing_leaves();
        let causes = if failing.is_empty() {
            String::new()
        } else {
            format!(": {}", list_statuses(&failing))
        };
        problems.push(format!("status `{}`{http}{causes}", body.status));
    }
    for requirement in require {
        let found = body.find(requirement);
        if found.is_empty() {
            let top = body.top_level();
            let context = if top.is_empty() {
                "`/health` shows no components; see `management.endpoint.health.show-components`"
                    .to_owned()
            } else {
                let names: Vec<String> = top.iter().map(|n| format!("`{n}`")).collect();
                format!("found {}", names.join(", "))
            };
            problems.push(format!(
                "required component `{requirement}` is missing ({context})"
            ));
            continue;
        }
        for component in found {
            let within: Vec<_> = body
                .failing_within(component)
                .into_iter()
                .filter(|c| c.path != component.path)
                .collect();
            if component.status != crate::actuator::UP {
                let causes = if within.is_empty() {
                    String::new()
                } else {
                    format!(": {}", list_statuses(&within))
                };
                problems.push(format!(
                    "required component `{}` is `{}`{causes}",
                    component.path, component.status
                ));
            } else if !within.is_empty() {
                problems.push(format!(
                    "required component `{}` is `UP` but {}",
                    component.path,
                    list_statuses(&within)
                ));
            }
        }
    }
    (Some(body.status), problems)
}

/// `` `db/primary` is `DOWN`, `kafka` is `OUT_OF_SERVICE` ``
fn list_statuses(components: &[&crate::actuator::Component]) -> String {
    components
        .iter()
        .map(|c| format!("`{}` is `{}`", c.path, c.status))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What `/info` gave against the expected release: the version found, when
/// any, and the problems.
pub(crate) fn assess_info(
    answer: Result<&Answer, &Failed>,
    expected: &Version,
    token_sent: bool,
) -> (Option<String>, Vec<String>) {
    const WHERE: &str = "`/info`";
    let answer = match answer {
        Err(failed) => return (None, vec![format!("{WHERE}: {failed}")]),
        Ok(answer) => answer,
    };
    if !answer.status.is_success() {
        return (None, vec![http_problem(WHERE, answer, token_sent, "info")]);
    }
    let json: Value = match serde_json::from_slice(&answer.body) {
        Ok(json) => json,
        Err(error) => {
            return (None, vec![format!("{WHERE}: body is not JSON ({error})")]);
        }
    };
    let Some(found) = info_version(&json) else {
        let fields: Vec<String> = VERSION_FIELDS.iter().map(|f| format!("`{f}`")).collect();
        return (
            None,
            vec![format!(
                "{WHERE} reports no version (none of {}); generate build info with the `build-info` goal of the Spring Boot build plugin",
                fields.join(", ")
            )],
        );
    };
    let mut problems = Vec::new();
    if !same_release(&found.version, expected) {
        problems.push(format!(
            "runs version `{}` (`{}` in `/info`), expected `{expected}`; is green still on an old image?",
            found.version, found.field
        ));
    }
    (Some(found.version), problems)
}

/// Whether a reported version is the expected release: equal as semver
/// (build metadata ignored, a leading `v` allowed), or as text.
fn same_release(found: &str, expected: &Version) -> bool {
    let trimmed = found.strip_prefix('v').unwrap_or(found);
    match Version::parse(trimmed) {
        Ok(version) => version.cmp_precedence(expected).is_eq(),
        Err(_) => found == expected.to_string(),
    }
}

/// An HTTP status that is not an Actuator answer.
fn http_problem(place: &str, answer: &Answer, token_sent: bool, endpoint: &str) -> String {
    let status = answer.status;
    let advice = match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN if token_sent => {
            "; the bearer token was refused".to_owned()
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            "; the endpoint needs a bearer token: name its variable in `defaults.health.token_env`"
                .to_owned()
        }
        StatusCode::NOT_FOUND => format!(
            "; check the `deploy.health` URL and that the `{endpoint}` endpoint is exposed (`management.endpoints.web.exposure.include`)"
        ),
        _ if status.is_server_error() && answer.attempts > 1 => {
            format!(" ({})", attempts(answer.attempts))
        }
        _ => String::new(),
    };
    format!("{place}: HTTP {status}{advice}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: Value) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).expect("status"),
            body: serde_json::to_vec(&body).expect("json"),
            attempts: 1,
        }
    }

    fn health(status: u16, body: Value, require: &[&str]) -> (Option<String>, Vec<String>) {
        let require: Vec<String> = require.iter().map(|r| (*r).to_owned()).collect();
        assess_health(Ok(&answer(status, body)), &require, false)
    }

    #[test]
    fn up_with_required_components_up() {
        let body = json!({"status": "UP", "components": {"db": {"status": "UP"}, "ping": {"status": "UP"}}});
        assert_eq!(health(200, body, &["db"]), (Some("UP".to_owned()), vec![]));
    }

    #[test]
    fn down_with_503_names_the_failing_components() {
        let body = json!({"status": "DOWN", "components": {
            "db": {"status": "DOWN", "components": {
                "primary": {"status": "UP"},
                "replica": {"status": "DOWN", "details": {"error": "timeout"}}}},
            "ping": {"status": "UP"}}});
        let (status, problems) = health(503, body, &["db", "kafka"]);
        assert_eq!(status.as_deref(), Some("DOWN"));
        assert_eq!(
            problems,
            [
                "status `DOWN` (HTTP 503 Service Unavailable): `db/replica` is `DOWN`",
                "required component `db` is `DOWN`: `db/replica` is `DOWN`",
                "required component `kafka` is missing (found `db`, `ping`)",
            ]
        );
    }

    #[test]
    fn required_nested_component_by_name_or_path() {
        let body = json!({"status": "UP", "components": {"db": {"status": "UP", "components": {
            "primary": {"status": "UP"}, "replica": {"status": "OUT_OF_SERVICE"}}}}});
        assert_eq!(
            health(200, body.clone(), &["db/primary", "primary"]).1,
            Vec::<String>::new()
        );
        assert_eq!(
            health(200, body, &["replica", "db"]).1,
            [
                "required component `db/replica` is `OUT_OF_SERVICE`",
                "required component `db` is `UP` but `db/replica` is `OUT_OF_SERVICE`",
            ]
        );
    }

    #[test]
    fn hidden_components_say_how_to_show_them() {
        let problems = health(200, json!({"status": "UP"}), &["db"]).1;
        assert_eq!(
            problems,
            [
                "required component `db` is missing (`/health` shows no components; see `management.endpoint.health.show-components`)"
            ]
        );
    }

    #[test]
    fn not_json_and_not_actuator() {
        let text = Answer {
            status: StatusCode::OK,
            body: b"<html>hello</html>".to_vec(),
            attempts: 1,
        };
        let (status, problems) = assess_health(Ok(&text), &[], false);
        assert_eq!(status, None);
        assert!(
            problems[0].starts_with("`/health`: body is not JSON ("),
            "{problems:?}"
        );
        let alb = Answer {
            status: StatusCode::SERVICE_UNAVAILABLE,
            ..text
        };
        assert_eq!(
            assess_health(Ok(&alb), &[], false).1,
            [
                "`/health`: HTTP 503 Service Unavailable and the body is not Actuator JSON (a load balancer without healthy targets?)"
            ]
        );
        assert_eq!(
            health(200, json!({"healthy": true}), &[]).1,
            ["`/health`: JSON without a `status` string; is the URL an Actuator endpoint?"]
        );
    }

    #[test]
    fn http_statuses_with_advice() {
        let unauthorized = answer(401, json!({}));
        assert_eq!(
            assess_health(Ok(&unauthorized), &[], false).1,
            [
                "`/health`: HTTP 401 Unauthorized; the endpoint needs a bearer token: name its variable in `defaults.health.token_env`"
            ]
        );
        assert_eq!(
            assess_health(Ok(&unauthorized), &[], true).1,
            ["`/health`: HTTP 401 Unauthorized; the bearer token was refused"]
        );
        let error = Answer {
            attempts: 3,
            ..answer(500, json!({}))
        };
        assert_eq!(
            assess_health(Ok(&error), &[], false).1,
            ["`/health`: HTTP 500 Internal Server Error (3 attempts)"]
        );
    }

    #[test]
    fn versions() {
        let expected = Version::new(2, 0, 0);
        let info = |body: Value| assess_info(Ok(&answer(200, body)), &expected, false);
        assert_eq!(
            info(json!({"build": {"version": "2.0.0"}})),
            (Some("2.0.0".to_owned()), vec![])
        );
        assert_eq!(
            info(json!({"build": {"version": "v2.0.0+build.7"}})).1,
            Vec::<String>::new()
        );
        assert_eq!(
            info(json!({"build": {"version": "1.9.0"}})),
            (
                Some("1.9.0".to_owned()),
                vec!["runs version `1.9.0` (`build.version` in `/info`), expected `2.0.0`; is green still on an old image?".to_owned()]
            )
        );
        assert_eq!(
            info(json!({"app": {"version": "2.0.0-SNAPSHOT"}})).1,
            [
                "runs version `2.0.0-SNAPSHOT` (`app.version` in `/info`), expected `2.0.0`; is green still on an old image?"
            ]
        );
        assert_eq!(
            info(json!({})),
            (
                None,
                vec!["`/info` reports no version (none of `build.version`, `git.build.version`, `app.version`); generate build info with the `build-info` goal of the Spring Boot build plugin".to_owned()]
            )
        );
        let missing = answer(404, json!({}));
        assert_eq!(
            assess_info(Ok(&missing), &expected, false).1,
            [
                "`/info`: HTTP 404 Not Found; check the `deploy.health` URL and that the `info` endpoint is exposed (`management.endpoints.web.exposure.include`)"
            ]
        );
    }
}
