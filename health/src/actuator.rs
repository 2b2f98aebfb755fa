//! Reading Actuator answers, without any HTTP: the status and component tree
//! of `/health` and the running version in `/info`.
//!
//! Formats understood:
//! - Spring Boot 2.2+ and 3.x: `{"status", "components": {name: {"status",
//!   "components"?, "details"?}}, "groups"?}`;
//! - Spring Boot 2.0 and 2.1: components under `details` instead;
//! - Spring Boot 1.x: components at the top level beside `status`.

use serde_json::{Map, Value};

/// The only healthy status.
pub(crate) const UP: &str = "UP";

/// One component of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Component {
    /// `db`, or `db/primary` for a nested one.
    pub(crate) path: String,
    /// `UP`, `DOWN`, `OUT_OF_SERVICE`, `UNKNOWN` or a custom status.
    pub(crate) status: String,
}

impl Component {
    fn is_up(&self) -> bool {
        self.status == UP
    }

    /// Whether `self` is `other` or nested in it.
    fn is_within(&self, other: &str) -> bool {
        self.path == other
            || self
                .path
                .strip_prefix(other)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// What `/health` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HealthBody {
    /// The overall status.
    pub(crate) status: String,
    /// Every component at every depth, parents before their children,
    /// siblings by name.
    pub(crate) components: Vec<Component>,
}

/// Reads a `/health` body; `None` when it has no string `status`.
pub(crate) fn parse_health(json: &Value) -> Option<HealthBody> {
    let root = json.as_object()?;
    let status = root.get("status")?.as_str()?.to_owned();
    let mut components = Vec::new();
    let modern = root.get("components").and_then(Value::as_object);
    match modern {
        Some(children) => walk_modern(children, "", &mut components),
        None => walk_legacy(root, "", &mut components),
    }
    Some(HealthBody { status, components })
}

/// The status of a JSON value that is a component: an object with a string `status`.
fn component_status(value: &Value) -> Option<(&str, &Map<String, Value>)> {
    let object = value.as_object()?;
    Some((object.get("status")?.as_str()?, object))
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

/// 2.2+: children only under `components`.
fn walk_modern(children: &Map<String, Value>, prefix: &str, out: &mut Vec<Component>) {
    for (name, value) in children {
        let Some((status, object)) = component_status(value) else {
            continue;
        };
        let path = join(prefix, name);
        out.push(Component {
            path: path.clone(),
            status: status.to_owned(),
        });
        if let Some(nested) = object.get("components").and_then(Value::as_object) {
            walk_modern(nested, &path, out);
        }
    }
}

/// 1.x and 2.0/2.1: children beside `status`, or under `details`.
fn walk_legacy(node: &Map<String, Value>, prefix: &str, out: &mut Vec<Component>) {
    let details = node.get("details").and_then(Value::as_object);
    let beside = node
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "status" | "details"));
    let mut children: Vec<(&String, &Value)> =
        beside.chain(details.into_iter().flatten()).collect();
    children.sort_by(|a, b| a.0.cmp(b.0));
    for (name, value) in children {
        let Some((status, object)) = component_status(value) else {
            continue;
        };
        let path = join(prefix, name);
        out.push(Component {
            path: path.clone(),
            status: status.to_owned(),
        });
        walk_legacy(object, &path, out);
    }
}

impl HealthBody {
    /// Whether the overall status is `UP`.
    pub(crate) fn is_up(&self) -> bool {
        self.status == UP
    }

    /// The components that are not `UP` and have no nested component that is
    /// not `UP` either: where the trouble is.
    pub(crate) fn failing_leaves(&self) -> Vec<&Component> {
        let failing: Vec<&Component> = self.components.iter().filter(|c| !c.is_up()).collect();
        failing
            .iter()
            .filter(|c| {
                !failing
                    .iter()
                    .any(|d| d.path != c.path && d.is_within(&c.path))
            })
            .copied()
            .collect()
    }

