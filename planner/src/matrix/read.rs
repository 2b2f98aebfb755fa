//! Turns the YAML node tree into the matrix model, reporting every structural
//! problem (unknown keys, wrong types, invalid versions, ...) instead of
//! stopping at the first.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::fast::HashMap;

/// Describes the value being read, for messages; only called when there is a problem.
type What<'a> = &'a dyn Fn() -> String;

use semver::{Version, VersionReq};

use super::deploy::{
    Check, DEFAULT_CHECK_TIMEOUT, Defaults, Deploy, EcsServices, HealthDefaults, MAX_BAKE,
    MAX_CHECK_TIMEOUT, MAX_HEALTH_TIMEOUT, Strategy, parse_duration,
};
use super::{Consumed, Located, Matrix, Provided, Release, Service};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::SourceFile;
use crate::yaml::{Key, Node, Scalar, Span, Value};

/// The range a duration field accepts, and how to say it.
struct DurationBounds {
    /// Whether zero is allowed.
    zero: bool,
    /// The longest accepted.
    max: Duration,
    /// `at most `24h``, for the message.
    text: &'static str,
    /// The fix.
    hint: &'static str,
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

const CHECK_TIMEOUT_BOUNDS: DurationBounds = DurationBounds {
    zero: false,
    max: MAX_CHECK_TIMEOUT,
    text: "more than `0s` and at most `1h`",
    hint: "give the check a timeout from a few seconds to `1h`, e.g. `5m`",
};

/// The longest CloudWatch alarm name (AWS's own limit).
const MAX_ALARM_NAME: usize = 255;

const TIMEOUT_BOUNDS: DurationBounds = DurationBounds {
    zero: false,
    max: MAX_HEALTH_TIMEOUT,
    text: "more than `0s` and at most `5m`",
    hint: "a request timeout of a few seconds is usual, e.g. `2s`",
};

/// The keys each mapping of the format accepts.
pub(crate) mod keys {
    pub(crate) const TOP: &[&str] = &["version", "services", "defaults"];
    pub(crate) const SERVICE: &[&str] = &["current", "target", "releases", "deploy"];
    pub(crate) const RELEASE: &[&str] = &["provides", "consumes", "image"];
    pub(crate) const DEPLOY: &[&str] = &[
        "health",
        "live_health",
        "require",
        "listener",
        "rule",
        "target_groups",
        "test_listener",
        "ecs",
        "strategy",
        "steps",
        "bake",
        "alarms",
        "checks",
    ];
    pub(crate) const ECS: &[&str] = &["cluster", "services", "container"];
    pub(crate) const DEFAULTS: &[&str] = &["health", "deploy"];
    pub(crate) const HEALTH_DEFAULTS: &[&str] = &["timeout", "retries", "require", "token_env"];
    pub(crate) const DEPLOY_DEFAULTS: &[&str] = &["strategy", "steps", "bake", "alarms", "checks"];
    pub(crate) const CHECK: &[&str] = &["name", "run", "timeout"];
}

/// Reads the whole document. Services whose required fields could not be
/// read are left out of the model (their problems are reported).
pub(crate) fn read_matrix(source: &SourceFile, root: &Node) -> (Option<Matrix>, Vec<Diagnostic>) {
    let mut reader = Reader {
        source,
        diagnostics: Vec::new(),
    };
    let matrix = reader.matrix(root);
    (matrix, reader.diagnostics)
}

struct Reader<'s> {
    source: &'s SourceFile,
    diagnostics: Vec<Diagnostic>,
}

/// The known keys of one mapping, first occurrence of each.
struct Fields<'n> {
    entries: HashMap<&'static str, (&'n Key, &'n Node)>,
    span: Span,
}

impl<'n> Fields<'n> {
    fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries.get(name).map(|(_, node)| *node)
    }
}

