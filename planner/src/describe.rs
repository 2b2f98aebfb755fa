//! The one home of every sentence piece that more than one place prints:
//! plurals, cycle paths, constraints, offers and the verdict on a set of
//! green sides. The model types, the plan document and every renderer call
//! these, so a wording changes in one place.

use std::fmt::Display;

/// `""` for one, `"s"` otherwise: `format!("{n} wave{}", plural(n))`.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `` `a` → `b` → `a` ``: a cycle's path, names in backticks.
pub fn cycle_path<S: AsRef<str>>(path: &[S]) -> String {
    path.iter()
        .map(|name| format!("`{}`", name.as_ref()))
        .collect::<Vec<_>>()
        .join(" → ")
}

/// `` `payments` before `orders`: <reason> ``: one ordering constraint.
pub fn constraint(before: &str, after: &str, reason: &str) -> String {
    format!("`{before}` before `{after}`: {reason}")
}

/// What a provider serves of an API: `` {who} provides `{api}` 1.4.0, 2.0.0 ``,
/// or `` {who} does not provide `{api}` at all ``. With `name_api` false, the
/// API is left out when something is served (`it provides 1.4.0`).
pub fn offer<V: Display>(who: &str, api: &str, offered: &[V], name_api: bool) -> String {
    if offered.is_empty() {
        return format!("{who} does not provide `{api}` at all");
    }
    let versions = offered
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if name_api {
        format!("{who} provides `{api}` {versions}")
    } else {
        format!("{who} provides {versions}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces() {
        assert_eq!(plural(1), "");
        assert_eq!(plural(0), "s");
        assert_eq!(cycle_path(&["a", "b", "a"]), "`a` → `b` → `a`");
        assert_eq!(constraint("p", "c", "why"), "`p` before `c`: why");
        assert_eq!(
            offer("`p` 1.0.0", "api", &["1.0.0", "2.0.0"], true),
            "`p` 1.0.0 provides `api` 1.0.0, 2.0.0"
        );
        assert_eq!(offer("it", "api", &["1.0.0"], false), "it provides 1.0.0");
        assert_eq!(
            offer::<&str>("it", "api", &[], false),
            "it does not provide `api` at all"
        );
    }
}
