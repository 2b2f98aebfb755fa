//! `alarms` and `checks` of a `deploy` block or of `defaults.deploy`: the
//! CloudWatch alarms watched during a switch and the integration checks run
//! against green.

use super::deploy::DurationBounds;
use super::mapping::keys;
use super::{Fields, Reader};
use crate::diagnostic::{Code, Diagnostic};
use crate::matrix::Located;
use crate::matrix::deploy::{Check, DEFAULT_CHECK_TIMEOUT, MAX_CHECK_TIMEOUT};
use crate::yaml::{Node, Value};

const CHECK_TIMEOUT_BOUNDS: DurationBounds = DurationBounds {
    zero: false,
    max: MAX_CHECK_TIMEOUT,
    text: "more than `0s` and at most `1h`",
    hint: "give the check a timeout from a few seconds to `1h`, e.g. `5m`",
};

/// The longest CloudWatch alarm name (AWS's own limit).
const MAX_ALARM_NAME: usize = 255;

impl Reader<'_> {
    /// `alarms` and `checks` of a `deploy` block or of `defaults.deploy`.
    pub(super) fn gates(
        &mut self,
        fields: &Fields,
        what: &str,
    ) -> (Vec<Located<String>>, Vec<Check>) {
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
}