impl Reader<'_> {
    fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn matrix(&mut self, root: &Node) -> Option<Matrix> {
        let fields = self.fields(root, "the matrix", keys::TOP)?;
        match fields.get("version") {
            None => self.missing(
                &fields,
                "version",
                "the matrix",
                "add `version: 1` at the top",
            ),
            Some(node) => self.format_version(node),
        }
        let defaults = fields
            .get("defaults")
            .map(|node| self.defaults(node))
            .unwrap_or_default();
        let mut services = BTreeMap::new();
        match fields.get("services") {
            None => self.missing(
                &fields,
                "services",
                "the matrix",
                "add a `services:` mapping",
            ),
            Some(node) => {
                for (key, node) in self.entries(node, "`services`") {
                    if let Some(service) = self.service(key, node) {
                        services.insert(service.name.clone(), service);
                    }
                }
            }
        }
        Some(Matrix {
            source: self.source.clone(),
            services,
            defaults,
        })
    }

    fn format_version(&mut self, node: &Node) {
        match &node.value {
            Value::Scalar(Scalar::Number(text)) if text == "1" => {}
            Value::Scalar(Scalar::Number(_)) | Value::Scalar(Scalar::Str(_)) => {
                let found = self.raw(node);
                self.error(
                    Diagnostic::error(
                        Code::UnsupportedVersion,
                        node.span,
                        format!("matrix format version `{found}` is not supported; expected `1`"),
                    )
                    .with_label("unsupported version")
                    .with_hint("write `version: 1`"),
                );
            }
            other => {
                let kind = other.kind();
                self.error(
                    Diagnostic::error(
                        Code::WrongType,
                        node.span,
                        format!("`version` must be the number 1, found {kind}"),
                    )
                    .with_hint("write `version: 1`"),
                );
            }
        }
    }

    fn service(&mut self, key: &Key, node: &Node) -> Option<Service> {
        let name = self.key_text(key, "a service name")?;
        if !is_service_name(&name) {
            self.error(
                Diagnostic::error(
                    Code::InvalidServiceName,
                    key.span,
                    format!(
                        "service name `{name}` may only contain lowercase letters, digits and `-`"
                    ),
                )
                .with_label("invalid service name")
                .with_hint(format!("rename it to `{}`", suggest_service_name(&name))),
            );
        }
        let what = format!("service `{name}`");
        let fields = self.fields(node, &what, keys::SERVICE)?;
        let mut releases = BTreeMap::new();
        match fields.get("releases") {
            None => self.missing(
                &fields,
                "releases",
                &what,
                "list the releases under `releases:`",
            ),
            Some(node) => {
                for (key, node) in self.entries(node, &format!("`releases` of {what}")) {
                    if let Some(release) = self.release(&name, key, node) {
                        releases.insert(release.version.clone(), release);
                    }
                }
            }
        }
        let current = match fields.get("current") {
            None => {
                self.missing(
                    &fields,
                    "current",
                    &what,
                    "add `current:` with the release serving now",
                );
                None
            }
            Some(node) => self.version(node, &|| format!("`current` of {what}")),
        };
        let target = fields
            .get("target")
            .filter(|node| !matches!(node.value, Value::Scalar(Scalar::Null)))
            .and_then(|node| self.version(node, &|| format!("`target` of {what}")));
        let deploy = fields
            .get("deploy")
            .map(|node| self.deploy(node, &what))
            .unwrap_or_default();
        Some(Service {
            name,
            span: key.span,
            current: current?,
            target,
            releases,
            deploy,
        })
    }

    fn release(&mut self, service: &str, key: &Key, node: &Node) -> Option<Release> {
        let text = self.key_text(key, "a release version")?;
        let version = match Version::parse(&text) {
            Ok(version) => version,
            Err(error) => {
                let diagnostic =
                    invalid_version(key.span, &text, &format!("release of `{service}`"), &error);
                self.error(diagnostic);
                return None;
            }
        };
        let what = format!("`{service}` {version}");
        let mut release = Release {
            version,
            span: key.span,
            image: None,
            provides: BTreeMap::new(),
            consumes: BTreeMap::new(),
        };
        if matches!(node.value, Value::Scalar(Scalar::Null)) {
            return Some(release);
        }
        let fields = self.fields(node, &format!("release {what}"), keys::RELEASE)?;
        release.image = fields
            .get("image")
            .and_then(|n| self.string(n, &format!("`image` of {what}")));
        if let Some(node) = fields.get("provides") {
            for (key, node) in self.entries(node, &format!("`provides` of {what}")) {
                let Some(api) = self.api_name(key) else {
                    continue;
                };
                if let Some(versions) =
                    self.versions(node, &|| format!("`{api}` provided by {what}"))
                {
                    release.provides.insert(
                        api,
                        Provided {
                            versions,
                            span: node.span,
                        },
                    );
                }
            }
        }
        if let Some(node) = fields.get("consumes") {
            for (key, node) in self.entries(node, &format!("`consumes` of {what}")) {
                let Some(name) = self.api_name(key) else {
                    continue;
                };
                if let Some(alternatives) =
                    self.requirements(node, &|| format!("`{name}` consumed by {what}"))
                {
                    release.consumes.insert(
                        name,
                        Consumed {
                            alternatives,
                            span: node.span,
                        },
                    );
                }
            }
        }
        Some(release)
    }

    fn deploy(&mut self, node: &Node, service: &str) -> Deploy {
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
        let ecs = fields.get("ecs").and_then(|n| self.ecs(n, &what));
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
            test_listener,
            ecs,
            strategy,
            steps,
            bake,
        }
    }

    fn ecs(&mut self, node: &Node, within: &str) -> Option<EcsServices> {
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

    fn traffic(
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

    /// `alarms` and `checks` of a `deploy` block or of `defaults.deploy`.
    fn gates(&mut self, fields: &Fields, what: &str) -> (Vec<Located<String>>, Vec<Check>) {
        let alarms = fields
            .get("alarms")
            .and_then(|n| self.alarms(n, what))
            .unwrap_or_default();
        let checks = fields
            .get("checks")
            .and_then(|n| self.checks(n, what))
            .unwrap_or_default();
        (alarms, checks)
    }

    /// CloudWatch alarm names: strings of 1 to 255 characters without
    /// control characters, each once.
    fn alarms(&mut self, node: &Node, within: &str) -> Option<Vec<Located<String>>> {
        let what = format!("`alarms` in {within}");
        let names = self.located_strings(node, &what)?;
        let mut seen: Vec<&str> = Vec::with_capacity(names.len());
        let mut valid = Vec::with_capacity(names.len());
        for name in &names {
            let text = name.value.as_str();
            let problem = if text.trim().is_empty() {
                Some("is empty".to_owned())
            } else if text.chars().count() > MAX_ALARM_NAME {
                Some(format!(
                    "is {} characters long; CloudWatch allows {MAX_ALARM_NAME}",
                    text.chars().count()
                ))
            } else if text.chars().any(char::is_control) {
                Some("has a control character".to_owned())
            } else if seen.contains(&text) {
                Some("is listed twice".to_owned())
            } else {
                None
            };
            match problem {
                Some(problem) => self.error(
                    Diagnostic::error(
                        Code::InvalidAlarmName,
                        name.span,
                        format!("the alarm name `{}` in {what} {problem}", name.value),
                    )
                    .with_label("not a usable alarm name")
                    .with_hint("give the CloudWatch alarm's exact name, once"),
                ),
                None => {
                    seen.push(text);
                    valid.push(name.clone());
                }
            }
        }
        (valid.len() == names.len()).then_some(valid)
    }

    /// Integration checks: `name`, `run` and an optional `timeout`, names unique.
    fn checks(&mut self, node: &Node, within: &str) -> Option<Vec<Check>> {
        let what = format!("`checks` in {within}");
        let Value::Seq(items) = &node.value else {
            self.wrong_type(node, &what, "a list of checks (`name`, `run`, `timeout`)");
            return None;
        };
        let mut checks: Vec<Check> = Vec::with_capacity(items.len());
        let mut all_read = true;
        for item in items {
            match self.check(item, &what) {
                Some(check) => {
                    if let Some(first) = checks.iter().find(|c| c.name.value == check.name.value) {
                        self.error(
                            Diagnostic::error(
                                Code::DuplicateCheck,
                                check.name.span,
                                format!("two checks are named `{}` in {what}", check.name.value),
                            )
                            .with_label("second check of this name")
                            .with_secondary(first.name.span, "first defined here")
                            .with_hint("give each check its own name; the journal and the run report tell them apart by it"),
                        );
                    } else {
                        checks.push(check);
                    }
                }
                None => all_read = false,
            }
        }
        all_read.then_some(checks)
    }

    fn check(&mut self, node: &Node, within: &str) -> Option<Check> {
        let what = format!("a check in {within}");
        let fields = self.fields(node, &what, keys::CHECK)?;
        let text = |reader: &mut Self, key: &str, hint: &str| match fields.get(key) {
            Some(n) => {
                let value = reader.string(n, &format!("`{key}` of {what}"))?;
                if value.value.trim().is_empty() {
                    reader.error(
                        Diagnostic::error(
                            Code::InvalidCheck,
                            n.span,
                            format!("`{key}` of {what} is empty"),
                        )
                        .with_label(format!("empty `{key}`"))
                        .with_hint(hint.to_owned()),
                    );
                    return None;
                }
                Some(value)
            }
            None => {
                reader.missing(&fields, key, &what, hint);
                None
            }
        };
        let name = text(self, "name", "name the check, e.g. `name: smoke`");
        let run = text(
            self,
            "run",
            "give the command to run, e.g. `run: ./scripts/smoke.sh`",
        );
        let timeout = match fields.get("timeout") {
            Some(n) => {
                let what = format!("`timeout` of {what}");
                let timeout = self.duration(n, &what)?;
                Some(self.within(n, timeout, &what, &CHECK_TIMEOUT_BOUNDS)?)
            }
            None => None,
        };
        Some(Check {
            name: name?,
            run: run?,
            timeout: timeout.unwrap_or(DEFAULT_CHECK_TIMEOUT),
        })
    }

    fn defaults(&mut self, node: &Node) -> Defaults {
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

    fn health_defaults(&mut self, node: &Node) -> Option<HealthDefaults> {
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

    // ----- generic readers -------------------------------------------------

    /// A mapping with a fixed set of keys.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        allowed: &[&'static str],
    ) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            self.wrong_type(node, what, "a mapping");
            return None;
        };
        let mut fields = Fields {
            entries: HashMap::with_capacity_and_hasher(entries.len(), Default::default()),
            span: node.span,
        };
        let mut first_seen: HashMap<Cow<str>, Span> = HashMap::default();
        for (key, value) in entries {
            let text = key.text_cow();
            if let Some(first) = first_seen.get(&text) {
                self.duplicate(key, *first, what);
                continue;
            }
            first_seen.insert(text, key.span);
            match allowed.iter().find(|name| key.is(name)) {
                Some(name) => {
                    fields.entries.insert(name, (key, value));
                }
                None => self.unknown_key(key, what, allowed),
            }
        }
        Some(fields)
    }

    /// A mapping with user-chosen keys (services, releases, APIs), duplicates reported.
    fn entries<'n>(&mut self, node: &'n Node, what: &str) -> Vec<(&'n Key, &'n Node)> {
        let entries = match &node.value {
            Value::Map(entries) => entries,
            Value::Scalar(Scalar::Null) => return Vec::new(),
            _ => {
                self.wrong_type(node, what, "a mapping");
                return Vec::new();
            }
        };
        let mut first_seen: HashMap<Cow<str>, Span> =
            HashMap::with_capacity_and_hasher(entries.len(), Default::default());
        let mut unique = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let text = key.text_cow();
            if let Some(first) = first_seen.get(&text) {
                self.duplicate(key, *first, what);
                continue;
            }
            first_seen.insert(text, key.span);
            unique.push((key, value));
        }
        unique
    }

    fn key_text(&mut self, key: &Key, what: &str) -> Option<String> {
        match &key.scalar {
            Scalar::Str(text) => Some(text.clone()),
            Scalar::Number(_) => {
                let raw = self.raw_span(key.span).unwrap_or_default();
                self.error(
                    Diagnostic::error(
                        Code::UnquotedNumber,
                        key.span,
                        format!("`{raw}` is read by YAML as a number, but {what} must be a string"),
                    )
                    .with_label("a number, not a string")
                    .with_hint(quote_hint(&raw, what.contains("version"))),
                );
                None
            }
            other => {
                let kind = Value::Scalar(other.clone()).kind();
                self.error(Diagnostic::error(
                    Code::WrongType,
                    key.span,
                    format!("expected {what}, found {kind}"),
                ));
                None
            }
        }
    }

    fn api_name(&mut self, key: &Key) -> Option<String> {
        let name = self.key_text(key, "an API name")?;
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            self.error(
                Diagnostic::error(
                    Code::InvalidApiName,
                    key.span,
                    format!("`{name}` is not a valid API or service name"),
                )
                .with_hint(
                    "use letters, digits, `-`, `_` and `.`, starting with a letter or digit",
                ),
            );
            return None;
        }
        Some(name)
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<Located<String>> {
        match &node.value {
            Value::Scalar(Scalar::Str(text)) => Some(Located::new(text.clone(), node.span)),
            Value::Scalar(Scalar::Number(_)) => {
                let raw = self.raw(node);
                self.error(
                    Diagnostic::error(
                        Code::UnquotedNumber,
                        node.span,
                        format!("`{raw}` is read by YAML as a number, but {what} must be a string"),
                    )
                    .with_label("a number, not a string")
                    .with_hint(quote_hint(&raw, false)),
                );
                None
            }
            _ => {
                self.wrong_type(node, what, "a string");
                None
            }
        }
    }

    fn string_list(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
        let strings = self.located_strings(node, what)?;
        Some(strings.into_iter().map(|l| l.value).collect())
    }

    /// A list of strings, each with its position.
    fn located_strings(&mut self, node: &Node, what: &str) -> Option<Vec<Located<String>>> {
        let Value::Seq(items) = &node.value else {
            self.wrong_type(node, what, "a list of strings");
            return None;
        };
        let strings: Vec<_> = items
            .iter()
            .filter_map(|item| self.string(item, what))
            .collect();
        (strings.len() == items.len()).then_some(strings)
    }

    /// Two entries (that they differ is checked with the rest of `deploy`,
    /// in `deploy_checks`).
    fn exactly_two(&mut self, node: &Node, len: usize, field: &str, expected: &str) -> Option<()> {
        if len == 2 {
            return Some(());
        }
        self.error(
            Diagnostic::error(
                Code::InvalidValue,
                node.span,
                format!("{field} must name {expected}, found {len} entries"),
            )
            .with_hint("list exactly two different entries"),
        );
        None
    }

    fn version(&mut self, node: &Node, what: What) -> Option<Located<Version>> {
        let text = self.version_text(node, what)?;
        match Version::parse(text) {
            Ok(version) => Some(Located::new(version, node.span)),
            Err(error) => {
                let diagnostic = invalid_version(node.span, text, &what(), &error);
                self.error(diagnostic);
                None
            }
        }
    }

    /// A version, or a list of versions served at once.
    fn versions(&mut self, node: &Node, what: What) -> Option<Vec<Version>> {
        match &node.value {
            Value::Seq(items) if !items.is_empty() => {
                let versions: Vec<_> = items
                    .iter()
                    .filter_map(|item| self.version(item, what))
                    .collect();
                (versions.len() == items.len())
                    .then(|| versions.into_iter().map(|l| l.value).collect())
            }
            Value::Seq(_) => {
                self.wrong_type(node, &what(), "a version or a non-empty list of versions");
                None
            }
            _ => self.version(node, what).map(|l| vec![l.value]),
        }
    }

    fn requirement(&mut self, node: &Node, what: What) -> Option<VersionReq> {
        let text = self.version_text(node, what)?;
        match VersionReq::parse(text) {
            Ok(req) => Some(req),
            Err(error) => {
                self.error(
                    Diagnostic::error(
                        Code::InvalidRequirement,
                        node.span,
                        format!(
                            "`{text}` ({}) is not a valid semver requirement: {error}",
                            what()
                        ),
                    )
                    .with_label("invalid requirement")
                    .with_hint("use the semver crate's syntax, e.g. `^2`, `~1.4`, `>=2.0.0, <3`"),
                );
                None
            }
        }
    }

    /// A requirement, or a list of alternatives.
    fn requirements(&mut self, node: &Node, what: What) -> Option<Vec<VersionReq>> {
        match &node.value {
            Value::Seq(items) if !items.is_empty() => {
                let reqs: Vec<_> = items
                    .iter()
                    .filter_map(|item| self.requirement(item, what))
                    .collect();
                (reqs.len() == items.len()).then_some(reqs)
            }
            Value::Seq(_) => {
                self.wrong_type(
                    node,
                    &what(),
                    "a requirement or a non-empty list of alternatives",
                );
                None
            }
            _ => self.requirement(node, what).map(|req| vec![req]),
        }
    }

    /// The text of a scalar that must be a version or requirement string.
    fn version_text<'n>(&mut self, node: &'n Node, what: What) -> Option<&'n str> {
        match &node.value {
            Value::Scalar(Scalar::Str(text)) => Some(text),
            Value::Scalar(Scalar::Number(_)) => {
                let raw = self.raw(node);
                let what = what();
                self.error(
                    Diagnostic::error(
                        Code::UnquotedNumber,
                        node.span,
                        format!(
                            "`{raw}` ({what}) is read by YAML as a number, not a version string"
                        ),
                    )
                    .with_label("a number, not a string")
                    .with_hint(quote_hint(&raw, !what.contains("consumed"))),
                );
                None
            }
            _ => {
                self.wrong_type(node, &what(), "a version string");
                None
            }
        }
    }

    fn steps(&mut self, node: &Node, what: &str) -> Option<Located<Vec<u32>>> {
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

    fn count(&mut self, node: &Node, what: &str, min: u32, max: u32) -> Option<u32> {
        let number = match &node.value {
            Value::Scalar(Scalar::Number(text)) => text.parse::<u32>().ok(),
            _ => None,
        };
        match number {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                let raw = self.raw(node);
                self.error(
                    Diagnostic::error(
                        Code::InvalidValue,
                        node.span,
                        format!("{what} must be a whole number from {min} to {max}, found `{raw}`"),
                    )
                    .with_label("out of range"),
                );
                None
            }
        }
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<std::time::Duration> {
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
    fn within(
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

    // ----- reporting helpers ----------------------------------------------

    fn raw(&self, node: &Node) -> String {
        match &node.value {
            Value::Scalar(scalar) => self
                .raw_span(node.span)
                .unwrap_or_else(|| crate::yaml::scalar_text(scalar)),
            other => other.kind().to_owned(),
        }
    }

    /// The text exactly as written at `span`.
    fn raw_span(&self, span: Span) -> Option<String> {
        self.source
            .slice(span.offset, span.len)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    fn wrong_type(&mut self, node: &Node, what: &str, expected: &str) {
        let found = node.value.kind();
        self.error(
            Diagnostic::error(
                Code::WrongType,
                node.span,
                format!("{what} must be {expected}, found {found}"),
            )
            .with_label(format!("expected {expected}")),
        );
    }

    fn missing(&mut self, fields: &Fields, name: &str, what: &str, hint: &str) {
        self.error(
            Diagnostic::error(
                Code::MissingField,
                fields.span,
                format!("{what} has no `{name}`"),
            )
            .with_label(format!("`{name}` is required here"))
            .with_hint(hint.to_owned()),
        );
    }

    fn duplicate(&mut self, key: &Key, first: Span, what: &str) {
        let text = key.text();
        self.error(
            Diagnostic::error(
                Code::DuplicateKey,
                key.span,
                format!("`{text}` appears twice in {what}"),
            )
            .with_label("duplicate key")
            .with_secondary(first, "first defined here")
            .with_hint("remove one of them; YAML keys must be unique"),
        );
    }

    fn unknown_key(&mut self, key: &Key, what: &str, allowed: &[&str]) {
        let text = key.text();
        let hint = match closest(&text, allowed) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("expected one of {}", quoted_list(allowed)),
        };
        self.error(
            Diagnostic::error(
                Code::UnknownKey,
                key.span,
                format!("unknown key `{text}` in {what}"),
            )
            .with_label("unknown key")
            .with_hint(hint),
        );
    }
}

fn invalid_version(span: Span, text: &str, what: &str, error: &semver::Error) -> Diagnostic {
    let parts = text.split('.').count();
    let hint = if parts < 3 && text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        let padded = format!("{text}{}", ".0".repeat(3 - parts));
        format!("semantic versions have three parts: `{padded}`")
    } else {
        "write MAJOR.MINOR.PATCH, e.g. `2.0.0` or `2.0.0-rc.1`".to_owned()
    };
    Diagnostic::error(
        Code::InvalidVersion,
        span,
        format!("`{text}` ({what}) is not a valid semantic version: {error}"),
    )
    .with_label("invalid version")
    .with_hint(hint)
}

fn quote_hint(raw: &str, full_version: bool) -> String {
    let parts = raw.split('.').count();
    if full_version && parts < 3 {
        let padded = format!("{raw}{}", ".0".repeat(3 - parts));
        format!("quote it and give all three parts: `\"{padded}\"`")
    } else {
        format!("quote it: `\"{raw}\"`")
    }
}

fn is_service_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn suggest_service_name(name: &str) -> String {
    let lower: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = lower.trim_matches('-');
    if trimmed.is_empty() {
        "my-service".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The allowed name within edit distance 2, if any.
fn closest<'a>(text: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|name| (edit_distance(text, name), *name))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, name)| name)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current.push(
                (previous[j] + cost)
                    .min(previous[j + 1] + 1)
                    .min(current[j] + 1),
            );
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(closest("relases", keys::SERVICE), Some("releases"));
        assert_eq!(closest("zzz", keys::SERVICE), None);
        assert_eq!(suggest_service_name("Payments_API"), "payments-api");
        assert_eq!(
            quote_hint("1.10", true),
            "quote it and give all three parts: `\"1.10.0\"`"
        );
        assert_eq!(quote_hint("2", false), "quote it: `\"2\"`");
    }
}