    /// The components a requirement names: the one at that exact path, or
    /// else every one with that name at any depth.
    pub(crate) fn find(&self, requirement: &str) -> Vec<&Component> {
        let exact: Vec<&Component> = self
            .components
            .iter()
            .filter(|c| c.path == requirement)
            .collect();
        if !exact.is_empty() {
            return exact;
        }
        let suffix = format!("/{requirement}");
        self.components
            .iter()
            .filter(|c| c.path.ends_with(&suffix))
            .collect()
    }

    /// The failing leaves at or under `component`.
    pub(crate) fn failing_within(&self, component: &Component) -> Vec<&Component> {
        self.failing_leaves()
            .into_iter()
            .filter(|c| c.is_within(&component.path))
            .collect()
    }

    /// The top-level component names.
    pub(crate) fn top_level(&self) -> Vec<&str> {
        self.components
            .iter()
            .filter(|c| !c.path.contains('/'))
            .map(|c| c.path.as_str())
            .collect()
    }
}

/// The fields read for the running version, in order of preference.
pub(crate) const VERSION_FIELDS: &[&str] = &["build.version", "git.build.version", "app.version"];

/// A version found in `/info`, and the field it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FoundVersion {
    /// The version as written.
    pub(crate) version: String,
    /// One of [`VERSION_FIELDS`].
    pub(crate) field: &'static str,
}

