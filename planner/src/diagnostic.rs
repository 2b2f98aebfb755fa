//! Problems found in a matrix, each with a stable code and a position.

use std::fmt;

use serde::Serialize;

use crate::source::SourceFile;
use crate::yaml::Span;

/// How bad a problem is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The matrix cannot be used.
    Error,
    /// Suspicious but usable.
    Warning,
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $text:literal, )*) => {
        /// The kind of a problem. Each has a stable kebab-case name that
        /// scripts and documentation may rely on.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The stable kebab-case name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Code::$variant => $text, )*
                }
            }
        }
    };
}

codes! {
    /// The file could not be read as YAML at all.
    YamlSyntax = "yaml-syntax",
    /// The file is not valid UTF-8.
    InvalidUtf8 = "invalid-utf8",
    /// The file is empty or holds only comments.
    EmptyMatrix = "empty-matrix",
    /// The file exceeds the size limit.
    InputTooLarge = "input-too-large",
    /// The document exceeds a structural budget (nesting, nodes, aliases).
    InputTooComplex = "input-too-complex",
    /// A mapping has the same key twice.
    DuplicateKey = "duplicate-key",
    /// A key the format does not define.
    UnknownKey = "unknown-key",
    /// A required field is absent.
    MissingField = "missing-field",
    /// A value has the wrong shape (a list where a mapping belongs, ...).
    WrongType = "wrong-type",
    /// A plain number where a version, requirement or name string belongs.
    UnquotedNumber = "unquoted-number",
    /// `version` is not 1.
    UnsupportedVersion = "unsupported-version",
    /// A string that is not a semantic version.
    InvalidVersion = "invalid-version",
    /// A string that is not a semver requirement.
    InvalidRequirement = "invalid-requirement",
    /// A service name outside `[a-z0-9-]`.
    InvalidServiceName = "invalid-service-name",
    /// An API name that is empty or has unexpected characters.
    InvalidApiName = "invalid-api-name",
    /// A duration like `60s` that cannot be read.
    InvalidDuration = "invalid-duration",
    /// A field value outside its allowed set or range.
    InvalidValue = "invalid-value",
    /// `current` or `target` names a release that is not under `releases`.
    UnknownRelease = "unknown-release",
    /// `target` is older than `current` (a downgrade).
    TargetOlderThanCurrent = "target-older-than-current",
    /// A consumed name that no service or API provides.
    UnknownDependency = "unknown-dependency",
    /// The same API is provided by two services.
    DuplicateApi = "duplicate-api",
    /// An API has the same name as a service.
    ApiNamedLikeService = "api-named-like-service",
    /// A service consumes itself or one of its own APIs.
    SelfConsumption = "self-consumption",
    /// With every service on `current`, a consumer meets an incompatible provider.
    IncompatibleCurrentState = "incompatible-current-state",
    /// With every changing service on `target`, a consumer meets an incompatible provider.
    IncompatibleTargetState = "incompatible-target-state",
    /// An override from the command line names an unknown service or release.
    InvalidOverride = "invalid-override",
    /// A duration outside the range its field accepts (`bake` over 24 hours, ...).
    DurationOutOfRange = "duration-out-of-range",
    /// A `deploy` ARN of the wrong kind or shape (a listener ARN in `rule`, ...).
    InvalidArn = "invalid-arn",
    /// `target_groups` names the same target group twice.
    DuplicateTargetGroup = "duplicate-target-group",
    /// `ecs.services` names the same ECS service twice.
    DuplicateEcsService = "duplicate-ecs-service",
    /// `steps` where the strategy is `all-at-once`, so they would never be used.
    StepsWithoutStrategy = "steps-without-strategy",
    /// A release `image` of a service whose `deploy` has no `ecs` to run it.
    ImageWithoutEcs = "image-without-ecs",
    /// A release `ami` of a service whose `deploy` has no `asg` to launch it.
    AmiWithoutAsg = "ami-without-asg",
    /// Two `deploy` fields that exclude each other (`ecs` and `asg`,
    /// `target_group` and `target_groups`, ...).
    ConflictingFields = "conflicting-fields",
    /// Two services name the same production route, target group, ECS
    /// service or Auto Scaling group.
    SharedDeployResource = "shared-deploy-resource",
    /// `asg.groups` names the same Auto Scaling group twice.
    DuplicateAsgGroup = "duplicate-asg-group",
    /// A strategy the service's shape cannot carry out (`canary` or `linear`
    /// where groups attach to one target group).
    UnsupportedStrategy = "unsupported-strategy",
    /// An Actuator URL that is not `http://` or `https://` with a host.
    InvalidUrl = "invalid-url",
    /// A user name or password in an Actuator URL.
    CredentialsInUrl = "credentials-in-url",
    /// The bearer token would travel over plain `http://` to a host that is not loopback.
    TokenOverHttp = "token-over-http",
    /// A CloudWatch alarm name that is empty, too long, has a control
    /// character or is listed twice.
    InvalidAlarmName = "invalid-alarm-name",
    /// An integration check with an empty `name` or `run`.
    InvalidCheck = "invalid-check",
    /// Two integration checks of one service with the same name.
    DuplicateCheck = "duplicate-check",
    /// A changing service lacks deploy facts `execute` needs (a route, the target groups).
    NotExecutable = "not-executable",
    /// A requirement that no declared release of its provider satisfies.
    UnsatisfiableRequirement = "unsatisfiable-requirement",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Code::ALL
            .iter()
            .copied()
            .find(|code| code.as_str() == text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown diagnostic code `{text}`")))
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A place in the source and what to say about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// A short note shown under the snippet.
    pub message: String,
}

/// One problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// What kind of problem.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// One sentence naming the services, releases and APIs involved.
    pub message: String,
    /// The value at fault.
    pub primary: Label,
    /// Other places that explain the problem (the other side of a broken pair).
    pub secondary: Vec<Label>,
    /// How to fix it, when there is an obvious fix.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            primary: Label {
                span,
                message: String::new(),
            },
            secondary: Vec::new(),
            hint: None,
        }
    }

    /// A warning at `span`.
    pub fn warning(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    /// Sets the note under the primary position.
    pub fn with_label(mut self, message: impl Into<String>) -> Self {
        self.primary.message = message.into();
        self
    }

    /// Adds another position that explains the problem.
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Adds the fix.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The flat, machine-readable form used by `--format json`.
    pub fn to_record(&self, file: &SourceFile) -> DiagnosticRecord {
        DiagnosticRecord {
            code: self.code,
            severity: self.severity,
            message: match &self.hint {
                Some(hint) => format!("{} (hint: {hint})", self.message),
                None => self.message.clone(),
            },
            file: file.path().to_owned(),
            line: self.primary.span.line.max(1),
            column: self.primary.span.column.max(1),
        }
    }
}

/// A diagnostic flattened to the JSON contract:
/// `{"code", "severity", "message", "file", "line", "column"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnosticRecord {
    /// Stable kebab-case code.
    pub code: Code,
    /// `error` or `warning`.
    pub severity: Severity,
    /// The message, with the hint appended when there is one.
    pub message: String,
    /// The file as given on the command line.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// Sorts diagnostics by position, then code, so output is stable.
pub fn sort_diagnostics(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (
            a.primary.span.line,
            a.primary.span.column,
            a.code,
            &a.message,
        )
            .cmp(&(
                b.primary.span.line,
                b.primary.span.column,
                b.code,
                &b.message,
            ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{s} is not kebab-case"
            );
        }
    }
}