/// The running version in an `/info` body: `build.version`, else
/// `git.build.version`, else `app.version`. Nested objects and flat dotted
/// keys (`"git.build.version": …`) are both read.
pub(crate) fn info_version(json: &Value) -> Option<FoundVersion> {
    VERSION_FIELDS.iter().find_map(|field| {
        let value = lookup(json, field)?;
        let version = match value {
            Value::String(s) if !s.trim().is_empty() => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        Some(FoundVersion { version, field })
    })
}

/// A dotted path in nested objects, where any part may also be a flat key
/// holding dots.
fn lookup<'v>(json: &'v Value, path: &str) -> Option<&'v Value> {
    let object = json.as_object()?;
    if let Some(value) = object.get(path) {
        return Some(value);
    }
    path.match_indices('.').find_map(|(at, _)| {
        let (head, rest) = (&path[..at], &path[at + 1..]);
        lookup(object.get(head)?, rest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(components: &[&Component]) -> Vec<String> {
        components
            .iter()
            .map(|c| format!("{}={}", c.path, c.status))
            .collect()
    }

    #[test]
    fn spring_boot_3_with_composites_details_and_groups() {
        let body = json!({
            "status": "DOWN",
            "components": {
                "db": {
                    "status": "DOWN",
                    "components": {
                        "primary": {"status": "UP", "details": {"database": "PostgreSQL", "validationQuery": "isValid()"}},
                        "replicas": {
                            "status": "DOWN",
                            "components": {
                                "replica-1": {"status": "UP", "details": {"database": "PostgreSQL"}},
                                "replica-2": {"status": "DOWN", "details": {"error": "org.postgresql.util.PSQLException: Connection refused"}}
                            }
                        }
                    }
                },
                "diskSpace": {"status": "UP", "details": {"total": 499_963_174_912_u64, "free": 91_300_000_000_u64, "threshold": 10_485_760, "exists": true}},
                "livenessState": {"status": "UP"},
                "ping": {"status": "UP"}
            },
            "groups": ["liveness", "readiness"]
        });
        let health = parse_health(&body).expect("health");
        assert_eq!(health.status, "DOWN");
        assert!(!health.is_up());
        let all: Vec<&str> = health.components.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            all,
            [
                "db",
                "db/primary",
                "db/replicas",
                "db/replicas/replica-1",
                "db/replicas/replica-2",
                "diskSpace",
                "livenessState",
                "ping"
            ]
        );
        assert_eq!(
            paths(&health.failing_leaves()),
            ["db/replicas/replica-2=DOWN"]
        );
        assert_eq!(
            paths(&health.find("replica-2")),
            ["db/replicas/replica-2=DOWN"]
        );
        assert_eq!(paths(&health.find("db/primary")), ["db/primary=UP"]);
        assert!(health.find("kafka").is_empty());
        assert_eq!(
            health.top_level(),
            ["db", "diskSpace", "livenessState", "ping"]
        );
        let db = &health.components[0];
        assert_eq!(
            paths(&health.failing_within(db)),
            ["db/replicas/replica-2=DOWN"]
        );
    }

    #[test]
    fn spring_boot_2_0_components_under_details() {
        let body = json!({
            "status": "OUT_OF_SERVICE",
            "details": {
                "db": {"status": "UP", "details": {"database": "MySQL", "hello": 1}},
                "kafka": {"status": "OUT_OF_SERVICE", "details": {"clusterId": "abc"}},
                "diskSpace": {"status": "UP", "details": {"total": 10, "free": 5, "threshold": 1}}
            }
        });
        let health = parse_health(&body).expect("health");
        let all: Vec<&str> = health.components.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(all, ["db", "diskSpace", "kafka"]);
        assert_eq!(paths(&health.failing_leaves()), ["kafka=OUT_OF_SERVICE"]);
    }

    #[test]
    fn spring_boot_1_components_beside_status() {
        let body = json!({
            "status": "DOWN",
            "diskSpace": {"status": "UP", "total": 10, "free": 5, "threshold": 1},
            "db": {
                "status": "DOWN",
                "primary": {"status": "UP", "database": "H2", "hello": 1},
                "secondary": {"status": "DOWN", "error": "Connection refused"}
            },
            "rabbit": {"status": "UNKNOWN", "version": "3.6.0"}
        });
        let health = parse_health(&body).expect("health");
        let all: Vec<&str> = health.components.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            all,
            ["db", "db/primary", "db/secondary", "diskSpace", "rabbit"]
        );
        assert_eq!(
            paths(&health.failing_leaves()),
            ["db/secondary=DOWN", "rabbit=UNKNOWN"]
        );
    }

    #[test]
    fn status_only_and_no_status() {
        let health = parse_health(&json!({"status": "UP"})).expect("health");
        assert!(health.is_up());
        assert!(health.components.is_empty());
        assert_eq!(parse_health(&json!({"components": {}})), None);
        assert_eq!(parse_health(&json!({"status": 1})), None);
        assert_eq!(parse_health(&json!(["UP"])), None);
    }

    #[test]
    fn custom_statuses_are_not_up() {
        let health = parse_health(&json!({"status": "DEGRADED"})).expect("health");
        assert!(!health.is_up());
        assert!(
            !parse_health(&json!({"status": "up"}))
                .expect("health")
                .is_up()
        );
    }

    #[test]
    fn version_from_build_then_git_then_app() {
        let found = |body: Value| info_version(&body).map(|f| (f.version, f.field));
        assert_eq!(
            found(json!({
                "build": {"artifact": "orders", "name": "orders", "version": "2.0.0", "group": "com.shop"},
                "git": {"branch": "main", "build": {"version": "1.9.0"}},
                "app": {"version": "1.0.0"}
            })),
            Some(("2.0.0".to_owned(), "build.version"))
        );
        assert_eq!(
            found(
                json!({"git": {"branch": "main", "commit": {"id": "abc1234"}, "build": {"version": "2.0.0"}}})
            ),
            Some(("2.0.0".to_owned(), "git.build.version"))
        );
        assert_eq!(
            found(json!({"git.build.version": "2.0.0"})),
            Some(("2.0.0".to_owned(), "git.build.version"))
        );
        assert_eq!(
            found(json!({"git": {"build.version": "2.0.0"}})),
            Some(("2.0.0".to_owned(), "git.build.version"))
        );
        assert_eq!(
            found(json!({"app": {"name": "orders", "version": "2.0.0"}})),
            Some(("2.0.0".to_owned(), "app.version"))
        );
        assert_eq!(
            found(json!({"build": {"version": ""}, "app": {"version": "3"}})),
            Some(("3".to_owned(), "app.version"))
        );
        assert_eq!(found(json!({})), None);
        assert_eq!(found(json!({"git": {"commit": {"id": "abc"}}})), None);
        assert_eq!(found(json!("2.0.0")), None);
    }
}
